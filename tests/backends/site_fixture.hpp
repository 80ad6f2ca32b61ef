// The lab names the handler tests build answers from, and requests to ask.
#pragma once

#include <string>
#include <vector>

#include "backends/site.hpp"

namespace edgelab::backends::fixture {

inline SiteConfig lyncSite() {
    SiteConfig site;
    site.domain = "example.test";
    site.webServices = "lyncws.example.test";
    site.meet = "meet.example.test";
    site.dialin = "dialin.example.test";
    site.lyncdiscover = "lyncdiscover.example.test";
    site.owas = "owas.example.test";
    site.serverFqdn = "lyncfe1.corp.example.test";
    site.listenPort = 4443;
    site.tokenKey = "edgelab-test-token-key";
    site.users = {{"alice@example.test", "EXAMPLE\\alice", "Pa55w.rd", ""}};
    return site;
}

inline SiteConfig owasSite() {
    SiteConfig site = lyncSite();
    site.serverFqdn = "owas1.corp.example.test";
    site.owasInternalUrl = "https://owas1.corp.example.test/";
    site.listenPort = 443;
    return site;
}

inline Request get(std::string host, std::string target) {
    Request req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    return req;
}

inline std::string header(const Response& res, http::field f) { return std::string(res[f]); }
inline std::string header(const Response& res, const char* name) { return std::string(res[name]); }

// Every WWW-Authenticate challenge of an answer, in order.
inline std::vector<std::string> challenges(const Response& res) {
    std::vector<std::string> out;
    for (auto it = res.find(http::field::www_authenticate);
         it != res.end() && it->name() == http::field::www_authenticate; ++it)
        out.emplace_back(it->value());
    return out;
}

}  // namespace edgelab::backends::fixture
