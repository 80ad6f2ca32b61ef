#include "cli/backend_program.hpp"

#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "backends/request_target.hpp"
#include "backends/server.hpp"
#include "common/endpoint.hpp"
#include "common/exit_code.hpp"
#include "common/lync_wap.hpp"

namespace edgelab::cli {

using namespace edgelab::backends;

namespace {

struct BadInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool plainHostName(const std::string& name) {
    if (name.empty() || name.size() > 253) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    return true;
}

std::string openSslReason() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "not in PEM format";
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
}

void requireReadable(const std::string& flag, const std::string& what, const std::string& file) {
    std::ifstream in(file);
    if (!in)
        throw BadInput(flag + ": cannot read " + what + " file " + file + ": " +
                       std::strerror(errno));
}

// The certificate chain (leaf, then the issuing CA) and the key, as given.
// The test users: a JSON file {"users":[{"sipUri","account","password"}]}
// (and "homeWebServices", the user's home pool, when it is another's)
// the runner writes for this process alone. Passwords never travel in argv;
// errors name the file and the JSON path, never a value.
std::vector<SiteUser> loadUsers(const std::string& file) {
    requireReadable("--users-file", "users", file);
    std::ifstream in(file);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc["users"].is_array())
        throw BadInput("--users-file: " + file + ": expected {\"users\": [...]}");
    std::vector<SiteUser> users;
    for (std::size_t i = 0; i < doc["users"].size(); ++i) {
        const auto& u = doc["users"][i];
        for (const char* key : {"sipUri", "account", "password"})
            if (!u.is_object() || !u.contains(key) || !u[key].is_string())
                throw BadInput("--users-file: " + file + ": /users/" + std::to_string(i) + "/" +
                               key + ": expected a string");
        if (u.contains("homeWebServices") && !u["homeWebServices"].is_string())
            throw BadInput("--users-file: " + file + ": /users/" + std::to_string(i) +
                           "/homeWebServices: expected a string");
        users.push_back({u["sipUri"].get<std::string>(), u["account"].get<std::string>(),
                         u["password"].get<std::string>(),
                         asciiLower(u.value("homeWebServices", std::string()))});
    }
    return users;
}

// A key of this process's own for the tickets and tokens it issues: they
// are valid on this front end only, as a real pool's are within the pool.
std::string freshTokenKey() {
    unsigned char key[32];
    if (RAND_bytes(key, sizeof key) != 1)
        throw std::runtime_error("no randomness for the token key");
    return std::string(reinterpret_cast<const char*>(key), sizeof key);
}

void loadCertificate(ssl::context& tls, const std::string& cert, const std::string& key) {
    requireReadable("--cert", "certificate", cert);
    requireReadable("--key", "private key", key);
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(tls.native_handle(), cert.c_str()) != 1)
        throw BadInput("--cert: " + cert + " holds no usable PEM certificate: " + openSslReason());
    if (SSL_CTX_use_PrivateKey_file(tls.native_handle(), key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw BadInput("--key: " + key + " holds no usable PEM private key: " + openSslReason());
    if (SSL_CTX_check_private_key(tls.native_handle()) != 1)
        throw BadInput("--key: " + key + " does not match the certificate in " + cert);
}

// One TLS 1.3 session ticket per handshake, not OpenSSL's two: each ticket
// costs this server a session encoded, encrypted and MACed, and the client
// (the proxy) one more to read and keep, while a client resumes with one.
void oneTicketPerHandshake(SSL_CTX* ctx) { SSL_CTX_set_num_tickets(ctx, 1); }

// The command line as given; checked when the server is built from it.
struct BackendArgs {
    std::string role, listen, cert, key, serverFqdn, domain, webServices, meet, dialin,
        lyncdiscover, owas, owasInternalUrl, accessLog, control, usersFile;
    double eventHoldSec = kUcwaEventChannelHold.count();
    int threads = 2;
};

void addBackendOptions(CLI::App& app, BackendArgs& a) {
    app.set_help_flag("-h,--help", "Print this help and exit");
    app.add_option("--role", a.role, "lync-frontend or owas")
        ->required()
        ->check(CLI::IsMember({"lync-frontend", "owas"}));
    app.add_option("--listen", a.listen, "ADDR:PORT to listen on with TLS (port 0 = any)")
        ->required();
    app.add_option("--cert", a.cert, "PEM certificate (leaf, then its chain)")->required();
    app.add_option("--key", a.key, "PEM private key")->required();
    app.add_option("--server-fqdn", a.serverFqdn, "the server's own FQDN")->required();
    app.add_option("--domain", a.domain, "the SIP domain")->required();
    app.add_option("--web-services", a.webServices, "external web services FQDN (lyncws.DOMAIN)");
    app.add_option("--meet", a.meet, "meet simple URL FQDN (meet.DOMAIN)");
    app.add_option("--dialin", a.dialin, "dial-in simple URL FQDN (dialin.DOMAIN)");
    app.add_option("--lyncdiscover", a.lyncdiscover, "lyncdiscover FQDN (lyncdiscover.DOMAIN)");
    app.add_option("--owas", a.owas, "Office Web Apps FQDN (owas.DOMAIN)");
    app.add_option("--owas-internal-url", a.owasInternalUrl, "the OWAS farm InternalURL");
    app.add_option("--event-hold-sec", a.eventHoldSec,
                   "seconds the UCWA event channel is held (default " +
                       std::to_string(kUcwaEventChannelHold.count()) + "; fractions allowed)")
        ->check(CLI::Range(0.0, 86400.0));
    app.add_option("--users-file", a.usersFile,
                   "JSON file with the test users who can sign in (lync-frontend)");
    app.add_option("--access-log", a.accessLog, "append one JSON line per answered request");
    app.add_option("--control", a.control, "ADDR:PORT of the plain-HTTP fault control listener");
    app.add_option("--threads", a.threads, "I/O threads (default 2)")->check(CLI::Range(1, 64));
}

// The names and users the simulator answers for; throws BadInput naming
// the flag.
SiteConfig siteOf(const BackendArgs& a) {
    SiteConfig site;
    site.domain = asciiLower(a.domain);
    site.serverFqdn = asciiLower(a.serverFqdn);
    auto orDefault = [&](const std::string& given, const char* prefix) {
        return given.empty() ? prefix + site.domain : asciiLower(given);
    };
    site.webServices = orDefault(a.webServices, "lyncws.");
    site.meet = orDefault(a.meet, "meet.");
    site.dialin = orDefault(a.dialin, "dialin.");
    site.lyncdiscover = orDefault(a.lyncdiscover, "lyncdiscover.");
    site.owas = orDefault(a.owas, "owas.");
    site.owasInternalUrl = a.owasInternalUrl;
    site.eventHold = std::chrono::milliseconds(std::llround(a.eventHoldSec * 1000));
    const std::pair<const char*, const std::string*> names[] = {
        {"--domain", &site.domain},
        {"--server-fqdn", &site.serverFqdn},
        {"--web-services", &site.webServices},
        {"--meet", &site.meet},
        {"--dialin", &site.dialin},
        {"--lyncdiscover", &site.lyncdiscover},
        {"--owas", &site.owas}};
    for (const auto& [flag, value] : names)
        if (!plainHostName(*value))
            throw BadInput(std::string(flag) + ": expected a DNS name, got \"" + *value + "\"");
    if (!a.owasInternalUrl.empty() && !istartsWith(a.owasInternalUrl, "https://") &&
        !istartsWith(a.owasInternalUrl, "http://"))
        throw BadInput("--owas-internal-url: expected an http(s) URL, got \"" + a.owasInternalUrl +
                       "\"");
    if (!a.usersFile.empty()) site.users = loadUsers(a.usersFile);
    site.tokenKey = freshTokenKey();
    return site;
}

// Listens, prints READY (and CONTROL), and serves until SIGINT or SIGTERM.
int serve(ServerOptions options, ssl::context& tls, int threads) {
    asio::io_context ioc{threads};
    std::optional<BackendServer> server;
    try {
        server.emplace(ioc, tls, std::move(options));
    } catch (const ListenError& e) {
        std::cerr << "edgelab-backend: " << e.what() << std::endl;
        return kExitLabDown;
    }
    server->start();

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
    std::signal(SIGPIPE, SIG_IGN);

    std::cout << "READY https://" << endpointText(server->endpoint()) << "\n";
    if (auto c = server->controlEndpoint())
        std::cout << "CONTROL http://" << endpointText(*c) << "\n";
    std::cout.flush();

    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    return kExitOk;
}

}  // namespace

int runBackend(int argc, char** argv) {
    CLI::App app{"edgelab-backend: a Lync 2013 front end or Office Web Apps Server simulator"};
    BackendArgs a;
    addBackendOptions(app, a);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitBadInput;
    }

    try {
        ServerOptions options;
        options.role =
            a.role == "owas" ? provision::BackendRole::Owas : provision::BackendRole::LyncFrontEnd;
        auto endpointOf = [](const char* flag, const std::string& text) {
            const auto e = edgelab::parseEndpoint(text, EndpointHost::Address, PortZero::Any);
            if (!e) throw BadInput(std::string(flag) + " " + e.error());
            return *backends::parseEndpoint(text);
        };
        options.listen = endpointOf("--listen", a.listen);
        if (!a.control.empty()) options.control = endpointOf("--control", a.control);
        options.site = siteOf(a);
        options.accessLog = a.accessLog;

        ssl::context tls{ssl::context::tls_server};
        tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::single_dh_use);
        loadCertificate(tls, a.cert, a.key);
        oneTicketPerHandshake(tls.native_handle());
        return serve(std::move(options), tls, a.threads);
    } catch (const BadInput& e) {
        std::cerr << "edgelab-backend: " << e.what() << std::endl;
        return kExitBadInput;
    } catch (const std::exception& e) {
        // The access log could not be opened: a path given on the command line.
        std::cerr << "edgelab-backend: " << e.what() << std::endl;
        return kExitBadInput;
    }
}

}  // namespace edgelab::cli
