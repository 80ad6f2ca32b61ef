// libFuzzer target: the proxy's request and response handling as the session
// runs it, minus the sockets. The input is a client's bytes, then a NUL, then
// a backend's bytes: the request head goes through the early refusal, Beast's
// parser, validation, routing, translation and hop-by-hop stripping, its body
// through Beast's parser as the relay reads it; the response head through the
// parser, translation, framing and the NTLM pinning policy.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/publishing.hpp"

namespace {

using namespace edgelab::proxy;

const std::vector<PublishingRule>& rules() {
    static const std::vector<PublishingRule> r = [] {
        PublishingRule ws;
        ws.name = "lyncws";
        ws.externalUrl = *edgelab::Url::parse("https://lyncws.contoso.com/");
        ws.backendServerUrl = *edgelab::Url::parse("https://lyncfe1.contoso.local:4443/");
        PublishingRule owas = ws;
        owas.name = "owas";
        owas.externalUrl = *edgelab::Url::parse("https://owas.contoso.com/hosting/");
        owas.backendServerUrl = *edgelab::Url::parse("https://owas.contoso.local/hosting/");
        return std::vector<PublishingRule>{ws, owas};
    }();
    return r;
}

void readBody(http::request_parser<http::buffer_body>& parser, std::string_view rest) {
    char piece[512];
    boost::beast::error_code ec;
    while (!rest.empty() && !parser.is_done()) {
        parser.get().body().data = piece;
        parser.get().body().size = sizeof piece;
        const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec || used == 0) return;
        rest.remove_prefix(used);
    }
}

void handleResponse(std::string_view bytes, const http::request_header<>& req, bool keepAlive,
                    bool head) {
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head) parser.skip(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (!parser.is_header_done()) return;
    auto& res = parser.get();
    pinsBackendConnection(req, res);
    translateResponseHeaders(res, rules()[0], rules());
    decideResponseFraming({req.version(), keepAlive, true, parser.chunked(),
                           parser.content_length().has_value(), head,
                           static_cast<int>(res.result_int())});
    stripHopByHop(res, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nul = input.find('\0');
    const std::string_view client = input.substr(0, nul);
    const std::string_view backend =
        nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
    if (refuseEarly(client)) return 0;
    const auto end = findHeaderBlockEnd(client);
    if (!end || *end > 16 * 1024) return 0;
    http::request_parser<http::buffer_body> parser;
    parser.eager(false);
    parser.header_limit(16 * 1024 + 4);
    parser.body_limit(1024 * 1024);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(client.data(), *end), ec);
    if (ec || !parser.is_header_done()) return 0;
    auto& req = parser.get();
    if (validateRequest(req, client.substr(0, *end))) return 0;
    if (auto origin = originFormOf(toStd(req.target()))) req.target(*origin);
    const auto route = routeRequest(rules(), toStd(req[http::field::host]), toStd(req.target()),
                                    443, {"lyncws.contoso.com", "*.contoso.com"});
    const bool head = req.method() == http::verb::head;
    isIdempotent(req.method());
    if (route.outcome == RouteOutcome::Routed) {
        translateRequestHeaders(req, *route.rule, "192.0.2.1");
        stripHopByHop(req, upgradeRequested(req));
    }
    readBody(parser, client.substr(*end));
    handleResponse(backend, req, parser.keep_alive(), head);
    return 0;
}
