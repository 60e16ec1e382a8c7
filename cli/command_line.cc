#include "cli/command_line.h"

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "cli/exit_codes.h"

namespace hoodyfs::cli {

namespace {
// Edits (insert, delete, replace) that turn `a` into `b`.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The first word of the command line that is no option and no option's
// value ("--store DIR"), when it names none of `app`'s commands.
std::optional<std::string> UnknownCommand(CLI::App& app, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--") return std::nullopt;
    if (word == "--store") {  // the one top-level option that takes a value
      ++i;
      continue;
    }
    if (word.starts_with("-")) continue;
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->check_name(std::string(word))) return std::nullopt;
    }
    return std::string(word);
  }
  return std::nullopt;
}

// The command nearest to `word`, if one is near enough to be a typo.
std::optional<std::string> Nearest(CLI::App& app, const std::string& word) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const CLI::App* sub : app.get_subcommands({})) {
    const size_t d = EditDistance(word, sub->get_name());
    if (d < best_distance) {
      best_distance = d;
      best = sub->get_name();
    }
  }
  return best;
}
}  // namespace

std::optional<int> ParseCommandLine(CLI::App& app, int argc, const char* const* argv,
                                    std::string_view program, std::ostream& out,
                                    std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    if (std::optional<std::string> unknown = UnknownCommand(app, argc, argv)) {
      err << program << ": '" << *unknown << "' is not a " << program << " command";
      if (std::optional<std::string> near = Nearest(app, *unknown)) {
        err << "; did you mean '" << *near << "'?";
      }
      err << " (see " << program << " --help)\n";
      return kExitUsage;
    }
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
