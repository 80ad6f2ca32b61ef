// edgelab: one command; every subcommand is registered here.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/audit_command.hpp"
#include "cli/bindings_command.hpp"
#include "cli/check_command.hpp"
#include "cli/diff_command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help_command.hpp"
#include "cli/lab_commands.hpp"
#include "cli/provision_commands.hpp"
#include "cli/watch_command.hpp"
#include "common/exit_code.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "edgelab: lab provisioning and deployment validation for Lync 2013 / Skype for Business "
        "and Office Web Apps Server published through a reverse proxy (Web Application Proxy "
        "style).\n\n"
        "  edgelab run scenarios/labs/seed-lab.json   provision, deploy, check, report, tear down\n"
        "  edgelab up LAB / status LAB / down LAB     a lab that stays up\n"
        "  edgelab check LAB                          the checks against a running lab or any "
        "deployment\n"
        "  edgelab diff BASE.json NEW.json            what changed between two runs\n"
        "  edgelab watch LAB --every 60s              the checks on a schedule, for Prometheus\n"
        "  edgelab help [COMMAND]                     a command's options\n\n"
        "Exit codes: 0 passed (or matched the lab's expectations), 1 a check failed, 2 bad input "
        "or usage, 3 the lab or target could not be brought up or reached.",
        "edgelab"};
    app.set_version_flag("--version", std::string("edgelab ") + EDGELAB_VERSION);
    app.require_subcommand(1);
    app.fallthrough(false);
    edgelab::cli::addRunCommands(app);
    edgelab::cli::addValidateCommand(app);
    edgelab::cli::addEmitCommand(app);
    edgelab::cli::addBindingsCommand(app);
    edgelab::cli::addCheckCommand(app);
    edgelab::cli::addAuditCommand(app);
    edgelab::cli::addDiffCommand(app);
    edgelab::cli::addWatchCommand(app);
    if (auto handled = edgelab::cli::helpOrUnknownCommand(app, argc, argv)) return *handled;
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
        if (auto hint = edgelab::cli::optionSuggestion(app, argc, argv); !hint.empty())
            std::cerr << hint << "\n";
        return edgelab::kExitBadInput;
    } catch (const std::exception& e) {
        return edgelab::cli::exitOn("edgelab", e);
    }
    return edgelab::kExitOk;
}
