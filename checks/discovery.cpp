#include "checks/discovery.hpp"

#include <memory>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <nlohmann/json.hpp>

#include "checks/support.hpp"
#include "common/ascii.hpp"

namespace edgelab::checks {

namespace {

using nlohmann::json;

std::string jsonLink(const json& doc, const char* name) {
    if (!doc.contains("_links") || !doc["_links"].is_object()) return {};
    const json& links = doc["_links"];
    for (const auto& [key, link] : links.items())
        if (iequals(key, name) && link.is_object() && link.contains("href") &&
            link["href"].is_string())
            return link["href"].get<std::string>();
    return {};
}

void xmlLinks(xmlNodePtr node, AutodiscoverLinks& out) {
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE) continue;
        if (xmlStrcmp(node->name, BAD_CAST "Link") == 0) {
            xmlChar* token = xmlGetProp(node, BAD_CAST "token");
            xmlChar* href = xmlGetProp(node, BAD_CAST "href");
            const std::string t = token ? reinterpret_cast<const char*>(token) : "";
            const std::string h = href ? reinterpret_cast<const char*>(href) : "";
            xmlFree(token);
            xmlFree(href);
            if (iequals(t, "Redirect") && out.redirect.empty()) out.redirect = h;
            if (iequals(t, "User") && out.user.empty()) out.user = h;
            if (iequals(t, "OAuth") && out.oauthUser.empty()) out.oauthUser = h;
        }
        xmlLinks(node->children, out);
    }
}

// One auth-param's value in a challenge: a quoted string or a token.
std::optional<std::string> authParam(std::string_view challenge, std::string_view name) {
    for (std::size_t at = 0;
         (at = asciiLower(challenge).find(asciiLower(name), at)) != std::string::npos; ++at) {
        const bool boundary = at == 0 || challenge[at - 1] == ' ' || challenge[at - 1] == ',';
        std::size_t p = at + name.size();
        while (p < challenge.size() && challenge[p] == ' ') ++p;
        if (!boundary || p >= challenge.size() || challenge[p] != '=') continue;
        ++p;
        while (p < challenge.size() && challenge[p] == ' ') ++p;
        std::string value;
        if (p < challenge.size() && challenge[p] == '"') {
            for (++p; p < challenge.size() && challenge[p] != '"'; ++p) {
                if (challenge[p] == '\\' && p + 1 < challenge.size()) ++p;
                value += challenge[p];
            }
        } else {
            while (p < challenge.size() && challenge[p] != ',' && challenge[p] != ' ')
                value += challenge[p++];
        }
        return value;
    }
    return std::nullopt;
}

}  // namespace

AutodiscoverLinks autodiscoverLinks(const std::string& body) {
    AutodiscoverLinks out;
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_object()) {
        out.redirect = jsonLink(doc, "redirect");
        out.user = jsonLink(doc, "user");
        out.applications = jsonLink(doc, "applications");
        return out;
    }
    std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> xml(
        xmlReadMemory(body.data(), static_cast<int>(body.size()), "autodiscover.xml", nullptr,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
        &xmlFreeDoc);
    if (xml) xmlLinks(xmlDocGetRootElement(xml.get()), out);
    return out;
}

std::optional<MsRtcOAuth> msRtcOAuthOf(const std::vector<std::string>& wwwAuthenticate) {
    for (const auto& c : wwwAuthenticate) {
        if (!istartsWith(c, "MsRtcOAuth")) continue;
        MsRtcOAuth o;
        o.href = authParam(c, "href").value_or("");
        o.grantTypes = authParam(c, "grant_type").value_or("");
        return o;
    }
    return std::nullopt;
}

std::string notPublicReason(const std::string& url, const std::vector<std::string>& publicHosts) {
    auto u = support::parseUrl(url);
    if (!u || u->host.empty()) return "not a URL";
    if (u->scheme != "https") return "not https";
    bool published = false;
    for (const auto& h : publicHosts) published = published || iequals(h, u->host);
    if (!published) return "host " + u->host + " is not a published name";
    if (u->port != 443) return "port " + std::to_string(u->port) + ", not 443";
    return {};
}

std::string resolveLink(const std::string& href, const std::string& base) {
    if (href.find("://") != std::string::npos) return href;
    const auto scheme = base.find("://");
    if (scheme == std::string::npos) return href;
    const auto origin = base.find('/', scheme + 3);
    const std::string authority = base.substr(0, origin);
    if (!href.empty() && href.front() == '/') return authority + href;
    const std::string path = origin == std::string::npos ? "/" : base.substr(origin);
    return authority + path.substr(0, path.rfind('/') + 1) + href;
}

std::string withQueryParameter(const std::string& url, const std::string& parameter) {
    const auto fragment = url.find('#');
    const std::string head = url.substr(0, fragment);
    const char joiner = head.find('?') == std::string::npos ? '?' : '&';
    return head + joiner + parameter + (fragment == std::string::npos ? "" : url.substr(fragment));
}

}  // namespace edgelab::checks
