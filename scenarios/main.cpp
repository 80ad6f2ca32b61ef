// edgelab: one command, each area adding its subcommands.
#include <iostream>

#include <CLI/CLI.hpp>

#include "provision/exit_code.hpp"
#include "scenarios/commands.hpp"

// The other areas' commands join as they are built (CMake defines the
// EDGELAB_WITH_* macros only when the library that implements them exists).
#if defined(EDGELAB_WITH_PROVISION_COMMANDS) && __has_include("provision/commands.hpp")
#include "provision/commands.hpp"
#define EDGELAB_PROVISION_COMMANDS 1
#endif
#if defined(EDGELAB_WITH_BINDINGS_COMMAND) && __has_include("proxy/bindings_command.hpp")
#include "proxy/bindings_command.hpp"
#define EDGELAB_BINDINGS_COMMAND 1
#endif
#if defined(EDGELAB_WITH_CHECK_COMMAND) && __has_include("checks/check_command.hpp")
#include "checks/check_command.hpp"
#define EDGELAB_CHECK_COMMAND 1
#endif
#if defined(EDGELAB_WITH_AUDIT_COMMAND) && __has_include("audit/audit_command.hpp")
#include "audit/audit_command.hpp"
#define EDGELAB_AUDIT_COMMAND 1
#endif

int main(int argc, char** argv) {
    CLI::App app{
        "edgelab: lab provisioning and deployment validation for Lync 2013 / Skype for Business "
        "and Office Web Apps Server published through a reverse proxy (Web Application Proxy "
        "style).\n\n"
        "  edgelab run scenarios/labs/seed-lab.json   provision, deploy, check, report, tear down\n"
        "  edgelab up LAB / status LAB / down LAB     a lab that stays up\n"
        "  edgelab check LAB                          the checks against a running lab or any "
        "deployment\n\n"
        "Exit codes: 0 passed (or matched the lab's expectations), 1 a check failed, 2 bad input "
        "or usage, 3 the lab or target could not be brought up or reached.",
        "edgelab"};
    app.set_version_flag("--version", std::string("edgelab ") + EDGELAB_VERSION);
    app.require_subcommand(1);
    app.fallthrough(false);
    edgelab::scenarios::addRunCommands(app);
#ifdef EDGELAB_PROVISION_COMMANDS
    edgelab::provision::addValidateCommand(app);
    edgelab::provision::addEmitCommand(app);
#endif
#ifdef EDGELAB_BINDINGS_COMMAND
    edgelab::proxy::addBindingsCommand(app);
#endif
#ifdef EDGELAB_CHECK_COMMAND
    edgelab::checks::addCheckCommand(app);
#endif
#ifdef EDGELAB_AUDIT_COMMAND
    edgelab::audit::addAuditCommand(app);
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();  // a subcommand's outcome, already reported
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return edgelab::kExitBadInput;
    } catch (const std::exception& e) {
        std::cerr << "edgelab: " << e.what() << "\n";
        return edgelab::kExitBadInput;
    }
    return edgelab::kExitOk;
}
