// Check and probe ids as types. An id is written once, here; the probe plan,
// the checks that read a probe, the root-cause links between checks and the
// report's drawing all build ids through these functions, so a typo is a
// compile error instead of a check that silently reads nothing.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/finding.hpp"

namespace edgelab::checks {

// One probe: an HTTP exchange or a TLS handshake, the key of its evidence.
class ProbeId {
  public:
    ProbeId() = default;
    explicit ProbeId(std::string value) : value_(std::move(value)) {}
    const std::string& str() const { return value_; }
    auto operator<=>(const ProbeId&) const = default;
    bool operator==(const ProbeId&) const = default;

  private:
    std::string value_;
};

// One check: stable, shown in reports, matched by --only/--skip and by a
// lab's expectations. The type is the one every finding names its
// prerequisites with (common/finding.hpp); its values are spelt below.
using edgelab::CheckId;

namespace probe {
inline ProbeId tlsSni(std::string_view name) { return ProbeId("tls.sni." + std::string(name)); }
inline ProbeId tlsNoSni(std::string_view profile) {
    return ProbeId("tls.no-sni." + std::string(profile));
}
inline ProbeId tlsBackend(std::string_view backend) {
    return ProbeId("tls.backend." + std::string(backend));
}
inline ProbeId lyncdiscoverJson() { return ProbeId("http.lyncdiscover.json"); }
inline ProbeId lyncdiscoverXml() { return ProbeId("http.lyncdiscover.xml"); }
// `pathSlug` as slug() makes it: "/Reach/sip.svc" -> "reach-sip-svc".
inline ProbeId webServices(std::string_view pathSlug) {
    return ProbeId("http.ws." + std::string(pathSlug));
}
inline ProbeId oauthUser() { return ProbeId("http.auth.oauth-user"); }
inline ProbeId meetJoin() { return ProbeId("http.meet.join"); }
inline ProbeId meetUser() { return ProbeId("http.meet.user"); }
inline ProbeId dialin() { return ProbeId("http.dialin"); }
inline ProbeId owasDiscovery() { return ProbeId("http.owas.discovery"); }
inline ProbeId owasPresenter() { return ProbeId("http.owas.presenter"); }
inline ProbeId owasParticipant() { return ProbeId("http.owas.participant"); }
inline ProbeId owasWopiSrc() { return ProbeId("http.owas.wopisrc"); }
// Sign-ins: a sequence of requests each, run as a client (checks/signin.hpp).
inline ProbeId signInWebTicket() { return ProbeId("signin.flow.webticket"); }
inline ProbeId signInUcwa() { return ProbeId("signin.flow.ucwa"); }
inline ProbeId signInNtlmAffinity() { return ProbeId("signin.flow.ntlm-affinity"); }
inline ProbeId signInAnonMeeting() { return ProbeId("signin.flow.anon-meeting"); }
}  // namespace probe

namespace check {
// Root causes: the target as a whole.
inline CheckId reachResolve() { return CheckId("reach.resolve"); }
inline CheckId reachConnect() { return CheckId("reach.connect"); }
inline CheckId reachAnswer() { return CheckId("reach.answer"); }
inline CheckId tlsTrust() { return CheckId("tls.trust"); }
inline CheckId tlsSni(std::string_view name) { return CheckId("tls.sni." + std::string(name)); }
inline CheckId tlsChain(std::string_view name) { return CheckId("tls.chain." + std::string(name)); }
inline CheckId tlsNoSni(std::string_view profile) {
    return CheckId("tls.no-sni." + std::string(profile));
}
// Root cause of every profile's reset without SNI: no default binding at all.
inline CheckId defaultBinding() { return CheckId("tls.no-sni.default-binding"); }
inline CheckId lyncdiscover() { return CheckId("lyncdiscover"); }
inline CheckId webServices(std::string_view pathSlug) {
    return CheckId("webservices." + std::string(pathSlug));
}
inline CheckId authPassThrough() { return CheckId("auth.passthrough"); }
inline CheckId meet() { return CheckId("meet"); }
inline CheckId dialin() { return CheckId("dialin"); }
inline CheckId owasNoInternalNames() { return CheckId("owas.no-internal-names"); }
inline CheckId owasWopiSrc() { return CheckId("owas.wopisrc"); }
inline CheckId longPoll() { return CheckId("webservices.long-poll"); }
inline CheckId headersTranslated() { return CheckId("headers.translated"); }
inline CheckId backendCertificates() { return CheckId("backend.cert-public-names"); }
// A backend that is down, refuses, resets or answers 5xx: one root cause per
// backend (a lab backend's name, or a real site's application host).
inline CheckId backendUp(std::string_view backend) {
    return CheckId("backend.up." + std::string(backend));
}
inline CheckId signInWebTicket() { return CheckId("signin.webticket"); }
inline CheckId signInUcwa() { return CheckId("signin.ucwa"); }
inline CheckId signInNtlmAffinity() { return CheckId("signin.ntlm-affinity"); }
inline CheckId signInDiscovery() { return CheckId("signin.discovery"); }
inline CheckId signInAnonymousAfterSignIn() { return CheckId("signin.anonymous-after-signin"); }
inline CheckId signInAnonMeeting() { return CheckId("signin.anon-meeting"); }
// The static lab rule that covers OWAS's URL (provision/rules.cpp).
inline CheckId owasUrlRule() { return CheckId("lab.owas-url"); }
}  // namespace check

}  // namespace edgelab::checks
