// What hoodyfs and hoodyfs-snap share around CLI11: parsing with help and
// usage errors handled the same way, and reporting a failed verb as one
// line naming the problem with its exit code (cli/exit_codes.h).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string_view>

#include "base/status.h"

namespace hoodyfs::cli {

// nullopt when the command should run; else the exit code, after --help
// (0, printed to `out`) or a usage error (kExitUsage, one line on `err`).
std::optional<int> ParseCommandLine(CLI::App& app, int argc, const char* const* argv,
                                    std::string_view program, std::ostream& out, std::ostream& err);

// Prints "program: message" on `err` and returns the exit code for `status`.
int Fail(std::string_view program, const Status& status, std::ostream& err);

}  // namespace hoodyfs::cli
