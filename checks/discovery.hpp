// What a Lync client reads on its way in, as pure functions over the answers
// it got: the links of the autodiscover documents ([MS-OCDISCWS]: JSON
// `_links`, XML `Link token=...`, the `redirect`/`Redirect` of a user homed on
// another pool), the token endpoint a 401 names (`WWW-Authenticate:
// MsRtcOAuth href=...`), and whether a URL it would follow stays in the
// published namespace. Shared by gathering (to go on, or to stop before a URL
// it must not follow) and evaluation (to judge); no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace edgelab::checks {

// The links an autodiscover document (root or user resource, JSON or XML)
// hands a client; empty when absent. Token names are matched without case.
struct AutodiscoverLinks {
    std::string redirect;      // JSON _links.redirect, XML Link token="Redirect"
    std::string user;          // JSON _links.user, XML Link token="User"
    std::string oauthUser;     // XML Link token="OAuth"
    std::string applications;  // JSON _links.applications (UCWA)
};
AutodiscoverLinks autodiscoverLinks(const std::string& body);

// The href of the MsRtcOAuth challenge among a 401's WWW-Authenticate values,
// and the grant types it offers (comma-separated, as sent).
struct MsRtcOAuth {
    std::string href;
    std::string grantTypes;
};
std::optional<MsRtcOAuth> msRtcOAuthOf(const std::vector<std::string>& wwwAuthenticate);

// Why a client could not follow `url` from outside: "" when it is https on
// one of the public names on 443, else one phrase naming what is wrong
// ("host lyncfe1.kloud.example is not a published name", "port 4443, not
// 443", "not https", "not a URL").
std::string notPublicReason(const std::string& url, const std::vector<std::string>& publicHosts);

// A link relative to the document it came from, made absolute ("/ucwa/..."
// against https://host/... keeps the scheme and authority).
std::string resolveLink(const std::string& href, const std::string& base);

// `url` with one more query parameter ("a=b") appended.
std::string withQueryParameter(const std::string& url, const std::string& parameter);

// How many redirects a sign-in follows before it gives up, as the Exchange
// autodiscover documents bound theirs (10); Lync's are one or two hops.
inline constexpr int kMaxRedirectHops = 10;

}  // namespace edgelab::checks
