#include "proxy/local_reply.hpp"

#include "common/markup.hpp"

namespace edgelab::proxy {

std::string errorPage(unsigned code, std::string_view title, const std::string& textHtml) {
    const std::string heading = std::to_string(code) + " " + std::string(title);
    return "<!DOCTYPE html><html><head><title>" + heading + "</title></head><body><h1>" + heading +
           "</h1><p>" + textHtml + "</p><p>edgelab-proxy</p></body></html>\n";
}

std::string backendFailurePage(const PublishingRule& rule, http::status status,
                               const std::string& why) {
    const unsigned code = static_cast<unsigned>(status);
    const std::string what = status == http::status::gateway_timeout
                                 ? "did not answer within " +
                                       std::to_string(rule.inactiveTransactionsTimeoutSec) +
                                       " s (inactiveTransactionsTimeoutSec)."
                                 : "could not be reached: " + escapeMarkup(why) + ".";
    return errorPage(code, toStd(http::obsolete_reason(status)),
                     "The backend of application <b>" + escapeMarkup(rule.name) + "</b> (" +
                         escapeMarkup(rule.backendServerUrl.hostHeader()) + ") " + what);
}

http::response<http::string_body> localReply(http::status status, std::string body,
                                             unsigned version, bool keepAlive,
                                             const std::string& location) {
    http::response<http::string_body> res;
    res.result(status);
    res.version(version == 10 ? 10 : 11);
    res.set(http::field::server, "edgelab-proxy");
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    if (!location.empty()) res.set(http::field::location, location);
    res.body() = std::move(body);
    res.keep_alive(keepAlive);
    res.prepare_payload();
    return res;
}

}  // namespace edgelab::proxy
