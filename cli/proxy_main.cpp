// edgelab-proxy: the bundled reverse proxy (proxy/README.md).
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/exit_status.hpp"
#include "common/exit_code.hpp"
#include "proxy/config.hpp"
#include "proxy/server.hpp"

int main(int argc, char** argv) {
    CLI::App app{"edgelab-proxy: TLS reverse proxy with HTTP.sys bindings and WAP publishing"};
    std::string configFile;
    edgelab::proxy::ServerOptions options;
    app.add_option("--config", configFile, "proxy.json (see proxy/README.md)")->required();
    app.add_option("--threads", options.threads, "worker threads (default: the core count)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? edgelab::kExitOk : edgelab::kExitBadInput;
    }
    try {
        const auto config = edgelab::proxy::loadProxyConfig(configFile);
        return edgelab::proxy::runProxy(config, options, std::cout);
    } catch (const std::exception& e) {
        return edgelab::cli::exitOn("edgelab-proxy", e);
    }
}
