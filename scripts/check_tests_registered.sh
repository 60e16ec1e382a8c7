#!/usr/bin/env bash
# Fails when a *_test.cc file in the source tree is not compiled into any
# target: a test not wired into the runner protects nothing.
set -euo pipefail
src=$1
build=$2
missing=0
while IFS= read -r f; do
  rel=${f#"$src"/}
  if ! grep -q -- "$rel" "$build/compile_commands.json"; then
    echo "not in any build target: $rel"
    missing=1
  fi
done < <(find "$src" -name '*_test.cc' -not -path "$build/*" -not -path "$src/build*")
exit $missing
