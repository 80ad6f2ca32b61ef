#include "cli/bindings_command.hpp"

#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>

#include "common/exit_code.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::cli {

using namespace edgelab::proxy;

namespace {

struct BindingsOptions {
    std::string store;
    std::vector<std::string> words;
    std::string matchHost;
    std::string ipport = "0.0.0.0:443";
};

[[noreturn]] void refuse(const std::string& message, int code = kExitBadInput) {
    std::cerr << "edgelab bindings: " << message << "\n";
    throw CLI::RuntimeError(code);
}

BindingStore load(const std::string& file) {
    try {
        return loadBindingStore(file, MissingStore::Empty);
    } catch (const BindingStoreError& e) {
        refuse(std::string(e.what()) + " (the store was left as it is)");
    }
}

// Read, change and write under the store's lock, so concurrent commands
// never lose each other's changes.
StoreUpdate update(const std::string& file,
                   const std::function<StoreChange(const BindingStore&)>& change) {
    StoreUpdate u;
    try {
        u = updateBindingStore(file, change);
    } catch (const BindingStoreError& e) {
        refuse(std::string(e.what()) + " (the store was left as it is)");
    } catch (const std::exception& e) {
        refuse(e.what(), kExitLabDown);
    }
    if (!u.change.store) refuse(u.change.error);
    return u;
}

NetshArguments arguments(const std::vector<std::string>& words) {
    auto parsed = parseNetshArguments(words);
    if (!parsed) refuse(parsed.error());
    return *parsed;
}

}  // namespace

void addBindingsCommand(CLI::App& app) {
    auto opts = std::make_shared<BindingsOptions>();
    auto* cmd = app.add_subcommand(
        "bindings", "Show or change the proxy's TLS binding store, as netsh http ... sslcert");
    cmd->require_subcommand(1);

    auto* show = cmd->add_subcommand("show", "Print the bindings like netsh http show sslcert");
    show->add_option("--store", opts->store, "Binding store file")->required();
    show->callback([opts] {
        // Showing a store that is not there would print an empty table, as if
        // it held no bindings; a mistyped path must not look like that.
        std::error_code ec;
        if (!std::filesystem::is_regular_file(opts->store, ec))
            refuse("--store " + opts->store + ": no such file");
        std::cout << formatNetshShow(load(opts->store));
    });

    auto* add = cmd->add_subcommand(
        "add",
        "Add a binding: hostnameport=NAME:PORT|ipport=ADDR:PORT certhash=HASH appid={GUID} "
        "[certstorename=MY]");
    add->add_option("--store", opts->store, "Binding store file")->required();
    add->add_option("arguments", opts->words, "netsh arguments")->required();
    add->callback([opts] {
        const auto args = arguments(opts->words);
        update(opts->store, [&](const BindingStore& s) { return addBinding(s, args); });
        std::cout << "SSL Certificate successfully added\n";
    });

    auto* del =
        cmd->add_subcommand("delete", "Delete a binding: hostnameport=NAME:PORT|ipport=ADDR:PORT");
    del->add_option("--store", opts->store, "Binding store file")->required();
    del->add_option("arguments", opts->words, "netsh arguments")->required();
    del->callback([opts] {
        const auto args = arguments(opts->words);
        update(opts->store, [&](const BindingStore& s) { return deleteBinding(s, args.key); });
        std::cout << "SSL Certificate successfully deleted\n";
    });

    auto* def = cmd->add_subcommand(
        "set-default",
        "Copy the certificate hash and application id of the binding for a host to an IP:port "
        "(default) binding, as the Set-DefaultCertificate script does");
    def->add_option("--store", opts->store, "Binding store file")->required();
    def->add_option("--match-host", opts->matchHost, "Host name of the binding to copy")
        ->required();
    def->add_option("--ipport", opts->ipport, "The default binding's ADDR:PORT")
        ->capture_default_str();
    def->callback([opts] {
        auto key = BindingKey::parse(BindingKind::IpPort, opts->ipport);
        if (!key) refuse(key.error());
        const auto u = update(opts->store, [&](const BindingStore& s) {
            return setDefaultBinding(s, opts->matchHost, *key);
        });
        std::cout << "Before:\n" << formatNetshShow(u.before);
        std::cout << "After:\n" << formatNetshShow(*u.change.store);
    });
}

}  // namespace edgelab::cli
