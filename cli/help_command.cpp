#include "cli/help_command.hpp"

#include <iostream>
#include <vector>

#include "common/exit_code.hpp"
#include "common/matching.hpp"

namespace edgelab::cli {

namespace {

std::vector<std::string> subcommandNames(CLI::App& app) {
    std::vector<std::string> names;
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
        names.push_back(sub->get_name());
    return names;
}

// The subcommand named by the words from argv[1] on, as deep as they go
// (`bindings set-default`), and how many words named it.
CLI::App* deepest(CLI::App& app, int argc, char** argv, int& used) {
    CLI::App* at = &app;
    used = 0;
    for (int i = 1; i < argc; ++i) {
        CLI::App* next = nullptr;
        try {
            next = at->get_subcommand(argv[i]);
        } catch (const CLI::OptionNotFound&) {
            break;
        }
        at = next;
        used = i;
    }
    return at;
}

int unknownCommand(CLI::App& app, const std::string& word, const std::string& where) {
    std::cerr << where << ": unknown command \"" << word << "\"";
    const std::string near = closestMatch(word, subcommandNames(app));
    if (!near.empty()) std::cerr << " (did you mean \"" << near << "\"?)";
    std::string all;
    for (const auto& n : subcommandNames(app)) all += (all.empty() ? "" : ", ") + n;
    std::cerr << "; commands: " << all << " (edgelab help COMMAND)\n";
    return kExitBadInput;
}

}  // namespace

std::optional<int> helpOrUnknownCommand(CLI::App& app, int argc, char** argv) {
    if (argc < 2 || argv[1][0] == '-') return std::nullopt;
    const std::string first = argv[1];
    if (first == "help") {
        CLI::App* at = &app;
        std::string where = "edgelab";
        for (int i = 2; i < argc; ++i) {
            try {
                at = at->get_subcommand(argv[i]);
            } catch (const CLI::OptionNotFound&) {
                return unknownCommand(*at, argv[i], where + " help");
            }
            where += std::string(" ") + argv[i];
        }
        std::cout << at->help();
        return kExitOk;
    }
    try {
        app.get_subcommand(first);
    } catch (const CLI::OptionNotFound&) {
        return unknownCommand(app, first, "edgelab");
    }
    return std::nullopt;
}

std::string optionSuggestion(CLI::App& app, int argc, char** argv) {
    int used = 0;
    CLI::App* at = deepest(app, argc, argv, used);
    std::vector<std::string> known;
    for (const CLI::Option* o : at->get_options())
        for (const auto& n : o->get_lnames()) known.push_back("--" + n);
    for (int i = used + 1; i < argc; ++i) {
        std::string word = argv[i];
        if (word.rfind("--", 0) != 0) continue;
        word = word.substr(0, word.find('='));
        if (std::find(known.begin(), known.end(), word) != known.end()) continue;
        const std::string near = closestMatch(word, known);
        if (!near.empty()) return word + ": did you mean " + near + "?";
    }
    return "";
}

}  // namespace edgelab::cli
