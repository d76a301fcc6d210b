// Parses the chatledger-migrate command line with Boost.Program_options and dispatches.
// Turns every chatledger::error into one stderr line and its exit status.
#include "migrator/cli.hpp"

#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <ostream>

#include "chatledger/version.hpp"
#include "config/error.hpp"
#include "config/logging.hpp"
#include "migrator/commands.hpp"

namespace chatledger::migrator {

namespace po = boost::program_options;

namespace {

constexpr const char* usage_text =
    "usage: chatledger-migrate [--config FILE] [options] COMMAND\n"
    "\n"
    "commands:\n"
    "  schema   create or upgrade the ledger schema and the capture trigger (--dry-run: print "
    "SQL)\n"
    "  plan     dry run: counts of rows, messages, empty and unparseable values; writes nothing\n"
    "  run      migrate every legacy row; resumable, re-runnable, safe with live writers\n"
    "  verify   exit 0 iff every legacy message is in the ledger, else list differences, exit 1\n"
    "  recover  append messages found in the backup table but missing from the ledger\n"
    "  status   schema version, ledger size, sync queue depth and age (--json)\n"
    "\n";

int dispatch(const std::string& command, const command_context& ctx) {
    if (command == "schema")
        return schema_command(ctx);
    if (command == "plan")
        return plan_command(ctx);
    if (command == "run")
        return run_command(ctx);
    if (command == "verify")
        return verify_command(ctx);
    if (command == "recover")
        return recover_command(ctx);
    if (command == "status")
        return status_command(ctx);
    throw usage_error("unknown command \"" + command + "\"",
                      "run chatledger-migrate --help for the list of commands");
}

}  // namespace

int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err) {
    po::options_description opts("options");
    opts.add_options()("config,c", po::value<std::string>(),
                       "YAML configuration file (default: built-in defaults)")(
        "log-level", po::value<std::string>(), "override logging.level (trace ... off)")(
        "dry-run", "schema: print the SQL that would run and change nothing")(
        "json", "status: print one JSON object")("sample", po::value<int>(),
                                                 "verify: check only N random conversations")(
        "report", po::value<std::string>(), "run, plan: also write the summary as JSON to FILE")(
        "help,h", "print this help")("version", "print the version");
    po::options_description hidden;
    hidden.add_options()("command", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("command", -1);

    try {
        po::variables_map vm;
        try {
            po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
            po::notify(vm);
        } catch (const po::error& e) {
            throw usage_error(e.what(), "run chatledger-migrate --help");
        }
        if (vm.count("help")) {
            out << usage_text << opts;
            return 0;
        }
        if (vm.count("version")) {
            out << "chatledger-migrate " << chatledger::version << "\n";
            return 0;
        }
        auto commands = vm.count("command") ? vm["command"].as<std::vector<std::string>>()
                                            : std::vector<std::string>{};
        if (commands.size() != 1)
            throw usage_error(commands.empty() ? "no command given" : "more than one command given",
                              "run chatledger-migrate --help for the list of commands");

        config cfg = vm.count("config") ? load_config(vm["config"].as<std::string>()) : config{};
        if (vm.count("log-level"))
            cfg.logging.level = vm["log-level"].as<std::string>();
        setup_logging(cfg.logging, "chatledger-migrate");
        if (auto warning = permission_warning(cfg))
            spdlog::warn("{}", *warning);

        command_context ctx{cfg, out, false, false, 0, {}};
        ctx.dry_run = vm.count("dry-run") > 0;
        ctx.json = vm.count("json") > 0;
        if (vm.count("sample")) {
            ctx.sample = vm["sample"].as<int>();
            if (ctx.sample < 1)
                throw usage_error("--sample must be a positive number of conversations");
        }
        if (vm.count("report"))
            ctx.report_path = vm["report"].as<std::string>();
        return dispatch(commands.front(), ctx);
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
