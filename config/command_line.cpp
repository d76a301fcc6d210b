// Boost drops positional words unless they are declared; collecting them lets a caller refuse a
// stray word instead of running as if it were not there.
#include "config/command_line.hpp"

#include <vector>

#include "config/error.hpp"

namespace chatledger {

namespace po = boost::program_options;

po::variables_map parse_command_line(int argc, const char* const argv[],
                                     const po::options_description& visible, const char* positional,
                                     const std::string& program) {
    po::options_description hidden;
    hidden.add_options()(positional, po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(visible).add(hidden);
    po::positional_options_description pos;
    pos.add(positional, -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw usage_error(e.what(), "run " + program + " --help");
    }
    return vm;
}

std::vector<std::string> long_names(const po::options_description& options) {
    std::vector<std::string> out;
    for (const auto& o : options.options()) out.push_back(o->long_name());
    return out;
}

}  // namespace chatledger
