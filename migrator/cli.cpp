// Parses the chatledger-migrate command line with Boost.Program_options and dispatches.
// Turns every chatledger::error into one stderr line and its exit status.
#include "migrator/cli.hpp"

#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <ostream>

#include "chatledger/version.hpp"
#include "config/command_line.hpp"
#include "config/error.hpp"
#include "config/logging.hpp"
#include "config/target.hpp"
#include "migrator/commands.hpp"

namespace chatledger::migrator {

namespace po = boost::program_options;

namespace {

constexpr const char* usage_text =
    "usage: chatledger-migrate [--config FILE] [options] COMMAND\n"
    "\n"
    "commands and the options each takes:\n"
    "  schema   create or upgrade the ledger schema and the capture trigger\n"
    "           [--dry-run: print the SQL, change nothing]\n"
    "  plan     dry run: counts of rows, messages, empty and unparseable values; writes nothing\n"
    "           [--report FILE]\n"
    "  run      migrate every legacy row; resumable, re-runnable, safe with live writers\n"
    "           [--report FILE]\n"
    "  verify   exit 0 iff every legacy message is in the ledger, else list differences, exit 1\n"
    "           [--sample N] [--report FILE]\n"
    "  recover  append messages found in the backup table but missing from the ledger\n"
    "  status   schema version, ledger size, sync queue depth and age\n"
    "           [--json]\n"
    "  history ZOHO_ID\n"
    "           one conversation's timeline: each message's source, when the ledger got it,\n"
    "           the legacy writes that dropped it and when it was put back; writes nothing\n"
    "           [--json]\n"
    "an option a command does not take is an error (exit 2), never ignored\n"
    "\n";

/// One command: its entry point and the command-specific options it takes.
struct command_spec {
    const char* name;
    int (*run)(const command_context&);
    std::vector<std::string> options;
    const char* instead;     ///< what to do instead of --dry-run; nullptr for schema, which has one
    bool prints_target;      ///< its text output opens with the "target:" line
    bool takes_key = false;  ///< a conversation's key follows the command
};

const std::vector<command_spec>& commands() {
    static const std::vector<command_spec> table = {
        {"schema", schema_command, {"dry-run"}, nullptr, false},
        {"plan", plan_command, {"report"}, "plan writes nothing already", true},
        {"run", run_command, {"report"}, "plan is the dry run of run", true},
        {"verify", verify_command, {"sample", "report"}, "verify writes nothing", false},
        {"recover",
         recover_command,
         {},
         "recover has no dry run; it only appends what the backup table holds and the "
         "ledger lacks, and re-running it adds nothing",
         false},
        {"status", status_command, {"json"}, "status writes nothing", true},
        {"history", history_command, {"json"}, "history writes nothing", true, true},
    };
    return table;
}

/// Options that only some commands take; the rest (--config, --log-level) apply to all.
const std::vector<std::string>& command_options() {
    static const std::vector<std::string> all = {"dry-run", "json", "sample", "report"};
    return all;
}

const command_spec& find_command(const std::string& name) {
    for (const auto& c : commands())
        if (name == c.name)
            return c;
    throw usage_error("unknown command \"" + name + "\"",
                      "run chatledger-migrate --help for the list of commands");
}

/// Refuses every given option the command does not take: an ignored --dry-run once did the
/// real thing.
void check_options(const command_spec& cmd, const po::variables_map& vm) {
    for (const auto& opt : command_options()) {
        if (!vm.count(opt))
            continue;
        bool takes = false;
        for (const auto& o : cmd.options) takes = takes || o == opt;
        if (takes)
            continue;
        std::string list;
        for (const auto& o : cmd.options) list += (list.empty() ? "--" : ", --") + o;
        std::string hint = opt == "dry-run" && cmd.instead ? std::string(cmd.instead) + "; " : "";
        hint += list.empty() ? cmd.name + std::string(" takes no options of its own")
                             : cmd.name + std::string(" takes ") + list;
        throw usage_error(std::string(cmd.name) + " does not take --" + opt + "; nothing was done",
                          hint + "; see chatledger-migrate --help");
    }
}

/// The options --help shows; option_names() lists the same, so the reference follows the parser.
po::options_description visible_options() {
    po::options_description opts("options");
    opts.add_options()("config,c", po::value<std::string>(),
                       "YAML configuration file (default: built-in defaults)")(
        "log-level", po::value<std::string>(), "override logging.level (trace ... off)")(
        "dry-run", "schema: print the SQL that would run and change nothing")(
        "json", "status, history: print one JSON object")(
        "sample", po::value<int>(), "verify: check only N random conversations")(
        "report", po::value<std::string>(),
        "plan, run, verify: also write the summary counts as JSON to FILE")(
        "help,h", "print this help")("version", "print the version");
    return opts;
}

}  // namespace

std::vector<std::string> option_names() {
    return long_names(visible_options());
}

std::vector<std::pair<std::string, std::vector<std::string>>> command_option_table() {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    for (const auto& c : commands()) out.emplace_back(c.name, c.options);
    return out;
}

int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err) {
    const po::options_description opts = visible_options();
    try {
        const auto vm = parse_command_line(argc, argv, opts, "command", "chatledger-migrate");
        if (vm.count("help")) {
            out << usage_text << opts;
            return 0;
        }
        if (vm.count("version")) {
            out << "chatledger-migrate " << chatledger::version << "\n";
            return 0;
        }
        auto words = vm.count("command") ? vm["command"].as<std::vector<std::string>>()
                                         : std::vector<std::string>{};
        if (words.empty())
            throw usage_error("no command given",
                              "run chatledger-migrate --help for the list of commands");
        const command_spec& cmd = find_command(words.front());
        if (cmd.takes_key && words.size() < 2)
            throw usage_error(std::string(cmd.name) + " needs the conversation's key",
                              "run chatledger-migrate history ZOHO_ID");
        const size_t expected = cmd.takes_key ? 2 : 1;
        if (words.size() > expected)
            throw usage_error("unexpected argument \"" + words[expected] + "\" after " +
                                  (cmd.takes_key ? std::string("the key")
                                                 : "the command " + std::string(cmd.name)),
                              cmd.takes_key
                                  ? "give one key; run chatledger-migrate --help"
                                  : "give exactly one command; run chatledger-migrate --help");
        // Checked before the config is read or the database is reached, so a refused option
        // never leaves anything half done.
        check_options(cmd, vm);

        config cfg = vm.count("config") ? load_config(vm["config"].as<std::string>()) : config{};
        if (vm.count("log-level"))
            cfg.logging.level = vm["log-level"].as<std::string>();
        setup_logging(cfg.logging, "chatledger-migrate");
        spdlog::info("{}", start_line("chatledger-migrate", cmd.name, cfg));
        if (auto warning = permission_warning(cfg))
            spdlog::warn("{}", *warning);

        command_context ctx{cfg, out, false, false, 0, {}, {}};
        ctx.dry_run = vm.count("dry-run") > 0;
        ctx.json = vm.count("json") > 0;
        if (vm.count("sample")) {
            ctx.sample = vm["sample"].as<int>();
            if (ctx.sample < 1)
                throw usage_error("--sample must be a positive number of conversations");
        }
        if (vm.count("report"))
            ctx.report_path = vm["report"].as<std::string>();
        if (cmd.takes_key)
            ctx.key = words[1];
        // Before any work, so even a failed connection shows which server was meant. JSON
        // output carries the same facts as fields instead.
        if (cmd.prints_target && !ctx.json)
            out << "target: " << describe_target(cfg) << "\n";
        return cmd.run(ctx);
    } catch (const error& e) {
        err << "chatledger-migrate: " << e.line() << "\n";
        return static_cast<int>(e.status());
    } catch (const std::exception& e) {
        err << "chatledger-migrate: internal error: " << e.what()
            << " HINT: this is a bug; please report it with the command that caused it\n";
        return static_cast<int>(exit_status::database);
    }
}

}  // namespace chatledger::migrator
