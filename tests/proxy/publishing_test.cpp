#include "proxy/publishing.hpp"

#include <gtest/gtest.h>

namespace edgelab::proxy {
namespace {

PublishingRule rule(std::string name, std::string external, std::string backend) {
    PublishingRule r;
    r.name = std::move(name);
    r.externalUrl = *Url::parse(external);
    r.backendServerUrl = *Url::parse(backend);
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

TEST(EarlyRefusal, BareLineEndsAndNonHttp11RequestLines) {
    EXPECT_TRUE(refuseEarly("GET / HTTP/1.1\nHost: x\n\n"));
    EXPECT_TRUE(refuseEarly("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"));
    EXPECT_TRUE(refuseEarly("GET /\r\n"));              // HTTP/0.9
    EXPECT_TRUE(refuseEarly("GET / HTTP/1.1 x\r\n"));   // not method SP target SP version
    EXPECT_FALSE(refuseEarly("GET / HTTP/1.1\r\nHo"));  // not complete yet: wait
    EXPECT_FALSE(refuseEarly("GET / HT"));
    EXPECT_FALSE(refuseEarly("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\nwith LF"));
    EXPECT_FALSE(refuseEarly("GET / HTTP/1.1\r"));  // the LF may follow
}

http::fields fieldsOf(std::string_view raw) {
    http::request_parser<http::empty_body> p;
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
    return p.release().base();
}

TEST(HopByHop, StrippedWithWhatConnectionLists) {
    auto f = fieldsOf(
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-A, Keep-Alive, upgrade\r\nX-A: 1\r\n"
        "Keep-Alive: 5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: websocket\r\n"
        "Transfer-Encoding: chunked\r\nX-B: 2\r\n\r\n");
    auto upgrading = f;
    stripHopByHop(f, false);
    for (auto name : {"Connection", "X-A", "Keep-Alive", "Proxy-Connection", "TE", "Upgrade",
                      "Transfer-Encoding"}) {
        EXPECT_EQ(f.count(name), 0u) << name;
    }
    EXPECT_EQ(f["X-B"], "2");
    EXPECT_EQ(f["Host"], "x");
    stripHopByHop(upgrading, true);
    EXPECT_EQ(upgrading["Upgrade"], "websocket");
    EXPECT_EQ(upgrading.count("X-A"), 0u);
}

// Two Connection fields: the names both list go, whatever order the fields
// come in, and the rest keep their order.
TEST(HopByHop, EveryConnectionFieldsListCounts) {
    auto f = fieldsOf(
        "GET / HTTP/1.1\r\nConnection: X-A\r\nX-C: 3\r\nHost: x\r\nX-A: 1\r\n"
        "Connection: x-c, close\r\nX-D: 4\r\nX-E: 5\r\n\r\n");
    stripHopByHop(f, false);
    std::string kept;
    for (const auto& field : f) kept += std::string(field.name_string()) + ";";
    EXPECT_EQ(kept, "Host;X-D;X-E;");
}

TEST(Upgrade, OnlyWhenConnectionListsIt) {
    http::request_parser<http::empty_body> p;
    boost::beast::error_code ec;
    const std::string yes =
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n"
        "Upgrade: websocket\r\n\r\n";
    p.put(boost::asio::buffer(yes), ec);
    EXPECT_TRUE(upgradeRequested(p.get()));
    http::request_parser<http::empty_body> q;
    const std::string no = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
    q.put(boost::asio::buffer(no), ec);
    EXPECT_FALSE(upgradeRequested(q.get()));
}

TEST(OriginForm, PathAndQueryByteForByte) {
    EXPECT_EQ(originFormOf("https://lyncws.contoso.com/a/%2F/b?x=%25"), "/a/%2F/b?x=%25");
    EXPECT_EQ(originFormOf("https://lyncws.contoso.com"), "/");
    EXPECT_EQ(originFormOf("https://lyncws.contoso.com:443?q"), "/?q");
    EXPECT_EQ(originFormOf("https://lyncws.contoso.com#frag"), "/");
    EXPECT_FALSE(originFormOf("/already"));
    EXPECT_FALSE(originFormOf("*"));
}

TEST(Retry, OnlyWhenTheBackendCannotHaveActed) {
    FailedExchange getOnStale{.reusedConnection = true, .idempotent = true};
    EXPECT_EQ(afterFailure(getOnStale), AfterFailure::RetryOnNewConnection);
    // A POST written whole and then unanswered may have been acted on.
    FailedExchange postRead{.reusedConnection = true, .idempotent = false};
    EXPECT_EQ(afterFailure(postRead), AfterFailure::BadGateway);
    // A POST whose write failed never reached the backend whole.
    FailedExchange postWrite = postRead;
    postWrite.requestWriteFailed = true;
    EXPECT_EQ(afterFailure(postWrite), AfterFailure::RetryOnNewConnection);
    // ...unless its body can no longer be sent again.
    postWrite.bodyReplayable = false;
    EXPECT_EQ(afterFailure(postWrite), AfterFailure::BadGateway);
    // A new connection that fails says the backend is broken, not stale.
    FailedExchange fresh{.reusedConnection = false, .idempotent = true};
    EXPECT_EQ(afterFailure(fresh), AfterFailure::BadGateway);
    FailedExchange started = getOnStale;
    started.responseStarted = true;
    EXPECT_EQ(afterFailure(started), AfterFailure::BadGateway);
    FailedExchange slow = getOnStale;
    slow.timedOut = true;
    EXPECT_EQ(afterFailure(slow), AfterFailure::GatewayTimeout);
    EXPECT_TRUE(isIdempotent(http::verb::put));
    EXPECT_TRUE(isIdempotent(http::verb::delete_));
    EXPECT_FALSE(isIdempotent(http::verb::post));
    EXPECT_FALSE(isIdempotent(http::verb::patch));
}

TEST(ResponseFraming, KeepAliveOnlyWhenTheEndIsKnown) {
    ResponseFacts f{.contentLength = true};
    EXPECT_TRUE(decideResponseFraming(f).keepClientAlive);
    ResponseFacts closeDelimited{};
    EXPECT_FALSE(decideResponseFraming(closeDelimited).keepClientAlive);
    ResponseFacts head{.headRequest = true};
    EXPECT_TRUE(decideResponseFraming(head).keepClientAlive);
    ResponseFacts unreadBody{.requestBodyDone = false, .contentLength = true};
    EXPECT_FALSE(decideResponseFraming(unreadBody).keepClientAlive);
    ResponseFacts oldClient{.clientVersion = 10, .chunked = true};
    EXPECT_FALSE(decideResponseFraming(oldClient).keepClientAlive);
    EXPECT_EQ(decideResponseFraming(oldClient).version, 11u);
    ResponseFacts oldClientLength{.clientVersion = 10, .contentLength = true};
    EXPECT_EQ(decideResponseFraming(oldClientLength).version, 10u);
}

TEST(ConnectionAffinity, NtlmAndNegotiatePinTheBackendConnection) {
    http::request_header<> req;
    http::response_header<> res;
    res.result(http::status::ok);
    EXPECT_FALSE(pinsBackendConnection(req, res));
    req.set(http::field::authorization, "NTLM TlRMTVNTUAABAAAA");
    EXPECT_TRUE(pinsBackendConnection(req, res));
    req.set(http::field::authorization, "negotiate YIIB");
    EXPECT_TRUE(pinsBackendConnection(req, res));
    req.set(http::field::authorization, "Bearer abc");
    EXPECT_FALSE(pinsBackendConnection(req, res));
    req.erase(http::field::authorization);
    res.result(http::status::unauthorized);
    res.insert(http::field::www_authenticate, "Bearer realm=\"x\", client_id=\"NTLM\"");
    EXPECT_FALSE(pinsBackendConnection(req, res));
    res.insert(http::field::www_authenticate, "Negotiate, NTLM");
    EXPECT_TRUE(pinsBackendConnection(req, res));
    res.result(http::status::ok);  // a challenge only counts on a 401
    EXPECT_FALSE(pinsBackendConnection(req, res));
}

}  // namespace
}  // namespace edgelab::proxy

namespace edgelab::proxy {
namespace {

// What a chunked body's parser still waits on: a bare LF is refused at once
// (Beast would wait for the CRLF), more than the limit is refused, a line
// still arriving waits.
TEST(PendingChunk, BareLineFeedsAndOversizeAreRefusedPartialLinesWait) {
    EXPECT_FALSE(pendingChunkProblem("", 16));
    EXPECT_FALSE(pendingChunkProblem("5", 16));
    EXPECT_FALSE(pendingChunkProblem("\r\n0\r\nX-T: a\r\n", 16));
    EXPECT_FALSE(pendingChunkProblem("0\r", 16));
    EXPECT_EQ(pendingChunkProblem("0\n", 16), http::error::bad_chunk);
    EXPECT_EQ(pendingChunkProblem("0\r\nX-T: a\r\n\n", 16), http::error::bad_chunk);
    EXPECT_EQ(pendingChunkProblem("\n", 16), http::error::bad_chunk);
    EXPECT_FALSE(pendingChunkProblem(std::string(16, 't'), 16));
    EXPECT_EQ(pendingChunkProblem(std::string(17, 't'), 16), http::error::header_limit);
}

}  // namespace
}  // namespace edgelab::proxy
