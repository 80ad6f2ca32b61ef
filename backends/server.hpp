// The backend simulator's server: TLS with Beast, one session per connection
// in Beast's do_read/on_read style, the role's pure handler for policy, an
// access log, and faults on demand from a plain-HTTP control listener that
// only listens where it is told (loopback).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "backends/site.hpp"
#include "common/parsed.hpp"
#include "net/asio.hpp"

namespace edgelab::backends {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

// What the control listener can make the backend do to its clients.
enum class FaultMode {
    None,   // serve normally
    Slow,   // wait delayMs before each response
    Reset,  // reset every connection (TCP RST) as soon as it is accepted
    Stop,   // close the TLS listener: new connections are refused
};

struct Fault {
    FaultMode mode = FaultMode::None;
    std::chrono::milliseconds delay{0};
};

std::string to_string(FaultMode mode);

// Parses the control body {"mode":"none|slow|reset|stop","delayMs":N}; the
// failure names the JSON path.
Parsed<Fault> parseFault(std::string_view body);

// "127.0.0.1:4443", "[::1]:0" (edgelab::parseEndpoint, port 0 allowed);
// nullopt when not an address and a port.
std::optional<tcp::endpoint> parseEndpoint(std::string_view text);
// The inverse, with brackets around IPv6 addresses.
std::string endpointText(const tcp::endpoint& ep);

struct ServerOptions {
    provision::BackendRole role = provision::BackendRole::LyncFrontEnd;
    SiteConfig site;  // site.listenPort is set from the bound port
    tcp::endpoint listen;
    std::optional<tcp::endpoint> control;
    std::filesystem::path accessLog;       // empty: no access log
    std::chrono::seconds idleTimeout{60};  // between requests on a kept-alive connection
    std::size_t headerLimit = 16 * 1024;   // IIS's default maxRequestHeaders is 16 KiB
    std::size_t bodyLimit = 1024 * 1024;
};

// An address that cannot be bound (in use, not local, no permission).
struct ListenError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class BackendServer {
  public:
    // Binds both listeners. Throws ListenError when an address cannot be
    // bound and std::runtime_error when the access log cannot be opened.
    BackendServer(asio::io_context& ioc, ssl::context& tls, ServerOptions options);
    ~BackendServer();
    BackendServer(const BackendServer&) = delete;
    BackendServer& operator=(const BackendServer&) = delete;

    void start();
    tcp::endpoint endpoint() const;                        // the TLS listener, bound port
    std::optional<tcp::endpoint> controlEndpoint() const;  // the control listener

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace edgelab::backends
