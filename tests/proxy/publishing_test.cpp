#include "proxy/publishing.hpp"

#include <gtest/gtest.h>

namespace edgelab::proxy {
namespace {

PublishingRule rule(std::string name, std::string external, std::string backend) {
    PublishingRule r;
    r.name = std::move(name);
    r.externalUrl = *PublishedUrl::parse(external);
    r.backendServerUrl = *PublishedUrl::parse(backend);
    r.externalPreAuthentication = PreAuthentication::PassThrough;
    return r;
}

std::vector<PublishingRule> labRules() {
    return {rule("lyncws", "https://lyncws.contoso.com/", "https://lyncfe1.contoso.local:4443/"),
            rule("owas", "https://owas.contoso.com/", "https://owas.contoso.com/"),
            rule("meet", "https://meet.contoso.com/", "https://lyncfe1.contoso.local:4443/")};
}

const std::vector<std::string> kCertNames{"lyncws.contoso.com", "owas.contoso.com",
                                          "meet.contoso.com"};

TEST(Route, ByHost) {
    auto rules = labRules();
    auto d = routeRequest(rules, "LyncWS.contoso.com", "/ucwa/v1/applications", 443, kCertNames);
    ASSERT_EQ(d.outcome, RouteOutcome::Routed);
    EXPECT_EQ(d.rule->name, "lyncws");
    EXPECT_EQ(routeRequest(rules, "owas.contoso.com:443", "/hosting/discovery", 443, kCertNames)
                  .rule->name,
              "owas");
}

TEST(Route, UnknownHostIs404) {
    auto rules = labRules();
    EXPECT_EQ(routeRequest(rules, "intranet.contoso.com", "/", 443, kCertNames).outcome,
              RouteOutcome::UnknownHost);
    // The published port is part of the external URL.
    EXPECT_EQ(routeRequest(rules, "lyncws.contoso.com:8443", "/", 443, kCertNames).outcome,
              RouteOutcome::UnknownHost);
}

TEST(Route, HostOutsideTheCertificateIs421) {
    auto rules = labRules();
    auto d = routeRequest(rules, "meet.contoso.com", "/", 443, {"lyncws.contoso.com"});
    EXPECT_EQ(d.outcome, RouteOutcome::MisdirectedRequest);
}

TEST(Route, LongestPathPrefixWins) {
    auto rules = labRules();
    rules.push_back(
        rule("abs", "https://lyncws.contoso.com/abs/", "https://abs.contoso.local/abs/"));
    EXPECT_EQ(routeRequest(rules, "lyncws.contoso.com", "/abs/handler", 443, kCertNames).rule->name,
              "abs");
    EXPECT_EQ(routeRequest(rules, "lyncws.contoso.com", "/absent", 443, kCertNames).rule->name,
              "lyncws");
}

TEST(CertificateCovers, WildcardIsOneLabel) {
    EXPECT_TRUE(certificateCovers({"*.contoso.com"}, "meet.contoso.com"));
    EXPECT_FALSE(certificateCovers({"*.contoso.com"}, "a.meet.contoso.com"));
    EXPECT_FALSE(certificateCovers({"*.contoso.com"}, "contoso.com"));
    EXPECT_TRUE(certificateCovers({"Meet.Contoso.com"}, "meet.contoso.com"));
}

TEST(TranslateUrl, BackendRedirectBecomesExternal) {
    auto r = labRules()[0];
    EXPECT_EQ(
        translateUrl("https://lyncfe1.contoso.local:4443/x?y=1", r.backendServerUrl, r.externalUrl),
        "https://lyncws.contoso.com/x?y=1");
    EXPECT_EQ(translateUrl("https://LYNCFE1.contoso.local:4443", r.backendServerUrl, r.externalUrl),
              "https://lyncws.contoso.com/");
    EXPECT_FALSE(translateUrl("https://lyncfe1.contoso.local/x", r.backendServerUrl,
                              r.externalUrl));  // other port
    EXPECT_FALSE(
        translateUrl("http://lyncfe1.contoso.local:4443/x", r.backendServerUrl, r.externalUrl));
    EXPECT_FALSE(translateUrl("/relative", r.backendServerUrl, r.externalUrl));
}

TEST(TranslateSetCookie, DomainOnly) {
    EXPECT_EQ(translateSetCookieDomain("a=b; Path=/; Domain=lyncfe1.contoso.local; Secure",
                                       "lyncfe1.contoso.local", "lyncws.contoso.com"),
              "a=b; Path=/; Domain=lyncws.contoso.com; Secure");
    EXPECT_EQ(translateSetCookieDomain("a=b; domain=.LYNCFE1.contoso.local",
                                       "lyncfe1.contoso.local", "lyncws.contoso.com"),
              "a=b; domain=.lyncws.contoso.com");
    EXPECT_FALSE(translateSetCookieDomain("domain=lyncfe1.contoso.local; Path=/",
                                          "lyncfe1.contoso.local", "x"));  // it is the name
    EXPECT_FALSE(translateSetCookieDomain("a=b; Domain=contoso.local", "lyncfe1.contoso.local",
                                          "lyncws.contoso.com"));
}

TEST(TranslateRequest, HostAndForwardedHeaders) {
    auto rules = labRules();
    http::fields f;
    f.set(http::field::host, "lyncws.contoso.com");
    f.set("X-Forwarded-For", "10.0.0.1");
    translateRequestHeaders(f, rules[0], "127.4.0.9");
    EXPECT_EQ(f[http::field::host], "lyncfe1.contoso.local:4443");
    EXPECT_EQ(f["X-Forwarded-For"], "10.0.0.1, 127.4.0.9");
    EXPECT_EQ(f["X-Forwarded-Proto"], "https");
}

TEST(TranslateRequest, DisabledKeepsHost) {
    auto rules = labRules();
    rules[0].disableTranslateUrlInRequestHeaders = true;
    http::fields f;
    f.set(http::field::host, "lyncws.contoso.com");
    translateRequestHeaders(f, rules[0], "127.4.0.9");
    EXPECT_EQ(f[http::field::host], "lyncws.contoso.com");
    EXPECT_EQ(f["X-Forwarded-For"], "127.4.0.9");
}

TEST(TranslateResponse, LocationContentLocationAndCookies) {
    auto rules = labRules();
    http::fields f;
    f.set(http::field::location, "https://lyncfe1.contoso.local:4443/x");
    f.set(http::field::content_location, "https://lyncfe1.contoso.local:4443/y");
    f.insert(http::field::set_cookie, "a=1; Domain=lyncfe1.contoso.local");
    f.insert(http::field::set_cookie, "b=2; Path=/");
    f.set("X-MS-Server-Fqdn", "lyncfe1.contoso.local");
    translateResponseHeaders(f, rules[0], rules);
    EXPECT_EQ(f[http::field::location], "https://lyncws.contoso.com/x");
    EXPECT_EQ(f[http::field::content_location], "https://lyncws.contoso.com/y");
    std::vector<std::string> cookies;
    for (auto r = f.equal_range(http::field::set_cookie); r.first != r.second; ++r.first) {
        cookies.emplace_back(r.first->value());
    }
    EXPECT_EQ(cookies, (std::vector<std::string>{"a=1; Domain=lyncws.contoso.com", "b=2; Path=/"}));
    // Only the three headers WAP translates.
    EXPECT_EQ(f["X-MS-Server-Fqdn"], "lyncfe1.contoso.local");
}

TEST(TranslateResponse, DisabledLeavesHeaders) {
    auto rules = labRules();
    rules[0].disableTranslateUrlInResponseHeaders = true;
    http::fields f;
    f.set(http::field::location, "https://lyncfe1.contoso.local:4443/x");
    translateResponseHeaders(f, rules[0], rules);
    EXPECT_EQ(f[http::field::location], "https://lyncfe1.contoso.local:4443/x");
}

TEST(Adfs, RedirectNamesTheFederationServiceAndTheRealm) {
    auto rules = labRules();
    auto loc = adfsRedirectLocation("https://adfs.contoso.com/adfs/ls/", rules[0], "/Meet/x");
    EXPECT_TRUE(loc.starts_with("https://adfs.contoso.com/adfs/ls/?wa=wsignin1.0&wtrealm="));
    EXPECT_NE(loc.find("lyncws.contoso.com%2FMeet%2Fx"), std::string::npos);
}

// --- validation: Beast parses, these are the cases it lets through ---

struct Parsed {
    http::request_parser<http::buffer_body> parser;
    boost::beast::error_code ec;
    std::string raw;
};

std::unique_ptr<Parsed> parse(std::string raw) {
    auto p = std::make_unique<Parsed>();
    p->raw = std::move(raw);
    p->parser.eager(false);
    p->parser.put(boost::asio::buffer(p->raw), p->ec);
    return p;
}

std::optional<RequestRefusal> validate(std::string raw) {
    auto p = parse(std::move(raw));
    if (p->ec) return RequestRefusal{http::status::bad_request, p->ec.message()};
    auto end = findHeaderBlockEnd(p->raw);
    return validateRequest(p->parser.get(), std::string_view(p->raw).substr(0, *end));
}

TEST(Validate, PlainRequestPasses) {
    EXPECT_FALSE(validate("GET /a%2Fb/%252F/../c HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_FALSE(validate("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    EXPECT_FALSE(validate("GET https://x/a HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_FALSE(validate("GET / HTTP/1.0\r\n\r\n"));
}

TEST(Validate, Refusals) {
    struct Case {
        const char* raw;
        http::status status;
    };
    const Case cases[] = {
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
         http::status::bad_request},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", http::status::bad_request},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
         http::status::not_implemented},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         http::status::not_implemented},
        {"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", http::status::bad_request},
        {"GET https://other/a HTTP/1.1\r\nHost: x\r\n\r\n", http::status::bad_request},
        {"GET / HTTP/1.1\r\n\r\n", http::status::bad_request},
        {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", http::status::bad_request},
        {"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", http::status::not_implemented},
        // Beast refuses these two itself.
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         http::status::bad_request},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
         http::status::bad_request},
    };
    for (const auto& c : cases) {
        auto r = validate(c.raw);
        ASSERT_TRUE(r) << c.raw;
        EXPECT_EQ(r->status, c.status) << c.raw << " -> " << r->reason;
    }
}

TEST(HeaderBlock, EndsAtTheEmptyLine) {
    EXPECT_EQ(findHeaderBlockEnd("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), 27u);
    EXPECT_FALSE(findHeaderBlockEnd("GET / HTTP/1.1\r\nHost: x\r\n"));
}

}  // namespace
}  // namespace edgelab::proxy
