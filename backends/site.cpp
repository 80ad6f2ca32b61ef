#include "backends/site.hpp"

#include <vector>

#include <openssl/rand.h>

#include "backends/lync_frontend.hpp"
#include "backends/owas.hpp"
#include "backends/request_target.hpp"
#include "backends/response.hpp"

namespace edgelab::backends {

Response makeResponse(const Request& req, http::status status, std::string_view contentType,
                      std::string body) {
    Response res{status, req.version()};
    res.set(http::field::server, "Microsoft-IIS/8.5");
    res.set("X-Powered-By", "ASP.NET");
    if (!contentType.empty()) res.set(http::field::content_type, std::string(contentType));
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

Response errorPage(const Request& req, http::status status, std::string_view detail) {
    std::string title = std::to_string(static_cast<unsigned>(status)) + " - " +
                        std::string(http::obsolete_reason(status));
    std::string body = "<!DOCTYPE html>\r\n<html><head><title>" + title +
                       "</title></head>\r\n<body><h2>" + title + "</h2>\r\n<p>" +
                       escapeMarkup(detail) + "</p></body></html>\r\n";
    return makeResponse(req, status, "text/html", std::move(body));
}

Response objectMoved(const Request& req, const std::string& location) {
    auto res = makeResponse(req, http::status::found, "text/html; charset=utf-8",
                            "<html><head><title>Object moved</title></head><body>\r\n"
                            "<h2>Object moved to <a href=\"" +
                                escapeMarkup(location) + "\">here</a>.</h2>\r\n</body></html>\r\n");
    res.set(http::field::location, location);
    return res;
}

Response windowsAuthChallenge(const Request& req) {
    auto res =
        errorPage(req, http::status::unauthorized, "Access is denied due to invalid credentials.");
    // IIS offers each enabled Windows authentication provider as its own header.
    res.insert(http::field::www_authenticate, "Negotiate");
    res.insert(http::field::www_authenticate, "NTLM");
    return res;
}

bool isGetOrHead(const Request& req) {
    return req.method() == http::verb::get || req.method() == http::verb::head;
}

std::string roleName(provision::BackendRole role) {
    return role == provision::BackendRole::Owas ? "owas" : "lync-frontend";
}

Reply handle(provision::BackendRole role, const SiteConfig& site, const Request& req) {
    ConnectionAuth fresh;
    return handle(role, site, req, fresh);
}

Reply handle(provision::BackendRole role, const SiteConfig& site, const Request& req,
             ConnectionAuth& connection) {
    Reply reply;
    if (sv(req[http::field::host]).empty()) {
        // HTTP/1.1 requires Host (RFC 9112 section 3.2); HTTP.sys answers 400 without it.
        reply.response =
            errorPage(req, http::status::bad_request, "Bad Request - Invalid Hostname");
    } else if (role == provision::BackendRole::Owas) {
        reply = handleOwas(site, req);
    } else {
        reply = handleLyncFrontEnd(site, req, connection);
    }
    if (req.method() == http::verb::head) {
        // A HEAD answer carries the GET's headers, Content-Length included, and no body.
        auto length = reply.response.body().size();
        reply.response.body().clear();
        reply.response.content_length(length);
    }
    return reply;
}

std::string randomHexId(std::string_view prefix, std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    RAND_bytes(raw.data(), static_cast<int>(raw.size()));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(prefix);
    for (unsigned char b : raw) {
        id.push_back(kHex[b >> 4]);
        id.push_back(kHex[b & 15]);
    }
    return id;
}

}  // namespace edgelab::backends
