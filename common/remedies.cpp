#include "common/remedies.hpp"

#include <stdexcept>

namespace edgelab {

namespace {

// Texts more than one check gives.
constexpr std::string_view kPassThrough =
    "publish the Lync applications with -ExternalPreAuthentication PassThrough (Lync "
    "authenticates its clients itself)";
constexpr std::string_view kOAuthHref =
    "publish the web services with the backend URL on the external web services FQDN "
    "(https://<web services>:4443/, not the pool's name): the front end names its token "
    "endpoint (MsRtcOAuth href) after the host it was asked for, and the proxy does not "
    "translate WWW-Authenticate";
constexpr std::string_view kSimpleUrl =
    "publish https://{name}/ pass-through to the front end's external web services (4443) "
    "with response header translation on, so redirects name public hosts";
constexpr std::string_view kPublishWebServices =
    "publish the pool's external web services (https://<web services>/ to "
    "https://<pool>:4443/) pass-through so that the autodiscover, web ticket and UCWA "
    "resources answer as the front end does";

// The target as a whole (checks/reach.cpp) and its TLS (checks/tls.cpp).
const std::vector<RemedyText> kReachAndTls{
    {"reach.resolve", "connect-to",
     "--connect-to names a host that does not resolve: give the proxy's IP address, e.g. "
     "--connect-to ::192.0.2.10:443 (every public name to one address)"},
    {"reach.resolve", "",
     "the names are not in DNS where this runs: to check the proxy directly, send every "
     "public name to its address with --connect-to ::PROXY-IP:443, or publish A records for "
     "them"},
    {"reach.connect", "",
     "nothing accepts connections there: check the address and port (the proxy listens on "
     "443; --connect-to ::ADDR:443 sends every public name to one address), that the proxy "
     "is running, and that no firewall rejects the port"},
    {"reach.answer", "",
     "the server there accepts connections and sends nothing back: check that the TLS proxy "
     "(not another service) listens on that address and is not stalled; on a slow link give "
     "it longer with --timeout SECONDS"},
    {"tls.trust", "",
     "nothing is missing from the chain: trust the root that issued it. Pass that root with "
     "--cacert (a running lab's is the caBundle in WORKDIR/state.json), or install it as a "
     "trusted root on the clients"},
    {"tls.sni.*", "",
     "bind a certificate whose subjectAltName includes {name} to {name}:443:\n{command}"},
    {"tls.sni.*", "unresolved",
     "the name does not resolve here (see reach.resolve; --connect-to ::ADDR:443 sends every "
     "public name to the proxy)"},
    {"tls.sni.*", "refused", "nothing accepts connections on {address} (see reach.connect)"},
    {"tls.sni.*", "timeout", "{address} did not answer in time (see reach.answer)"},
    {"tls.sni.*", "expired", "renew the certificate and update the binding's certhash"},
    {"tls.sni.*", "expiring", "renew the certificate before {date}"},
    {"tls.chain.*", "untrusted-root", "trust the root that issued the chain (see tls.trust)"},
    {"tls.chain.*", "",
     "send the issuing CA with the certificate (install the intermediate in the proxy's "
     "Intermediate Certification Authorities store; lab: certificate.sendChain=true); mobile "
     "clients do not fetch it from the AIA URL"},
    // tls.no-sni.<profile> and their root cause tls.no-sni.default-binding.
    {"tls.no-sni.*", "",
     "add a default (IP:port) binding with the certificate served for {webServices}:\n"
     "{command}\nin a lab: edgelab bindings set-default --lab {labFile} --match-host "
     "{webServices}"},
    {"backend.cert-public-names", "",
     "issue the backend a certificate whose subjectAltName lists the public names it is "
     "published under (full-domain publishing keeps the host name); lab: "
     "backends[].publicNamesInCertificate=true"},
    // backend.up.<backend>: "{start}" is in-lab or on-site, "{restart}" the
    // role's.
    {"backend.up.*", "",
     "{start}; from the proxy, Test-NetConnection {host} -Port {port} must succeed. "
     "Republishing does not help: the publishing is not the fault"},
    {"backend.up.*", "in-lab",
     "start the backend again: in a lab, `edgelab down` then `edgelab up` the lab file (the "
     "backend's log under WORKDIR/logs/ says why it stopped); on a server, {restart}"},
    {"backend.up.*", "on-site",
     "start or repair the server the proxy publishes {backend} to (if it runs, the proxy must "
     "trust its certificate and find the public name in it): {restart}"},
    {"backend.up.*", "restart-owas",
     "on the Office Web Apps server, Restart-Service WACSM and read its event log"},
    {"backend.up.*", "restart-lync",
     "on the Lync front end, Get-CsWindowsService, then Start-CsWindowsService and read the "
     "Lync Server event log"},
};

// What the clients read through the publishing (checks/lyncdiscover.cpp,
// webservices.cpp, owas.cpp, headers.cpp).
const std::vector<RemedyText> kPublishing{
    {"lyncdiscover", "",
     "publish https://{lyncdiscover}/ pass-through to the front end's external web services "
     "(4443), and set the front end's external web services FQDN to {webServices}"},
    {"webservices.*", "",
     "publish https://{webServices}/ pass-through to the front end on https://<fe>:4443/ so "
     "that {path} reaches the external web services site"},
    {"webservices.*", "redirect",
     "publish https://{webServices}/ with -ExternalPreAuthentication PassThrough and response "
     "header translation on, so that {path} answers as the front end does"},
    {"auth.passthrough", "", kPassThrough},
    {"auth.passthrough", "oauth-href", kOAuthHref},
    {"meet", "", kSimpleUrl},
    {"dialin", "", kSimpleUrl},
    {"webservices.long-poll", "",
     "Set-WebApplicationProxyApplication -InactiveTransactionsTimeoutSec {seconds} on each "
     "Lync application (WAP's default is 300)"},
    {"webservices.long-poll", "measured",
     "Set-WebApplicationProxyApplication -InactiveTransactionsTimeoutSec above the front end's "
     "event channel hold ({hold} s by default; WAP's default 300) on each Lync application"},
    {"owas.no-internal-names", "",
     "publish OWAS with BackendServerUrl on the public name (https://{owas}/), so OWAS writes "
     "that name into its pages; the proxy does not rewrite bodies"},
    {"owas.no-internal-names", "not-served",
     "publish https://{owas}/ pass-through to the OWAS farm so that /hosting/discovery and "
     "/m/Presenter.aspx answer 200"},
    {"owas.wopisrc", "",
     "forward request URLs unchanged (no URL normalisation or decoding on the OWAS rule; TMG: "
     "turn off Verify Normalization)"},
    {"headers.translated", "",
     "turn response header translation on (no -DisableTranslateUrlInResponseHeaders) so the "
     "proxy maps backend hosts and port 4443 to the public URL"},
};

// The sign-ins (checks/signin.cpp): a text per step that did not answer, or
// per thing an answer lacked.
const std::vector<RemedyText> kSignIn{
    {"signin.*", "", kPublishWebServices},
    {"signin.*", "federation-redirect", kPassThrough},
    {"signin.*", "oauth-href", kOAuthHref},
    {"signin.*", "no-answer",
     "the front end did not answer through the publishing: check the backend URL "
     "(https://<pool>:4443/), the backend's certificate and -InactiveTransactionsTimeoutSec"},
    {"signin.*", "discovery",
     "every pool's external web services FQDN (Topology Builder, Set-CsWebServer) must be a "
     "public name published on 443 through the proxy: a Director or front end redirects users "
     "homed on another pool to that pool's external web services, and clients follow only "
     "what they are handed"},
    {"signin.*", "lyncdiscover",
     "publish https://{lyncdiscover}/ pass-through to the front end's external web services "
     "(4443), and create the lyncdiscover DNS record for the SIP domain"},
    {"signin.*", "ntlm",
     "check the test user's account and password; behind a reverse proxy each client "
     "connection must keep one backend connection for the whole NTLM handshake (WAP does; a "
     "pool shared between clients, such as nginx's upstream keepalive, breaks NTLM: in the "
     "lab, proxy.connectionAffinity true)"},
    {"signin.*", "oauthtoken",
     "check the test user's password (--password-file, or users[] in the lab); the front end "
     "answered the password grant with an error"},
    {"signin.*", "user",
     "publish the pool's external web services (https://<web services>/ to "
     "https://<pool>:4443/) pass-through so that the autodiscover, web ticket and UCWA "
     "resources answer as the front end does; the user resource must accept the web ticket "
     "(X-MS-WebTicket) or token it was signed in with"},
    {"signin.*", "shared-auth",
     "a backend connection that completed an NTLM or Negotiate handshake belongs to the "
     "client connection that made it: keep it for that client alone and close it with that "
     "client, never hand it to another client from a shared pool (WAP does; in the lab, "
     "proxy.connectionAffinity true)"},
    {"signin.*", "links",
     "set the external web services FQDN of the pool to a published name and publish it on "
     "443 (never the pool's name or 4443)"},
    {"signin.*", "edge",
     "set the Access Edge's external FQDN in the topology so that the user resource lists "
     "SipClientExternalAccess on a public name (external clients register there)"},
    {"signin.*", "anonymous",
     "allow anonymous participants (Set-CsConferencingPolicy "
     "-AllowAnonymousParticipantsInMeetings $true) and publish /WebTicket pass-through to the "
     "front end"},
    {"signin.*", "challenge",
     "the Web Ticket Service must answer an NTLM NEGOTIATE_MESSAGE with its CHALLENGE_MESSAGE "
     "(401 WWW-Authenticate: NTLM <token>)"},
};

// The static rules (provision/rules.cpp), the data disk (runner/data_disk.cpp),
// the run's expectations (runner/runner.cpp) and the audit's own findings
// (audit/; its other fixes are commands built from the capture).
const std::vector<RemedyText> kLab{
    {"lab.namespaces", "",
     "add a WAP application whose ExternalUrl is https://NAME/ for each: {missing}"},
    {"lab.passthrough", "",
     "Lync clients authenticate to the front end itself: publish these applications with "
     "-ExternalPreAuthentication PassThrough (remove and add them again)"},
    {"lab.backend-port", "",
     "the front end's external web site listens on 4443: use -BackendServerUrl "
     "https://HOST:4443/ (external 443 -> backend 4443)"},
    {"lab.owas-url", "",
     "OWAS writes URLs built from the host it was asked for into its bodies, which the proxy "
     "does not rewrite: make -BackendServerUrl the same as -ExternalUrl (and let the internal "
     "DNS resolve that name to the OWAS farm)"},
    {"lab.certificate-names", "",
     "issue the proxy certificate with every external host name in its subject alternative "
     "names: add {missing}"},
    {"lab.certificate-names", "audit",
     "issue a certificate whose subject alternative names include {host}, import it and bind "
     "it (Set-WebApplicationProxyApplication -ExternalCertificateThumbprint, netsh http add "
     "sslcert)"},
    {"lab.certificate-subject", "",
     "issue the certificate with the subject {webServices} (Lync's external web services "
     "FQDN) and repeat it in the SAN"},
    {"lab.certificate-subject", "not-in-san",
     "add {subject} to the subject alternative names: clients read the SAN only"},
    {"lab.backend-certificate", "",
     "full-domain publishing keeps the host name, so the proxy validates the backend "
     "certificate against the public name: issue the backend certificates with the public "
     "names too"},
    {"lab.default-binding", "",
     "add the default binding:\n{command}\nin a lab: edgelab bindings set-default "
     "--match-host {webServices}"},
    {"lab.data-disk", "host-cache",
     "attach a data disk with host caching None (write-through): SQL creating rtcxds times "
     "out on a write-cached disk"},
    {"lab.data-disk", "size", "make the data disk at least {gb} GB"},
    {"lab.data-disk", "then", "then {command}"},
    {"lab.edge-nics", "",
     "the Edge server needs one interface for internal and one for external traffic: host it "
     "on a platform with two NICs (not a single-NIC cloud VM)"},
    {"disk.write-through", "",
     "attach an empty data disk of at least 10 GB with host cache None, format it, then "
     "{command} and re-run step 2 of the Deployment Wizard"},
    {"expectations", "", "fix the deployment, or the lab's expect.fail if the lab changed"},
    {"audit.capture", "netsh",
     "Capture again with `netsh http show sslcert > sslcert.txt` on the proxy; the findings "
     "below use only the bindings that were read."},
    {"audit.capture", "url",
     "Check the application with Get-WebApplicationProxyApplication -Name NAME | Format-List; "
     "the findings below leave it out."},
    {"audit.wildcard-url", "",
     "publish each {role} name (web services, meet, dialin, lyncdiscover, owas) as its own "
     "application, so that each lesson is judged for it: Add-WebApplicationProxyApplication "
     "-ExternalUrl 'https://NAME.{domain}/' ..."},
};

std::vector<RemedyText> joined() {
    std::vector<RemedyText> all;
    for (const auto* part : {&kReachAndTls, &kPublishing, &kSignIn, &kLab})
        all.insert(all.end(), part->begin(), part->end());
    return all;
}

// The entry for id and variant: the exact id first, else the longest family.
const RemedyText* find(std::string_view id, std::string_view variant) {
    const RemedyText* best = nullptr;
    for (const auto& e : remedyTexts()) {
        if (e.variant != variant || !remedyIdMatches(e.id, id)) continue;
        if (e.id == id) return &e;
        if (!best || e.id.size() > best->id.size()) best = &e;
    }
    return best;
}

[[noreturn]] void bug(std::string_view id, std::string_view variant, const std::string& what) {
    throw std::logic_error("remedy " + std::string(id) +
                           (variant.empty() ? "" : " (" + std::string(variant) + ")") + ": " +
                           what);
}

}  // namespace

const std::vector<RemedyText>& remedyTexts() {
    static const std::vector<RemedyText> table = joined();
    return table;
}

bool remedyIdMatches(std::string_view entryId, std::string_view id) {
    if (entryId.size() >= 2 && entryId.substr(entryId.size() - 2) == ".*")
        return id.size() > entryId.size() - 1 &&
               id.substr(0, entryId.size() - 1) == entryId.substr(0, entryId.size() - 1);
    return entryId == id;
}

bool hasRemedy(std::string_view id) {
    for (const auto& e : remedyTexts())
        if (remedyIdMatches(e.id, id)) return true;
    return false;
}

std::string remedyText(std::string_view id, std::string_view variant, RemedyParams params) {
    const RemedyText* e = find(id, variant);
    if (!e) bug(id, variant, "no text in common/remedies.cpp");
    std::vector<bool> used(params.size(), false);
    std::string out;
    const std::string_view t = e->text;
    for (std::size_t i = 0; i < t.size();) {
        const std::size_t open = t.find('{', i);
        if (open == std::string_view::npos) {
            out.append(t.substr(i));
            break;
        }
        const std::size_t close = t.find('}', open);
        if (close == std::string_view::npos) bug(id, variant, "an unclosed {");
        out.append(t.substr(i, open - i));
        const std::string_view name = t.substr(open + 1, close - open - 1);
        std::size_t k = 0;
        for (const auto& [key, value] : params) {
            if (key == name) break;
            ++k;
        }
        if (k == params.size()) bug(id, variant, "no value for {" + std::string(name) + "}");
        used[k] = true;
        out.append((params.begin() + k)->second);
        i = close + 1;
    }
    std::size_t k = 0;
    for (const auto& [key, value] : params)
        if (!used[k++]) bug(id, variant, "a value for {" + std::string(key) + "}, not in its text");
    return out;
}

}  // namespace edgelab
