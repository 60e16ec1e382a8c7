#!/usr/bin/env bash
# The generated man pages (cli/CMakeLists.txt) hold their sections and the
# flags of their commands: a help2man that read the wrong option, or a page
# built from a stale binary, fails here. Usage: check_man_pages.sh MAN_DIR
set -euo pipefail
dir=$1
fail=0
expect() {  # page, text
  if ! grep -qF -- "$2" "$dir/$1"; then
    echo "$1: missing '$2'" >&2
    fail=1
  fi
}
for page in hoodyfs.1 hoodyfs-snap.1; do
  for section in '.SH NAME' '.SH SYNOPSIS' '.SH "EXIT STATUS"' '.SH EXAMPLES' '.SH "SEE ALSO"'; do
    expect "$page" "$section"
  done
done
# One flag of a subcommand each, which only --help-all shows.
expect hoodyfs.1 'token\-file'
expect hoodyfs.1 'data'
expect hoodyfs-snap.1 'discard\-head'
expect hoodyfs-snap.1 'source\-snapshot'
expect hoodyfs-snap.1 'max\-rate'
exit $fail
