// Every buffer of edgelab-proxy that grows on what a client or a backend
// sends has a bound. Each case here sends up to 8 MiB of one input that
// tries to pass a bound (a line or a field that never ends, fields without
// end, a chunk line that never ends), from the client side or from the
// backend side, and asserts that the proxy's peak resident memory (VmHWM)
// grew by less than kBoundKiB over the connection's life: a stated bound
// per connection, measured, not a time.
#include <gtest/gtest.h>

#include <csignal>

#include "proxy_fixture.hpp"

namespace edgelab::proxy {
namespace {

using namespace edgelab::proxy::test;

// What one connection may add to the proxy's peak resident memory: the
// header limits (16 KiB from a client, 64 KiB from a backend), TLS records
// and buffers, with room for the allocator's own rounding; an unbounded
// buffer passes it after the first 2 MiB of the 8 sent.
constexpr long kBoundKiB = 2048;
constexpr std::size_t kSent = 8u * 1024 * 1024;

struct MemoryCase {
    const char* name;
    std::string start;   // what is sent first
    std::string repeat;  // then sent again and again, up to kSent bytes
    std::string target;  // or, from the backend side: the request's target
};

void PrintTo(const MemoryCase& c, std::ostream* os) { *os << c.name; }

std::string host() { return name("lyncws"); }
std::string fields(const std::string& requestLine, const std::string& more = "") {
    return requestLine + "\r\nHost: " + host() + "\r\n" + more;
}
std::string chunkedPost() {
    return fields("POST /upload HTTP/1.1", "Transfer-Encoding: chunked\r\n\r\n");
}

std::vector<MemoryCase> cases() {
    return {
        {"RequestLine", "GET /", "a"},
        {"HeaderField", fields("GET / HTTP/1.1", "X-Endless: "), "v"},
        {"FieldsWithoutEnd", fields("GET / HTTP/1.1"), "X-Field: value\r\n"},
        {"ChunkExtension", chunkedPost() + "5;ext=", "e"},
        {"ChunkSizeLeadingZeros", chunkedPost(), "0"},
        {"Trailer", chunkedPost() + "0\r\nX-Trailer: ", "t"},
        {"BackendHeaderField", "", "", "/endless-header"},
        {"BackendChunkExtension", "", "", "/endless-chunk-line"},
        {"BackendTrailer", "", "", "/endless-trailer"},
    };
}

class ProxyMemory : public ProxyEndToEnd, public ::testing::WithParamInterface<MemoryCase> {};

TEST_P(ProxyMemory, OneConnectionStaysUnderTheBound) {
    if (proxyIsChosen())
        GTEST_SKIP() << "measures the proxy's memory: not under " << proxyProgram();
    // The proxy may close while this client still writes: EPIPE, not SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    const MemoryCase& c = GetParam();
    startProxy();
    const pid_t pid = proxy->child.id();
    // Requests on both workers warm them (TLS contexts, pools, a large-ish
    // answer) before the peak is read.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(roundTrip(host(), get(host(), "/headers")));
    const long before = procStatusKiB(pid, "VmHWM");
    ASSERT_GT(before, 0);

    auto conn = client(host());
    ASSERT_TRUE(conn->connected);
    std::string received;
    if (c.target.empty()) {
        ASSERT_TRUE(conn->send(c.start));
        std::string piece;
        while (piece.size() < 64 * 1024) piece += c.repeat;
        std::size_t sent = 0;
        while (sent < kSent && conn->send(piece)) sent += piece.size();
        auto res = conn->readResponse();
        ASSERT_TRUE(res) << "no answer after " << sent << " bytes";
        EXPECT_GE(res->result_int(), 400) << res->result_int();
        EXPECT_LT(res->result_int(), 500) << res->result_int();
    } else {
        ASSERT_TRUE(conn->send(get(host(), c.target)));
        // The proxy refuses the response: its own 502 if nothing was sent
        // yet, else a connection that ends before the body is whole.
        for (std::string piece; !(piece = conn->readSome()).empty();) received += piece;
        if (c.target == "/endless-header") {
            EXPECT_NE(received.find(" 502 "), std::string::npos) << received.substr(0, 200);
        } else {
            EXPECT_EQ(received.find("0\r\n\r\n"), std::string::npos) << "presented as whole";
        }
    }
    const long after = procStatusKiB(pid, "VmHWM");
    EXPECT_LT(after - before, kBoundKiB) << "peak " << before << " -> " << after << " KiB";
    RecordProperty("peakGrowthKiB", std::to_string(after - before));
    // The proxy is still there for the next client.
    auto next = roundTrip(host(), get(host(), "/after"));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->result_int(), 200);
}

INSTANTIATE_TEST_SUITE_P(Inputs, ProxyMemory, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace edgelab::proxy
