// The JSON fuzz target (fuzz_targets.h): ParseStrictJson, then every
// decoder of the JSON codec on what it parsed.
#include <nlohmann/json.hpp>
#include <string>

#include "cli/api/json_codec.h"
#include "cli/daemon/http/strict_json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_targets.h"

namespace hoodyfs::fuzz {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// decode(j) -> v1; ToJson(v1) -> decode -> v2; ToJson(v2) must equal
// ToJson(v1). The first decode may lose what the type cannot hold (a field
// it ignores, bytes rounded to blocks): the second must lose nothing.
template <class T, class Decode>
void RoundTrip(const json& j, Decode decode, const char* what) {
  Result<T> first = decode(j);
  if (!first.ok()) {
    FUZZ_CHECK(first.status().code() == Code::kInvalidArgument,
               std::string(what) + ": " + first.status().ToString());
    return;
  }
  const json encoded = cli::ToJson(*first);
  Result<T> second = decode(encoded);
  FUZZ_CHECK(second.ok(), std::string(what) + " refuses its own encoding " + Dump(encoded) + ": " +
                              second.status().ToString());
  const json again = cli::ToJson(*second);
  FUZZ_CHECK(again == encoded,
             std::string(what) + " round trip: " + Dump(encoded) + " became " + Dump(again));
}

}  // namespace

void StrictJson(std::string_view input) {
  Result<json> strict = cli::ParseStrictJson(input);
  const json lenient = json::parse(input.begin(), input.end(), nullptr, /*allow_exceptions=*/false);
  if (!strict.ok()) {
    FUZZ_CHECK(strict.status().code() == Code::kInvalidArgument, strict.status().ToString());
    // Refused: malformed (nlohmann agrees), or a duplicate key (nlohmann
    // would have kept the last).
    const bool duplicate = strict.status().message().find("duplicate key") != std::string::npos;
    FUZZ_CHECK(duplicate != lenient.is_discarded(),
               "strict and lenient parsing disagree: " + strict.status().ToString());
    return;
  }
  FUZZ_CHECK(!lenient.is_discarded(), "strict parsing accepted what nlohmann refuses");
  FUZZ_CHECK(*strict == lenient, "strict parsing changed the value: " + Dump(*strict));
  // Text re-serialised parses back to the same value (strings are valid
  // UTF-8 once parsed, so the dump cannot fail).
  const std::string text = strict->dump();
  Result<json> reparsed = cli::ParseStrictJson(text);
  FUZZ_CHECK(reparsed.ok() && *reparsed == *strict, "dump does not parse back: " + text);

  RoundTrip<snapshotter::SnapshotInfo>(*strict, cli::SnapshotFromJson, "snapshot");
  RoundTrip<snapshotter::ContainerInfo>(*strict, cli::ContainerFromJson, "container");
  RoundTrip<snapshotter::DiffResult>(*strict, cli::DiffFromJson, "diff");
  RoundTrip<snapshotter::GcStats>(*strict, cli::GcStatsFromJson, "gc result");
  RoundTrip<snapshotter::RestoreResult>(*strict, cli::RestoreFromJson, "restore result");
  RoundTrip<cli::BisectStep>(*strict, cli::BisectStepFromJson, "bisect step");
  RoundTrip<cli::BisectReport>(*strict, cli::BisectReportFromJson, "bisect report");
  // The decoders see objects nested in arrays too (a list response).
  if (strict->is_array()) {
    for (const json& element : *strict) {
      RoundTrip<snapshotter::SnapshotInfo>(element, cli::SnapshotFromJson, "listed snapshot");
      RoundTrip<snapshotter::ContainerInfo>(element, cli::ContainerFromJson, "listed container");
    }
  }
}

}  // namespace hoodyfs::fuzz
