#include "cli/bindings_command.hpp"

#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>

#include "cli/provision_commands.hpp"
#include "cli/running_lab.hpp"
#include "common/exit_code.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::cli {

using namespace edgelab::proxy;

namespace {

struct BindingsOptions {
    std::string store;
    std::string lab;
    std::string workDir;
    std::vector<std::string> words;
    std::string matchHost;
    std::string ipport = "0.0.0.0:443";
};

[[noreturn]] void refuse(const std::string& message, int code = kExitBadInput) {
    std::cerr << "edgelab bindings: " << message << "\n";
    throw CLI::RuntimeError(code);
}

// The store the command works on: --store as given, or the store of the
// running lab that --lab names (found from any directory).
std::string storeOf(const BindingsOptions& o) {
    if (o.store.empty() == o.lab.empty())
        refuse("give the binding store (--store FILE) or a running lab (--lab LAB.json)");
    if (!o.store.empty()) return o.store;
    const auto lab = loadLabOrExit(o.lab, "console", "edgelab bindings");
    const LabLocation where = locateLab(o.lab, lab.name, o.workDir);
    if (!where.workDir)
        refuse("lab " + lab.name + " is not up: " + whereLooked(where) +
                   "; its proxy's binding store exists while it runs (edgelab up " + o.lab + ")",
               kExitLabDown);
    if (!where.alsoRunning.empty())
        refuse("lab " + lab.name + " is up in more than one folder (" + where.workDir->string() +
               ", " + where.alsoRunning.front().string() + "); name one with --work-dir");
    try {
        auto state = runner::readState(*where.workDir);
        if (state) return state->bindingStore;
    } catch (const std::exception& e) {
        refuse(e.what());
    }
    refuse("lab " + lab.name + " is not up: " + whereLooked(where), kExitLabDown);
}

BindingStore load(const std::string& file) {
    try {
        return loadBindingStore(file, MissingStore::Empty);
    } catch (const BindingStoreError& e) {
        refuse(std::string(e.what()) + " (the store was left as it is)");
    }
}

// After a change: the proxy that serves the store has loaded it when this
// returns, or the user is told that no proxy serves it.
void putInForce(const std::string& store) {
    auto lab = labServingStore(store);
    if (!lab) {
        std::cout << "No running lab's proxy serves " << store
                  << ": the change is in the file; a proxy reads it when it starts.\n";
        return;
    }
    try {
        std::cout << reloadAndConfirm(*lab) << "\n";
    } catch (const std::exception& e) {
        refuse(std::string("the change is written but not confirmed in force: ") + e.what(),
               kExitLabDown);
    }
}

// Read, change and write under the store's lock, so concurrent commands
// never lose each other's changes; then in force in the running proxy.
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

void addWhere(CLI::App* cmd, BindingsOptions& o) {
    cmd->add_option("--store", o.store, "Binding store file");
    cmd->add_option("--lab", o.lab,
                    "A running lab's description (JSON): its proxy's store, found from any "
                    "directory");
    cmd->add_option("--work-dir", o.workDir, "With --lab: the running lab's folder");
}

}  // namespace

void addBindingsCommand(CLI::App& app) {
    auto opts = std::make_shared<BindingsOptions>();
    auto* cmd = app.add_subcommand(
        "bindings",
        "Show or change the proxy's TLS binding store, as netsh http ... sslcert. A change to "
        "a running lab's store is in force when the command returns (the proxy is told to "
        "reload and confirms it).");
    cmd->require_subcommand(1);

    auto* show = cmd->add_subcommand("show", "Print the bindings like netsh http show sslcert");
    addWhere(show, *opts);
    show->callback([opts] {
        const std::string store = storeOf(*opts);
        // Showing a store that is not there would print an empty table, as if
        // it held no bindings; a mistyped path must not look like that.
        std::error_code ec;
        if (!std::filesystem::is_regular_file(store, ec))
            refuse("--store " + store + ": no such file");
        std::cout << formatNetshShow(load(store));
    });

    auto* add = cmd->add_subcommand(
        "add",
        "Add a binding: hostnameport=NAME:PORT|ipport=ADDR:PORT certhash=HASH appid={GUID} "
        "[certstorename=MY]");
    addWhere(add, *opts);
    add->add_option("arguments", opts->words, "netsh arguments")->required();
    add->callback([opts] {
        const std::string store = storeOf(*opts);
        const auto args = arguments(opts->words);
        update(store, [&](const BindingStore& s) { return addBinding(s, args); });
        std::cout << "SSL Certificate successfully added\n";
        putInForce(store);
    });

    auto* del =
        cmd->add_subcommand("delete", "Delete a binding: hostnameport=NAME:PORT|ipport=ADDR:PORT");
    addWhere(del, *opts);
    del->add_option("arguments", opts->words, "netsh arguments")->required();
    del->callback([opts] {
        const std::string store = storeOf(*opts);
        const auto args = arguments(opts->words);
        update(store, [&](const BindingStore& s) { return deleteBinding(s, args.key); });
        std::cout << "SSL Certificate successfully deleted\n";
        putInForce(store);
    });

    auto* def = cmd->add_subcommand(
        "set-default",
        "Copy the certificate hash and application id of the binding for a host to an IP:port "
        "(default) binding, as the Set-DefaultCertificate script does");
    addWhere(def, *opts);
    def->add_option("--match-host", opts->matchHost, "Host name of the binding to copy")
        ->required();
    def->add_option("--ipport", opts->ipport, "The default binding's ADDR:PORT")
        ->capture_default_str();
    def->callback([opts] {
        const std::string store = storeOf(*opts);
        auto key = BindingKey::parse(BindingKind::IpPort, opts->ipport);
        if (!key) refuse(key.error());
        const auto u = update(store, [&](const BindingStore& s) {
            return setDefaultBinding(s, opts->matchHost, *key);
        });
        std::cout << "Before:\n" << formatNetshShow(u.before);
        std::cout << "After:\n" << formatNetshShow(*u.change.store);
        putInForce(store);
    });
}

}  // namespace edgelab::cli
