// Parses the chatledger-syncd options and starts the service; every error is one stderr line.
// Signals are blocked here, before any other thread could exist, and read through a signalfd.
#include "daemon/cli.hpp"

#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <ostream>

#include "chatledger/version.hpp"
#include "config/command_line.hpp"
#include "config/error.hpp"
#include "config/logging.hpp"
#include "config/target.hpp"
#include "daemon/service.hpp"

namespace chatledger::daemon {

namespace po = boost::program_options;

namespace {

/// The options --help shows; option_names() lists the same, so the reference follows the parser.
po::options_description visible_options() {
    po::options_description opts("usage: chatledger-syncd [--config FILE] [options]\n\noptions");
    opts.add_options()("config,c", po::value<std::string>(),
                       "YAML configuration file (default: built-in defaults)")(
        "once", "one full reconcile of every conversation (with progress), then exit")(
        "log-level", po::value<std::string>(), "override logging.level (trace ... off)")(
        "help,h", "print this help")("version", "print the version");
    return opts;
}

}  // namespace

std::vector<std::string> option_names() {
    return long_names(visible_options());
}

int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err) {
    const po::options_description opts = visible_options();
    try {
        const auto vm = parse_command_line(argc, argv, opts, "argument", "chatledger-syncd");
        // A stray `chatledger-syncd bogus` fails instead of starting as if it were not there.
        if (vm.count("argument"))
            throw usage_error("unexpected argument \"" +
                                  vm["argument"].as<std::vector<std::string>>().front() + "\"",
                              "chatledger-syncd takes only options; run chatledger-syncd --help");
        if (vm.count("help")) {
            out << opts;
            return 0;
        }
        if (vm.count("version")) {
            out << "chatledger-syncd " << chatledger::version << "\n";
            return 0;
        }
        const std::string path = vm.count("config") ? vm["config"].as<std::string>() : "";
        config cfg = path.empty() ? config{} : load_config(path);
        if (vm.count("log-level"))
            cfg.logging.level = vm["log-level"].as<std::string>();
        setup_logging(cfg.logging, "chatledger-syncd");
        spdlog::info("{}", start_line("chatledger-syncd", vm.count("once") ? "--once" : "", cfg));
        if (auto warning = permission_warning(cfg))
            spdlog::warn("{}", *warning);
        signal_source signals;
        notifier notify;
        service svc(path, std::move(cfg), signals, notify);
        return vm.count("once") ? svc.run_once() : svc.run();
    } catch (const error& e) {
        err << "chatledger-syncd: " << e.line() << "\n";
        return static_cast<int>(e.status());
    } catch (const std::exception& e) {
        err << "chatledger-syncd: internal error: " << e.what()
            << " HINT: this is a bug; please report it\n";
        return static_cast<int>(exit_status::database);
    }
}

}  // namespace chatledger::daemon
