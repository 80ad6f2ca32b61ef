#include "provision/lab.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
#include "common/json_reader.hpp"
#include "common/json_text.hpp"
#include "common/lync_wap.hpp"
#include "common/matching.hpp"

namespace edgelab::provision {

using json = nlohmann::json;

// ---------------------------------------------------------------- Url

// ---------------------------------------------------------------- enums

std::string to_string(KeyType k) { return k == KeyType::EcdsaP256 ? "ecdsa-p256" : "rsa-2048"; }

std::string to_string(PreAuthentication p) {
    switch (p) {
        case PreAuthentication::PassThrough:
            return "PassThrough";
        case PreAuthentication::ADFS:
            return "ADFS";
        case PreAuthentication::ClientCertificate:
            return "ClientCertificate";
    }
    return "?";
}

std::string to_string(BackendRole r) { return r == BackendRole::Owas ? "owas" : "lync-frontend"; }

std::string to_string(HostCache c) {
    switch (c) {
        case HostCache::None:
            return "None";
        case HostCache::ReadOnly:
            return "ReadOnly";
        case HostCache::ReadWrite:
            return "ReadWrite";
    }
    return "?";
}

std::vector<std::string> PublicNames::all() const {
    return {webServices, meet, dialin, lyncdiscover, owas};
}

namespace {

// What edgelab-proxy would refuse of the applications, or the runner's later
// steps could not do, found before anything starts rather than after the
// PKI is made and the backends run.
void applicationProblems(const Lab& lab, std::vector<LabError>& problems) {
    for (std::size_t i = 0; i < lab.applications.size(); ++i) {
        const auto& app = lab.applications[i];
        const std::string at = "/applications/" + std::to_string(i);
        if (!app.hasBackendServerUrl())
            problems.push_back({at + "/backendServerUrl",
                                "a lab built on loopback needs where the application is "
                                "published to (an https URL a backend serves)"});
        // Refused here, before anything starts, rather than by the proxy once
        // the lab's PKI and backends are up.
        if (app.externalPreAuthentication == PreAuthentication::ClientCertificate)
            problems.push_back({at + "/externalPreAuthentication",
                                "ClientCertificate pre-authentication is not emulated by "
                                "edgelab-proxy: a lab cannot run it (check a real site with "
                                "edgelab check)"});
        for (std::size_t k = 0; k < i; ++k)
            if (lab.applications[k].externalUrl.str() == app.externalUrl.str())
                problems.push_back({at + "/externalUrl", app.externalUrl.str() +
                                                             " is already published by "
                                                             "/applications/" +
                                                             std::to_string(k)});
    }
}

// The default binding copies an application's hostname binding: one must
// exist for the host it names.
void defaultBindingProblems(const Lab& lab, std::vector<LabError>& problems) {
    if (!lab.defaultBinding) return;
    const std::string host =
        asciiLower(lab.defaultBinding->matchHost.value_or(lab.names.webServices));
    for (const auto& app : lab.applications)
        if (asciiLower(app.externalUrl.host) == host) return;
    problems.push_back(
        {lab.defaultBinding->matchHost ? "/defaultBinding/matchHost" : "/defaultBinding",
         "no application is published on " + host +
             ", so there is no hostname binding to copy the default binding from"});
}

}  // namespace

std::vector<LabError> labModeProblems(const Lab& lab) {
    std::vector<LabError> problems;
    if (lab.backends.empty())
        problems.push_back({"/backends",
                            "a lab built on loopback needs its backends (the "
                            "servers it simulates); without them it describes a "
                            "real site: check it with edgelab check"});
    applicationProblems(lab, problems);
    if (!lab.backends.empty()) defaultBindingProblems(lab, problems);
    return problems;
}

std::string farmInternalUrl(const Backend& b) {
    return b.internalUrl ? *b.internalUrl : "https://" + b.host + "/";
}

const Backend* Lab::backendFor(std::string_view host) const {
    for (const auto& b : backends) {
        if (b.host == host) return &b;
        if (std::find(b.serves.begin(), b.serves.end(), host) != b.serves.end()) return &b;
    }
    return nullptr;
}

const TestUser* Lab::user(std::string_view sipUri) const {
    for (const auto& u : users)
        if (asciiLower(u.sipUri) == asciiLower(std::string(sipUri))) return &u;
    return nullptr;
}

std::string TestUser::userName() const {
    const auto slash = account.find('\\');
    return slash == std::string::npos ? account : account.substr(slash + 1);
}

std::string TestUser::domain() const {
    const auto slash = account.find('\\');
    return slash == std::string::npos ? std::string() : account.substr(0, slash);
}

LabParseError::LabParseError(std::string file, std::vector<LabError> errors)
    : std::runtime_error([&] {
          std::string text = file + ": " + std::to_string(errors.size()) +
                             (errors.size() == 1 ? " error" : " errors");
          for (const auto& e : errors) text += "\n  " + e.str();
          return text;
      }()),
      file_(std::move(file)),
      errors_(std::move(errors)) {}

// ---------------------------------------------------------------- reader

namespace {

std::string describe(const json& v) { return describeJsonValue(v); }

// The shared reader (common/json_reader.hpp): every error with its path,
// unknown keys with the nearest known one.
using ObjectReader = JsonObjectReader;

bool isObject(const json* v, const std::string& path, std::vector<LabError>& errors) {
    if (v && !v->is_object()) {
        errors.push_back({path, "expected an object, got " + describe(*v)});
        return false;
    }
    return v != nullptr;
}

bool validHostName(std::string_view h) {
    if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.') return false;
    std::size_t label = 0;
    for (char c : h) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '*')) return false;
        if (++label > 63) return false;
    }
    return true;
}

std::optional<Url> readUrl(ObjectReader& r, std::string_view key, bool required) {
    auto s = r.string(key, required);
    if (!s) return std::nullopt;
    auto u = Url::parse(*s);
    if (!u || u->scheme != "https") {
        r.error(key, "expected an https URL, got \"" + *s + "\"");
        return std::nullopt;
    }
    return u;
}

ClientProfile defaultProfile(const std::string& name, const PublicNames& n) {
    ClientProfile p;
    p.name = name;
    if (name == "lync-mobile") {
        // Lync 2013 mobile clients send no SNI (the seed's capture) and talk
        // to lyncdiscover and the external web services.
        p.sendsSni = false;
        p.names = {n.lyncdiscover, n.webServices};
    } else if (name == "activesync") {
        p.sendsSni = false;
        p.minTls = "1.0";
        p.names = {n.webServices};
    } else {
        p.names = n.all();
    }
    return p;
}
// The state shared by the section readers of one lab file: the lab being
// built, every error found so far, and the top-level object.
struct LabContext {
    Lab& lab;
    std::vector<LabError>& errors;
    ObjectReader& root;
    // Names derived from a missing or broken domain would only repeat its error.
    bool domainOk = false;
};

// users[]: test accounts for the sign-in checks. A password is a literal or
// a file (read by loadLab, the only part that does I/O); never both.
void readUsers(LabContext& cx) {
    ObjectReader& root = cx.root;
    std::vector<LabError>& errors = cx.errors;
    std::vector<TestUser>& users = cx.lab.users;
    const json* v = root.get("users");
    if (!v) return;
    if (!v->is_array()) {
        root.error("users", "expected an array of test users, got " + describe(*v));
        return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
        const std::string path = "/users/" + std::to_string(i);
        if (!isObject(&(*v)[i], path, errors)) continue;
        ObjectReader r((*v)[i], path, errors);
        TestUser u;
        u.sipUri = r.string("sipUri", true).value_or("");
        if (asciiLower(u.sipUri.substr(0, 4)) == "sip:") u.sipUri = u.sipUri.substr(4);
        const auto at = u.sipUri.find('@');
        if (r.get("sipUri") && !u.sipUri.empty() &&
            (at == std::string::npos || at == 0 || !validHostName(u.sipUri.substr(at + 1))))
            r.error("sipUri", "expected a SIP address such as \"alice@contoso.example\", got \"" +
                                  u.sipUri + "\"");
        for (const auto& other : users)
            if (!u.sipUri.empty() && asciiLower(other.sipUri) == asciiLower(u.sipUri))
                r.error("sipUri", "another user already has \"" + u.sipUri + "\"");
        u.account = r.string("account", true).value_or("");
        const auto slash = u.account.find('\\');
        const bool downLevel =
            slash != std::string::npos && slash > 0 && slash + 1 < u.account.size();
        const bool upn = u.account.find('@') != std::string::npos;
        if (!u.account.empty() && !downLevel && !upn)
            r.error("account", "expected DOMAIN\\user or user@domain, got \"" + u.account + "\"");
        auto password = r.string("password");
        auto file = r.string("passwordFile");
        if (password && file) r.error("passwordFile", "give password or passwordFile, not both");
        if (!r.get("password") && !r.get("passwordFile"))
            r.error("password", "required, expected a string (or passwordFile)");
        if (password && password->empty()) r.error("password", "expected a non-empty password");
        u.password = password.value_or("");
        if (file) u.passwordFile = std::filesystem::path(*file);
        u.typedPassword = r.string("typedPassword");
        u.homePool = r.string("homePool").value_or("");
        if (!u.homePool.empty() && !cx.lab.backends.empty()) {
            const auto home = std::find_if(cx.lab.backends.begin(), cx.lab.backends.end(),
                                           [&](const Backend& b) { return b.name == u.homePool; });
            if (home == cx.lab.backends.end() || home->role != BackendRole::LyncFrontEnd)
                r.error("homePool",
                        "expected the name of a lync-frontend backend, got \"" + u.homePool + "\"");
        }
        r.finish();
        users.push_back(std::move(u));
    }
}

// proxy: how the lab's own proxy runs, beside the publishing rules.
void readProxy(LabContext& cx) {
    const json* v = cx.root.get("proxy");
    if (!isObject(v, "/proxy", cx.errors)) return;
    ObjectReader r(*v, "/proxy", cx.errors);
    cx.lab.proxy.connectionAffinity = r.boolean("connectionAffinity").value_or(true);
    r.finish();
}

// The lab's name (it names the work folder), description and domain.
void readIdentity(LabContext& cx) {
    Lab& lab = cx.lab;
    ObjectReader& root = cx.root;
    lab.name = root.string("name", true).value_or("");
    // An empty name would put the lab's PKI and reports in .edgelab/ itself.
    if (root.get("name") && root.get("name")->is_string() && lab.name.empty())
        root.error("name", "expected a non-empty name (it names the work folder), got \"\"");
    if (!lab.name.empty() && !std::all_of(lab.name.begin(), lab.name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        }))
        root.error("name",
                   "expected letters, digits, '-', '_' or '.' (it names the work folder), got \"" +
                       lab.name + "\"");
    lab.description = root.string("description").value_or("");
    lab.domain = asciiLower(root.string("domain", true).value_or(""));
    if (!lab.domain.empty() && !validHostName(lab.domain))
        root.error("domain",
                   "expected a DNS domain such as \"contoso.example\", got \"" + lab.domain + "\"");
    cx.domainOk = validHostName(lab.domain);
}

// Public names: prefixes joined with the domain, or full names (with a dot).
void readNames(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    PublicNames prefixes{"lyncws", "meet", "dialin", "lyncdiscover", "owas"};
    const json* v = root.get("names");
    if (isObject(v, "/names", errors)) {
        ObjectReader r(*v, "/names", errors);
        prefixes.webServices = r.string("webServices").value_or(prefixes.webServices);
        prefixes.meet = r.string("meet").value_or(prefixes.meet);
        prefixes.dialin = r.string("dialin").value_or(prefixes.dialin);
        prefixes.lyncdiscover = r.string("lyncdiscover").value_or(prefixes.lyncdiscover);
        prefixes.owas = r.string("owas").value_or(prefixes.owas);
        r.finish();
    }
    auto join = [&](const std::string& p, const char* key) {
        std::string fqdn = asciiLower(p.find('.') == std::string::npos ? p + "." + lab.domain : p);
        if (cx.domainOk && !validHostName(fqdn))
            errors.push_back(
                {std::string("/names/") + key, "expected a host name, got \"" + p + "\""});
        return fqdn;
    };
    lab.names.webServices = join(prefixes.webServices, "webServices");
    lab.names.meet = join(prefixes.meet, "meet");
    lab.names.dialin = join(prefixes.dialin, "dialin");
    lab.names.lyncdiscover = join(prefixes.lyncdiscover, "lyncdiscover");
    lab.names.owas = join(prefixes.owas, "owas");
}

// The proxy certificate: by default one for every public name.
void readCertificate(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    auto& c = lab.certificate;
    c.subject = lab.names.webServices;
    c.san = lab.names.all();
    const json* v = root.get("certificate");
    if (isObject(v, "/certificate", errors)) {
        ObjectReader r(*v, "/certificate", errors);
        c.subject = asciiLower(r.string("subject").value_or(c.subject));
        if (r.get("san")) {
            c.san.clear();
            for (auto& s : r.strings("san")) c.san.push_back(asciiLower(s));
            if (c.san.empty()) r.error("san", "expected at least one name");
        }
        c.keyType = r.choice<KeyType>("keyType", {{"ecdsa-p256", KeyType::EcdsaP256},
                                                  {"rsa-2048", KeyType::Rsa2048}})
                        .value_or(c.keyType);
        c.validityDays = r.integer("validityDays", 1, 3650).value_or(c.validityDays);
        c.sendChain = r.boolean("sendChain").value_or(c.sendChain);
        if (auto p = r.string("pemCert")) c.pemCert = std::filesystem::path(*p);
        if (auto p = r.string("pemKey")) c.pemKey = std::filesystem::path(*p);
        if (c.pemCert.has_value() != c.pemKey.has_value())
            r.error(c.pemCert ? "pemKey" : "pemCert", "pemCert and pemKey go together");
        r.finish();
    }
    for (std::size_t i = 0; i < c.san.size() && cx.domainOk; ++i)
        if (!validHostName(c.san[i]))
            errors.push_back({"/certificate/san/" + std::to_string(i),
                              "expected a DNS name, got \"" + c.san[i] + "\""});
    if (c.subject.find('*') != std::string::npos)
        errors.push_back({"/certificate/subject",
                          "a wildcard is allowed in the SAN only, never as the subject, got \"" +
                              c.subject + "\""});
}

// Backends: the servers behind the proxy.
void readBackends(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("backends")) {
        if (!v->is_array()) {
            root.error("backends", "expected an array of backends, got " + describe(*v));
        } else {
            std::set<std::string> names;
            for (std::size_t i = 0; i < v->size(); ++i) {
                const std::string path = "/backends/" + std::to_string(i);
                if (!isObject(&(*v)[i], path, errors)) continue;
                ObjectReader r((*v)[i], path, errors);
                Backend b;
                b.name = r.string("name", true).value_or("");
                if (!b.name.empty() && !names.insert(b.name).second)
                    r.error("name", "another backend is already named \"" + b.name + "\"");
                auto role = r.choice<BackendRole>(
                    "role",
                    {{"lync-frontend", BackendRole::LyncFrontEnd}, {"owas", BackendRole::Owas}});
                if (!role && !r.get("role"))
                    r.error("role", "required, expected lync-frontend or owas");
                b.role = role.value_or(BackendRole::LyncFrontEnd);
                b.host = asciiLower(r.string("host", true).value_or(""));
                if (!b.host.empty() && !validHostName(b.host))
                    r.error("host", "expected a host name, got \"" + b.host + "\"");
                b.port = static_cast<std::uint16_t>(
                    r.integer("port", 1, 65535)
                        .value_or(b.role == BackendRole::Owas ? 443 : kLyncExternalWebPort));
                b.publicNamesInCertificate = r.boolean("publicNamesInCertificate").value_or(true);
                if (r.get("serves")) {
                    for (auto& s : r.strings("serves")) b.serves.push_back(asciiLower(s));
                } else if (b.role == BackendRole::Owas) {
                    b.serves = {lab.names.owas};
                } else {
                    b.serves = {lab.names.webServices, lab.names.meet, lab.names.dialin,
                                lab.names.lyncdiscover};
                }
                if (auto u = r.string("internalUrl")) {
                    if (!Url::parse(*u))
                        r.error("internalUrl", "expected a URL, got \"" + *u + "\"");
                    b.internalUrl = *u;
                }
                b.eventChannelHoldSec = r.number("eventChannelHoldSec", 0.1, 1800)
                                            .value_or(kUcwaEventChannelHold.count());
                if (auto w = r.string("webServices")) {
                    b.webServices =
                        asciiLower(w->find('.') == std::string::npos ? *w + "." + lab.domain : *w);
                    if (!validHostName(b.webServices))
                        r.error("webServices", "expected a host name, got \"" + *w + "\"");
                }
                r.finish();
                lab.backends.push_back(std::move(b));
            }
        }
    }
    // Absent: a real site to check, whose servers edgelab does not simulate.
}

// Applications: the WAP publishing rules.
void readApplications(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("applications")) {
        if (!v->is_array()) {
            root.error("applications", "expected an array of applications, got " + describe(*v));
        } else {
            std::set<std::string> names;
            for (std::size_t i = 0; i < v->size(); ++i) {
                const std::string path = "/applications/" + std::to_string(i);
                if (!isObject(&(*v)[i], path, errors)) continue;
                ObjectReader r((*v)[i], path, errors);
                Application a;
                a.name = r.string("name").value_or("");
                auto ext = readUrl(r, "externalUrl", true);
                auto back = readUrl(r, "backendServerUrl", false);
                // A real site's lab may name an application by its URL alone.
                if (!r.get("name") && ext) a.name = ext->str();
                // WAP names applications with -Name; an empty or repeated
                // name is emitted as such and is ambiguous on the server.
                if (r.get("name") && r.get("name")->is_string() && a.name.empty())
                    r.error("name", "expected a non-empty application name, got \"\"");
                else if (!a.name.empty() && !names.insert(a.name).second)
                    r.error("name", "another application is already named \"" + a.name + "\"");
                if (ext) a.externalUrl = *ext;
                if (back) a.backendServerUrl = *back;
                a.externalPreAuthentication =
                    r.choice<PreAuthentication>(
                         "externalPreAuthentication",
                         {{"PassThrough", PreAuthentication::PassThrough},
                          {"ADFS", PreAuthentication::ADFS},
                          {"ClientCertificate", PreAuthentication::ClientCertificate}})
                        .value_or(PreAuthentication::ADFS);
                a.adfsRelyingPartyName = r.string("adfsRelyingPartyName").value_or("");
                if (r.get("adfsRelyingPartyName") &&
                    a.externalPreAuthentication != PreAuthentication::ADFS)
                    r.error("adfsRelyingPartyName",
                            "given only with externalPreAuthentication \"ADFS\", got \"" +
                                to_string(a.externalPreAuthentication) + "\"");
                a.externalCertificateThumbprint =
                    r.string("externalCertificateThumbprint").value_or("");
                if (!a.externalCertificateThumbprint.empty() &&
                    a.externalCertificateThumbprint != "lab" &&
                    (a.externalCertificateThumbprint.size() != 40 ||
                     !std::all_of(a.externalCertificateThumbprint.begin(),
                                  a.externalCertificateThumbprint.end(), ::isxdigit)))
                    r.error(
                        "externalCertificateThumbprint",
                        "expected 40 hex digits or \"lab\" (the lab's proxy certificate), got \"" +
                            a.externalCertificateThumbprint + "\"");
                if (a.externalCertificateThumbprint == "lab")
                    a.externalCertificateThumbprint.clear();
                a.backendServerCertificateValidation =
                    r.boolean("backendServerCertificateValidation").value_or(true);
                a.disableTranslateUrlInRequestHeaders =
                    r.boolean("disableTranslateUrlInRequestHeaders").value_or(false);
                a.disableTranslateUrlInResponseHeaders =
                    r.boolean("disableTranslateUrlInResponseHeaders").value_or(false);
                a.inactiveTransactionsTimeoutSec =
                    r.integer("inactiveTransactionsTimeoutSec", 1, 86400).value_or(300);
                r.finish();
                if (back && !lab.backends.empty() && !lab.backendFor(back->host))
                    errors.push_back({path + "/backendServerUrl",
                                      "no backend serves \"" + back->host +
                                          "\" (add it to a backend's host or serves)"});
                lab.applications.push_back(std::move(a));
            }
        }
    } else {
        root.error("applications", "required, expected an array of WAP applications");
    }
}

// The IP:port binding for clients without SNI.
void readDefaultBinding(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("defaultBinding"); v && !v->is_null()) {
        if (isObject(v, "/defaultBinding", errors)) {
            ObjectReader r(*v, "/defaultBinding", errors);
            DefaultBinding d;
            d.ipport = r.string("ipport").value_or(d.ipport);
            // An IPv4 address (or 0.0.0.0) and a port: "0.0.0.0:443".
            if (auto e = parseEndpoint(d.ipport); !e)
                r.error("ipport", e.error());
            else if (e->isIpv6())
                r.error("ipport", "expected an IPv4 address such as \"0.0.0.0:443\", got \"" +
                                      d.ipport + "\"");
            if (auto m = r.string("matchHost")) d.matchHost = asciiLower(*m);
            r.finish();
            lab.defaultBinding = d;
        }
    }
}

// Client profiles: a known name or an object describing the client.
void readClients(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("clients")) {
        if (!v->is_array()) {
            root.error("clients", "expected an array of client profiles, got " + describe(*v));
        } else {
            for (std::size_t i = 0; i < v->size(); ++i) {
                const std::string path = "/clients/" + std::to_string(i);
                const json& c = (*v)[i];
                if (c.is_string()) {
                    const auto name = c.get<std::string>();
                    if (name != "browser" && name != "lync-mobile" && name != "activesync")
                        errors.push_back({path,
                                          "expected browser, lync-mobile or activesync (or an "
                                          "object describing the client), got \"" +
                                              name + "\""});
                    lab.clients.push_back(defaultProfile(name, lab.names));
                    continue;
                }
                if (!isObject(&c, path, errors)) continue;
                ObjectReader r(c, path, errors);
                ClientProfile p = defaultProfile(r.string("profile", true).value_or(""), lab.names);
                p.sendsSni = r.boolean("sendsSni").value_or(p.sendsSni);
                auto tls = [&](const char* key, const std::string& dflt) {
                    auto s = r.choice<std::string>(
                        key, {{"1.0", "1.0"}, {"1.1", "1.1"}, {"1.2", "1.2"}, {"1.3", "1.3"}});
                    return s.value_or(dflt);
                };
                const bool minGiven = r.get("minTls") != nullptr;
                p.minTls = tls("minTls", p.minTls);
                p.maxTls = tls("maxTls", p.maxTls);
                // An old client that stops at TLS 1.1 starts lower too.
                if (!minGiven && p.minTls > p.maxTls) p.minTls = "1.0";
                if (p.minTls > p.maxTls)
                    r.error("minTls",
                            "expected at most maxTls (" + p.maxTls + "), got \"" + p.minTls + "\"");
                if (r.get("names")) {
                    p.names.clear();
                    for (auto& n : r.strings("names")) p.names.push_back(asciiLower(n));
                }
                r.finish();
                lab.clients.push_back(std::move(p));
            }
        }
    } else {
        for (const char* n : {"browser", "lync-mobile", "activesync"})
            lab.clients.push_back(defaultProfile(n, lab.names));
    }
}

// Platform: where the servers would run.
void readPlatform(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("platform"); isObject(v, "/platform", errors)) {
        ObjectReader r(*v, "/platform", errors);
        lab.platform.name = r.string("name").value_or(lab.platform.name);
        lab.platform.nics = r.integer("nics", 1, 16).value_or(lab.platform.nics);
        lab.platform.roles = r.strings("roles");
        for (std::size_t i = 0; i < lab.platform.roles.size(); ++i) {
            static const std::set<std::string> roles{"frontend", "edge", "proxy",
                                                     "owas",     "sql",  "adfs"};
            if (!roles.count(lab.platform.roles[i]))
                errors.push_back({"/platform/roles/" + std::to_string(i),
                                  "expected one of adfs, edge, frontend, owas, proxy, sql, got \"" +
                                      lab.platform.roles[i] + "\""});
        }
        r.finish();
    }
}

// The Lync data disk and its databases.
void readDataDisk(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("dataDisk"); isObject(v, "/dataDisk", errors)) {
        ObjectReader r(*v, "/dataDisk", errors);
        DataDisk d;
        d.sizeGB = r.number("sizeGB", 0.001, 65536).value_or(d.sizeGB);
        d.hostCache = r.choice<HostCache>("hostCache", {{"None", HostCache::None},
                                                        {"ReadOnly", HostCache::ReadOnly},
                                                        {"ReadWrite", HostCache::ReadWrite}})
                          .value_or(d.hostCache);
        d.path = r.string("path").value_or(d.path);
        d.logPath = r.string("logPath").value_or(d.path);
        d.dataPath = r.string("dataPath").value_or(d.path);
        for (const auto& [key, value] :
             {std::pair{"path", d.path}, {"logPath", d.logPath}, {"dataPath", d.dataPath}})
            if (r.get(key) && r.get(key)->is_string() && value.empty())
                r.error(key, "expected a folder such as \"F:\\\\CsData\", got \"\"");
        d.installerTimeoutSec = r.integer("installerTimeoutSec", 1, 86400).value_or(600);
        if (const json* dbs = r.get("databases")) {
            if (!dbs->is_array()) {
                r.error("databases", "expected an array of databases, got " + describe(*dbs));
            } else {
                for (std::size_t i = 0; i < dbs->size(); ++i) {
                    const std::string path = "/dataDisk/databases/" + std::to_string(i);
                    if (!isObject(&(*dbs)[i], path, errors)) continue;
                    ObjectReader dr((*dbs)[i], path, errors);
                    Database db;
                    db.name = dr.string("name", true).value_or("");
                    db.dataGB = dr.number("dataGB", 0, 65536).value_or(db.dataGB);
                    db.logGB = dr.number("logGB", 0, 65536).value_or(db.logGB);
                    dr.finish();
                    d.databases.push_back(db);
                }
            }
        } else {
            d.databases = {{"rtcxds", 4, 4}};
        }
        r.finish();
        lab.dataDisk = d;
    }
}

// Expectations: which checks the lab is meant to fail.
void readExpectations(LabContext& cx) {
    Lab& lab = cx.lab;
    std::vector<LabError>& errors = cx.errors;
    ObjectReader& root = cx.root;
    if (const json* v = root.get("expect"); isObject(v, "/expect", errors)) {
        ObjectReader r(*v, "/expect", errors);
        lab.expect.fail = r.strings("fail");
        lab.expect.note = r.string("note").value_or("");
        r.finish();
    }
}

// "UTF-16LE" or "UTF-16BE" when the text is UTF-16 (a byte-order mark, or a
// NUL byte beside each ASCII character, as Windows editors save it).
std::optional<std::string> utf16Encoding(std::string_view text) {
    if (text.size() >= 2) {
        const auto b0 = static_cast<unsigned char>(text[0]);
        const auto b1 = static_cast<unsigned char>(text[1]);
        if (b0 == 0xFF && b1 == 0xFE) return "UTF-16LE";
        if (b0 == 0xFE && b1 == 0xFF) return "UTF-16BE";
        if (b0 != 0 && b1 == 0) return "UTF-16LE";
        if (b0 == 0 && b1 != 0) return "UTF-16BE";
    }
    return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------- parser

Lab parseLab(const json& doc, const std::string& file) {
    std::vector<LabError> errors;
    Lab lab;
    if (!doc.is_object())
        throw LabParseError(file, {{"", "expected a JSON object, got " + describe(doc)}});
    ObjectReader root(doc, "", errors);
    LabContext cx{lab, errors, root};
    readIdentity(cx);
    readNames(cx);
    readCertificate(cx);
    readBackends(cx);
    readApplications(cx);
    readDefaultBinding(cx);
    readClients(cx);
    readPlatform(cx);
    readDataDisk(cx);
    readUsers(cx);
    readProxy(cx);
    readExpectations(cx);
    root.finish();
    if (!errors.empty()) throw LabParseError(file, std::move(errors));
    return lab;
}

Lab parseLabText(std::string_view text, const std::string& file) {
    if (auto encoding = utf16Encoding(text))
        throw LabParseError(file, {{"", "the file is " + *encoding +
                                            "; a lab file is UTF-8 JSON (save it as UTF-8)"}});
    auto doc = readJsonText(text);
    if (!doc) throw LabParseError(file, {{"", doc.error()}});
    // JSON parsers keep the last of two equal keys; a lab with both would
    // silently drop the first, so both are refused.
    std::vector<LabError> duplicates;
    for (auto& path : duplicateKeyPaths(text))
        duplicates.push_back(
            {std::move(path), "duplicate key (a JSON object holds each key once)"});
    if (!duplicates.empty()) throw LabParseError(file, std::move(duplicates));
    return parseLab(*doc, file);
}

void readPasswordFiles(Lab& lab) {
    std::vector<LabError> errors;
    for (std::size_t i = 0; i < lab.users.size(); ++i) {
        auto& u = lab.users[i];
        if (!u.passwordFile) continue;
        if (u.passwordFile->is_relative())
            u.passwordFile = lab.sourceFile.parent_path() / *u.passwordFile;
        const std::string path = "/users/" + std::to_string(i) + "/passwordFile";
        try {
            u.password = readPasswordFile(*u.passwordFile);
        } catch (const std::exception& e) {
            errors.push_back({path, e.what()});
        }
    }
    if (!errors.empty()) throw LabParseError(lab.sourceFile.string(), std::move(errors));
}

std::string readPasswordFile(const std::filesystem::path& file) {
    std::string text = readFile(file);
    // One line, as `echo secret > file` writes it; the newline is not the password's.
    const auto end = text.find_first_of("\r\n");
    std::string password = text.substr(0, end);
    if (password.empty()) throw std::runtime_error(file.string() + ": the file holds no password");
    return password;
}

Lab loadLab(const std::filesystem::path& file) {
    std::string text;
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw LabParseError(file.string(),
                            {{"", "is a directory; expected a lab description (a JSON file)"}});
    // A FIFO would block the read forever, a device would never end.
    if (std::filesystem::exists(file, ec) && !std::filesystem::is_regular_file(file, ec))
        throw LabParseError(file.string(),
                            {{"",
                              "is not a regular file (a FIFO, socket or device); expected a "
                              "lab description (a JSON file)"}});
    try {
        text = readFile(file);
    } catch (const std::exception& e) {
        throw LabParseError(file.string(), {{"", e.what()}});
    }
    Lab lab = parseLabText(text, file.string());
    lab.sourceFile = std::filesystem::absolute(file);
    // Relative PEM paths are relative to the lab file.
    auto& c = lab.certificate;
    if (c.pemCert && c.pemCert->is_relative())
        c.pemCert = lab.sourceFile.parent_path() / *c.pemCert;
    if (c.pemKey && c.pemKey->is_relative()) c.pemKey = lab.sourceFile.parent_path() / *c.pemKey;
    readPasswordFiles(lab);
    return lab;
}

}  // namespace edgelab::provision
