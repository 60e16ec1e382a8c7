#include "cli/command_line.h"

#include <ostream>

#include "cli/exit_codes.h"

namespace hoodyfs::cli {

std::optional<int> ParseCommandLine(CLI::App& app, int argc, const char* const* argv,
                                    std::string_view program, std::ostream& out,
                                    std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << program << ": " << e.what() << " (see " << program << " --help)\n";
    return kExitUsage;
  }
  return std::nullopt;
}

int Fail(std::string_view program, const Status& status, std::ostream& err) {
  err << program << ": " << status.message() << "\n";
  return ExitCodeFor(status);
}

}  // namespace hoodyfs::cli
