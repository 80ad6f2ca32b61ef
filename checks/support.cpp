#include "checks/support.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <curl/curl.h>

#include "common/endpoint.hpp"

namespace edgelab::checks::support {

std::optional<UrlParts> parseUrl(const std::string& text) {
    CURLU* u = curl_url();
    std::optional<UrlParts> out;
    if (curl_url_set(u, CURLUPART_URL, text.c_str(), 0) == CURLUE_OK) {
        UrlParts p;
        char* v = nullptr;
        if (curl_url_get(u, CURLUPART_SCHEME, &v, 0) == CURLUE_OK)
            p.scheme = asciiLower(v), curl_free(v);
        if (curl_url_get(u, CURLUPART_HOST, &v, 0) == CURLUE_OK)
            p.host = asciiLower(v), curl_free(v);
        if (curl_url_get(u, CURLUPART_PORT, &v, CURLU_DEFAULT_PORT) == CURLUE_OK)
            p.port = parsePort(v).optional().value_or(0), curl_free(v);
        if (curl_url_get(u, CURLUPART_PATH, &v, 0) == CURLUE_OK) p.path = v, curl_free(v);
        out = p;
    }
    curl_url_cleanup(u);
    return out;
}

std::string wholeDays(std::chrono::system_clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::hours>(d).count() / 24);
}

CheckResult result(const CheckDefinition& d, Verdict v, std::string evidence, std::string remedy) {
    CheckResult r;
    r.id = d.id.str();
    r.title = d.title;
    r.ns = d.ns;
    r.verdict = v;
    r.evidence = std::move(evidence);
    if (v == Verdict::Fail || v == Verdict::Warn) r.remedy = std::move(remedy);
    return r;
}

bool isPublic(const provision::Lab& lab, std::string_view host) {
    for (auto& n : publicNames(lab))
        if (iequals(n, host)) return true;
    return false;
}

// The Location of a redirect that leaves the public namespace (another host,
// or a backend port such as 4443), if it does. A relative Location stays on
// the public name the client used.
std::optional<std::string> redirectOutsideNamespace(const provision::Lab& lab,
                                                    const HttpExchange& x) {
    auto loc = x.header("location").value_or("");
    if (loc.empty() || loc.find("://") == std::string::npos) return std::nullopt;
    auto u = parseUrl(loc);
    if (u && isPublic(lab, u->host) && u->port == 443) return std::nullopt;
    return loc;
}

std::string leafSummary(const TlsHandshake& h) {
    if (h.chain.empty()) return "no certificate";
    auto& c = h.chain.front();
    std::string s = "CN=" + c.subjectCn;
    if (!c.dnsNames.empty()) s += " SAN=" + join(c.dnsNames, ",");
    s += " thumbprint " + c.thumbprint;
    return s;
}

std::string outcomeText(const TlsHandshake& h) {
    std::string s = to_string(h.outcome);
    if (!h.detail.empty()) s += " (" + h.detail + ")";
    return s;
}

std::string describeExchange(const HttpExchange& x) {
    if (x.status == 0) return x.url + ": no response (" + x.error + ")";
    std::string s = x.url + " -> " + std::to_string(x.status);
    if (auto loc = x.header("location")) s += " Location: " + *loc;
    return s;
}

const provision::Backend* backendFor(const provision::Lab& lab, std::string_view host) {
    for (auto& b : lab.backends) {
        if (iequals(b.host, host)) return &b;
        for (auto& s : b.serves)
            if (iequals(s, host)) return &b;
    }
    return nullptr;
}
}  // namespace edgelab::checks::support
