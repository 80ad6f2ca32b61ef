// Labs in and out of the audit: a lab's intended publishing as audit inputs,
// and a lab description that replays a captured publishing.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "audit/audit.hpp"
#include "audit/model.hpp"
#include "common/ascii.hpp"
#include "provision/rules.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

namespace {

using json = nlohmann::ordered_json;

proxy::NetshEntry entry(proxy::NetshKeyKind kind, const std::string& key, const std::string& hash,
                        const std::string& appid) {
    proxy::NetshEntry e;
    e.kind = kind;
    e.key = key;
    e.fields = {{"Certificate Hash", hash, 0}, {"Application ID", appid, 0}};
    return e;
}

std::string thumbprintOf(const provision::Application& a) {
    return a.externalCertificateThumbprint.empty() ? kLabCertificate
                                                   : a.externalCertificateThumbprint;
}

}  // namespace

AuditInput auditInputOf(const provision::Lab& lab) {
    AuditInput in;
    in.name = lab.name;
    in.netshSource = in.wapSource = lab.sourceFile.empty() ? lab.name : lab.sourceFile.string();
    in.webServicesName = lab.names.webServices;
    in.netsh.emplace();
    in.applications.emplace();
    const std::string wap(kWapApplicationId);
    std::set<std::string> bound;
    for (const auto& a : lab.applications) {
        WapApplication w;
        w.name = a.name;
        w.externalUrl = a.externalUrl.str();
        w.backendServerUrl = a.hasBackendServerUrl() ? a.backendServerUrl.str() : "";
        w.externalPreauthentication = provision::to_string(a.externalPreAuthentication);
        w.externalCertificateThumbprint = thumbprintOf(a);
        in.applications->push_back(w);
        in.roles.push_back(provision::isLyncApplication(lab, a)   ? AppRole::Lync
                           : provision::isOwasApplication(lab, a) ? AppRole::Owas
                                                                  : AppRole::Other);
        // WAP binds each external host when it publishes it.
        if (bound.insert(a.externalUrl.hostPort()).second)
            in.netsh->entries.push_back(entry(proxy::NetshKeyKind::HostnamePort,
                                              a.externalUrl.hostPort(), thumbprintOf(a), wap));
    }
    if (lab.defaultBinding) {
        const std::string match = lab.defaultBinding->matchHost.value_or(lab.names.webServices);
        std::string hash = kLabCertificate;
        for (const auto& a : lab.applications)
            if (a.externalUrl.host == match) hash = thumbprintOf(a);
        in.netsh->entries.push_back(
            entry(proxy::NetshKeyKind::IpPort, lab.defaultBinding->ipport, hash, wap));
    }
    std::vector<std::string> names = lab.certificate.san;
    if (names.empty()) names = lab.names.all();
    in.certificates.push_back(
        {kLabCertificate, lab.certificate.subject, names, "the lab certificate"});
    return in;
}

namespace {

std::string firstLabel(const std::string& host) { return host.substr(0, host.find('.')); }

// What the replay is expected to fail: the root causes only. The wire
// checks that show a failed rule's lesson are BLOCKED by it in the run
// (runner::rootInRules), and a BLOCKED check meets a glob anyway.
std::vector<std::string> expectedFailures(const checks::CheckResult& finding) {
    for (const char* rule :
         {"lab.default-binding", "lab.passthrough", "lab.backend-port", "lab.owas-url"})
        if (finding.id == rule) return {finding.id};
    return {};
}

struct Names {
    std::string webServices, meet, dialin, lyncdiscover, owas, domain;
};

Names namesOf(const Model& m) {
    Names n;
    n.webServices = m.webServicesName;
    n.domain = n.webServices.substr(n.webServices.find('.') + 1);
    for (const auto& p : m.apps) {
        if (!p.external) continue;
        const std::string label = firstLabel(p.external->host);
        if (p.role == AppRole::Owas && n.owas.empty()) n.owas = p.external->host;
        if (p.role != AppRole::Lync) continue;
        if (label == "meet") n.meet = p.external->host;
        if (label == "dialin") n.dialin = p.external->host;
        if (label == "lyncdiscover") n.lyncdiscover = p.external->host;
    }
    return n;
}

json namesJson(const Names& n) {
    // A full name keeps the captured host; a missing one takes the lab's prefix.
    auto name = [&](const std::string& host, const char* prefix) {
        return host.empty() ? std::string(prefix) : host;
    };
    return {{"webServices", n.webServices},
            {"meet", name(n.meet, "meet")},
            {"dialin", name(n.dialin, "dialin")},
            {"lyncdiscover", name(n.lyncdiscover, "lyncdiscover")},
            {"owas", name(n.owas, "owas")}};
}

// The names the captured certificate of the web services binding carries,
// else every published host.
json certificateJson(const Model& m) {
    std::vector<std::string> san;
    const Bound* ws = m.webServicesBinding(443);
    std::string thumb = ws ? ws->hash : "";
    for (const auto& p : m.apps)
        if (p.external && p.external->host == m.webServicesName)
            thumb = p.app->externalCertificateThumbprint;
    if (const AuditCertificate* cert = m.certificate(thumb)) {
        for (const auto& n : cert->dnsNames) san.push_back(asciiLower(n));
    } else {
        std::set<std::string> seen;
        for (const auto& p : m.apps)
            if (p.external && p.role != AppRole::Other && seen.insert(p.external->host).second)
                san.push_back(p.external->host);
    }
    return {{"subject", m.webServicesName}, {"san", san}};
}

void addOnce(std::vector<std::string>& list, const std::string& item) {
    if (!item.empty() && std::find(list.begin(), list.end(), item) == list.end())
        list.push_back(item);
}

// One Lync front end and one OWAS server, named as the capture names them
// where it does (a backend URL host that is not a public name is the
// server's own), else lyncfe1/owas1 in the domain.
json backendsJson(const Model& m, const Names& n) {
    const std::set<std::string> publicNames{n.webServices, n.meet, n.dialin, n.lyncdiscover,
                                            n.owas};
    std::string feHost;
    std::vector<std::string> serves;
    for (const auto& p : m.apps) {
        if (p.role != AppRole::Lync || !p.external || !p.backend) continue;
        addOnce(serves, p.external->host);
        if (publicNames.count(p.backend->host)) continue;
        if (feHost.empty())
            feHost = p.backend->host;
        else if (p.backend->host != feHost)
            addOnce(serves, p.backend->host);
    }
    json backends = json::array();
    if (!serves.empty())
        backends.push_back({{"name", "fe1"},
                            {"role", "lync-frontend"},
                            {"host", feHost.empty() ? "lyncfe1." + n.domain : feHost},
                            {"port", kLyncExternalWebPort},
                            {"serves", serves}});
    for (const auto& p : m.apps) {
        if (p.role != AppRole::Owas || !p.external || !p.backend) continue;
        const std::string host =
            p.backend->host != p.external->host ? p.backend->host : "owas1." + n.domain;
        backends.push_back({{"name", "owas1"},
                            {"role", "owas"},
                            {"host", host},
                            {"port", 443},
                            {"serves", {p.external->host}},
                            {"internalUrl", "https://" + host + "/"}});
        break;
    }
    return backends;
}

// A published name the re-issued certificate lacks fails its SNI handshake
// check; the checks that need an answer from that name are BLOCKED by it,
// not failed (as scenarios/labs/cert-missing-owas.json shows).
std::vector<std::string> uncoveredFailures(const Model& m, const json& san) {
    AuditCertificate cert;
    for (const auto& n : san) cert.dnsNames.push_back(n.get<std::string>());
    std::vector<std::string> fail;
    bool any = false;
    for (const auto& p : m.apps) {
        if (p.role == AppRole::Other || !p.external || covers(cert, p.external->host)) continue;
        if (!any) addOnce(fail, "lab.certificate-names");
        any = true;
        addOnce(fail, "tls.sni." + p.external->host);
    }
    return fail;
}

std::string preAuthenticationOf(const std::string& captured) {
    const std::string v = asciiLower(captured);
    if (v == "passthrough") return "PassThrough";
    if (v == "clientcertificate") return "ClientCertificate";
    return "ADFS";  // ADFS, ADFSforBrowsersAndOffice, ADFSforRichClients, ...
}

json applicationsJson(const Model& m) {
    json apps = json::array();
    for (const auto& p : m.apps) {
        if (p.role == AppRole::Other || !p.external || !p.backend) continue;
        const auto& a = *p.app;
        apps.push_back(
            {{"name", a.name},
             {"externalUrl", p.external->str()},
             {"backendServerUrl", p.backend->str()},
             {"externalPreAuthentication", preAuthenticationOf(a.externalPreauthentication)},
             {"backendServerCertificateValidation",
              asciiLower(a.backendServerCertificateValidation) == "validatecertificate"},
             {"disableTranslateUrlInRequestHeaders", a.disableTranslateUrlInRequestHeaders},
             {"disableTranslateUrlInResponseHeaders", a.disableTranslateUrlInResponseHeaders},
             {"inactiveTransactionsTimeoutSec",
              std::clamp(a.inactiveTransactionsTimeoutSec, 1, 86400)}});
        // The relying party the server has, so that emit powershell can
        // publish the application the same way.
        if (apps.back()["externalPreAuthentication"] == "ADFS" && !a.adfsRelyingPartyName.empty())
            apps.back()["adfsRelyingPartyName"] = a.adfsRelyingPartyName;
    }
    return apps;
}

std::vector<std::string> sourcesOf(const AuditInput& in) {
    std::vector<std::string> out;
    for (const auto* s : {&in.netshSource, &in.wapSource})
        if (!s->empty()) out.push_back(*s);
    return out;
}

struct Inferred {
    const char* name;
    AppRole role;
};

// The application WAP published for a binding, from the name's first label.
std::optional<Inferred> inferredFrom(const std::string& label) {
    for (const char* l : {"lyncws", "webext", "lyncweb"})
        if (label == l) return Inferred{"Lync Web Services", AppRole::Lync};
    if (label == "meet") return Inferred{"Lync Meet", AppRole::Lync};
    if (label == "dialin") return Inferred{"Lync Dialin", AppRole::Lync};
    if (label == "lyncdiscover") return Inferred{"Lync Lyncdiscover", AppRole::Lync};
    for (const char* l : {"owas", "wac", "oos", "officeonline"})
        if (label == l) return Inferred{"Office Web Apps Server", AppRole::Owas};
    return std::nullopt;
}

// From netsh alone: an application for each WAP Hostname:port binding on a
// judged port whose name says Lync or OWAS, published the way the lessons
// want it (what the capture cannot say is assumed, and said).
AuditInput inferApplications(const AuditInput& input, std::vector<std::string>& assumed) {
    AuditInput in = input;
    in.applications.emplace();
    const Model m(input);
    std::vector<std::string> left;
    for (std::uint16_t port : m.hostnamePorts())
        for (const Bound* b : m.hostnamesOn(port)) {
            const auto what = inferredFrom(firstLabel(b->host));
            if (!what || b->appid != kWapApplicationId) {
                left.push_back(b->key());
                continue;
            }
            WapApplication a;
            a.name = what->name;
            a.externalUrl = "https://" + b->key() + "/";
            // Full-domain publishing: the same name inside, the front end's
            // external web site on 4443, OWAS on its own port.
            a.backendServerUrl = what->role == AppRole::Lync ? "https://" + b->host + ":4443/"
                                                             : "https://" + b->host + "/";
            a.externalPreauthentication = "PassThrough";
            a.externalCertificateThumbprint = b->hash;
            in.applications->push_back(a);
            in.roles.push_back(what->role);
        }
    assumed.push_back(
        "from netsh alone: one application per WAP Hostname:port binding named lyncws, webext, "
        "lyncweb, meet, dialin, lyncdiscover, owas, wac, oos or officeonline (" +
        std::to_string(in.applications->size()) +
        "), each with PassThrough pre-authentication and its backend on the same name, on 4443 "
        "for Lync (the front end's external web site) and 443 for OWAS: the lessons' way, which "
        "the capture does not show");
    if (!left.empty())
        assumed.push_back("left out (not Lync or OWAS by name): " + join(left, ", "));
    return in;
}

}  // namespace

nlohmann::ordered_json emitLab(const AuditInput& captured,
                               const std::vector<checks::CheckResult>& findings,
                               const std::string& labName) {
    std::vector<std::string> assumed;
    const AuditInput input =
        captured.applications ? captured : inferApplications(captured, assumed);
    const Model m(input);
    const Names n = namesOf(m);
    json lab = {
        {"name", labName},
        {"description", "Replays the publishing captured by edgelab audit (" +
                            join(sourcesOf(input), ", ") +
                            ") on loopback; certificates are re-issued by the lab PKI "
                            "with the captured names." +
                            (assumed.empty() ? "" : " Assumed " + join(assumed, "; ") + ".")},
        {"domain", n.domain},
        {"names", namesJson(n)},
        {"certificate", certificateJson(m)}};
    lab["backends"] = backendsJson(m, n);
    lab["applications"] = applicationsJson(m);
    if (const Bound* ip = m.ipv4On(443)) {
        std::string match = m.webServicesName;
        for (const Bound* h : m.hostnamesOn(443))
            if (h->hash == ip->hash) {
                match = h->host;
                if (h->host == m.webServicesName) break;
            }
        lab["defaultBinding"] = {{"ipport", "0.0.0.0:443"}, {"matchHost", match}};
    }
    std::vector<std::string> fail, failing;
    for (const auto& f : findings) {
        if (f.verdict != checks::Verdict::Fail) continue;
        failing.push_back(f.id);
        for (auto& g : expectedFailures(f)) addOnce(fail, g);
        if (f.id == "lab.certificate-names")
            for (auto& g : uncoveredFailures(m, lab["certificate"]["san"]))
                if (g.rfind("lab.", 0) == 0) addOnce(fail, g);  // tls.sni.* follow from it
    }
    lab["expect"] = {{"fail", fail},
                     {"note", failing.empty() ? "The audit found nothing to fail."
                                              : "The audit failed " + join(failing, ", ") +
                                                    "; the run shows it on the wire."}};
    return lab;
}

}  // namespace edgelab::audit
