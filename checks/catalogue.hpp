// The check catalogue: every check is a pure evaluation of gathered evidence
// into a result with a stable id, a verdict, the evidence in one line and
// the remedy. Which probes to run is planned from the lab, also without I/O.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checks/evidence.hpp"
#include "checks/ids.hpp"
#include "common/finding.hpp"
#include "common/matching.hpp"
#include "provision/lab.hpp"

namespace edgelab::checks {

// A check's result is a finding (common/finding.hpp): the one model every
// judge in edgelab shares (the static rules, the data disk, the audit).
using edgelab::to_string;  // "PASS", "FAIL", "SKIP", "WARN", "BLOCKED"
using edgelab::Verdict;
using CheckResult = edgelab::Finding;

// The test account the sign-in checks use. The password is only ever handed
// to libcurl and the NTLM computation, never to a report, log or argv.
struct SignInCredentials {
    std::string sipUri;   // alice@kloud.example
    std::string account;  // KLOUD\alice or a UPN
    std::string password;
};

// Where the deployment under test is. Without connectTo the system resolver
// is used, as a client on the internet would.
struct Target {
    std::vector<std::string> connectTo;  // curl syntax HOST:PORT:ADDR:PORT
    std::optional<std::filesystem::path> caFile;
    std::map<std::string, std::string> backendAddresses;  // Backend::name -> ADDR:PORT (lab mode)
    std::optional<SignInCredentials> user;                // none: the sign-in checks SKIP
    std::optional<double> longPollSeconds;  // --long-poll: hold the event channel this long
    // Lab mode: backends whose process the lab's supervisor found not
    // running, Backend::name -> what it found ("pid 4242 is not running; log
    // ..."). Each is its backend.up.<name> root cause.
    std::map<std::string, std::string> backendsDown;
    // Lab mode: the lab proxy's worker threads, each with its own backend
    // pools (0: unknown, as for any deployment); sizes the affinity check.
    int proxyWorkers = 0;
};

// The lab's first test user, as the sign-in checks type it (typedPassword
// when the lab sets one); nullopt for a lab without users.
std::optional<SignInCredentials> signInUserOf(const provision::Lab& lab,
                                              std::string_view sipUri = {});

// A sign-in, run as a client would (checks/signin.hpp).
// Each starts at a public name (lyncdiscover, or the meet simple URL) and
// follows only what the answers name, never further than `publicHosts` on 443.
struct SignInProbe {
    enum class Flow { WebTicket, Ucwa, NtlmAffinity, AnonMeeting };
    ProbeId id;
    Flow flow = Flow::WebTicket;
    std::string lyncdiscover;              // where discovery starts: lyncdiscover.DOMAIN
    std::string meet;                      // AnonMeeting: the meet simple URL's name
    std::vector<std::string> publicHosts;  // the published names a client may be sent to
    double longPollSeconds = 0;            // Ucwa: then one P-GET with timeout= this long (0: no)
};

struct HttpProbe {
    ProbeId id;
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string method = "GET";
};

struct HandshakeProbe {
    ProbeId id;
    std::string host;  // the name whose address is used (connect-to or resolver)
    std::uint16_t port = 443;
    std::optional<std::string> address;  // direct ADDR:PORT, bypasses host resolution
    std::optional<std::string> sni;
    std::string profile = "sni";
    std::string minTls = "1.2";
    std::string maxTls = "1.3";
};

struct ProbePlan {
    std::vector<HttpProbe> http;
    std::vector<HandshakeProbe> tls;
    std::vector<SignInProbe> signin;
};

struct CheckContext {
    const provision::Lab& lab;
    const Target& target;
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct CheckDefinition {
    CheckId id;
    std::string title;
    std::string ns;
    std::vector<ProbeId> probes;  // the probes it reads (empty: static)
    std::function<CheckResult(const Evidence&, const CheckContext&)> evaluate;
    // A root cause (reach.*, tls.trust) names its own prerequisites; the
    // others get them from the transport errors of the probes they read.
    bool rootCause = false;
};

// The public names of the lab: the five, web services first, then any other
// host an application publishes (a second pool's web services).
std::vector<std::string> publicNames(const provision::Lab&);

// The Lync web services paths of the facts list and the statuses a front end
// gives an anonymous client on each.
struct WebServicesPath {
    std::string path;
    std::vector<long> expected;
};
const std::vector<WebServicesPath>& webServicesPaths();
std::string slug(std::string_view path);  // "/Reach/sip.svc" -> "reach-sip-svc"

// Every check for this lab, in report order.
std::vector<CheckDefinition> catalogue(const provision::Lab&, const Target&);

// The family a check belongs to, for reports that group them: "Reach",
// "TLS", "Lyncdiscover", "Web services", "Sign-in", "OWAS", "Headers",
// "Lab rules", or "Other"; and those names in report order.
std::string familyOf(std::string_view checkId);
const std::vector<std::string>& familyOrder();

std::vector<CheckDefinition> selectChecks(std::vector<CheckDefinition> all,
                                          const std::vector<std::string>& only,
                                          const std::vector<std::string>& skip);

// The probes the given checks read.
ProbePlan planProbes(const provision::Lab&, const Target&,
                     const std::vector<CheckDefinition>& checks);

// Evaluates every check, then reports a check that failed or could not
// judge because a prerequisite failed as BLOCKED by the root of that chain.
std::vector<CheckResult> evaluateAll(const std::vector<CheckDefinition>&, const Evidence&,
                                     const CheckContext&);

// The checks whose failure would explain a probe's missing answer.
std::vector<CheckId> prerequisitesOf(const HttpExchange&);
std::vector<CheckId> prerequisitesOf(const TlsHandshake&);

// True when a reach.* check failed: the target could not be reached or did
// not answer (exit 3).
bool unreachable(const std::vector<CheckResult>&);

// The backend.up.* ids that failed: a backend down, refusing, resetting or
// answering only 5xx (`edgelab check` exits 3, as for an unreachable target).
std::vector<std::string> backendsDown(const std::vector<CheckResult>&);

// Which backend.up.<key> stands behind a public host: the lab backend the
// host's application is published to (its name), else, for a real site's
// lab without backends, the application's host itself; "" when no
// application publishes the host.
std::string backendKeyFor(const provision::Lab&, std::string_view publicHost);

// Helpers the checks share, exposed for tests.
bool certificateCovers(const CertificateInfo&, std::string_view name);
// Absolute http(s) URLs named in a text (also JavaScript-escaped "https:\/\/").
struct UrlMention {
    std::string url;   // as written, up to a quote, space or angle bracket
    std::string host;  // lower case
    int port = 0;      // 0 when not written
};
std::vector<UrlMention> urlsIn(std::string_view text);

}  // namespace edgelab::checks
