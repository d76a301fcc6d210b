// Command-line parsing shared by both executables: declared options plus the positional words,
// so a stray word is seen, and Boost's errors turned into usage errors (exit 2).
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace chatledger {

/// Parses `argv` against `visible`; positional words are collected under `positional` (a
/// std::vector<std::string>). Throws usage_error with a HINT naming `program --help`.
boost::program_options::variables_map parse_command_line(
    int argc, const char* const argv[], const boost::program_options::options_description& visible,
    const char* positional, const std::string& program);

/// The long names of `options`, in order (for the reference's test).
std::vector<std::string> long_names(const boost::program_options::options_description& options);

}  // namespace chatledger
