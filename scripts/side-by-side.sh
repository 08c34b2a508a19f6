#!/usr/bin/env bash
# Runs `mimi bench serve` for two or more `mimi` binaries side by side: every case, binary
# after binary, for ROUNDS rounds, so that they share the machine's state of the moment
# (on a small shared machine, runs minutes apart differ more than most changes do).
#
#   scripts/side-by-side.sh OLD_BINARY NEW_BINARY [...]
#
# Prints one JSON line per run, prefixed with the binary's name; ROUNDS (default 2) and
# CASES ("members:messages:batch" ..., default below) change what runs.
set -euo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: $0 OLD_BINARY NEW_BINARY [...]" >&2
  exit 2
fi
rounds="${ROUNDS:-2}"
cases="${CASES:-10:30000:1 100:10000:1 10:30000:10}"
for round in $(seq 1 "$rounds"); do
  for case in $cases; do
    IFS=: read -r members messages batch <<<"$case"
    for bin in "$@"; do
      printf '%s round %s: ' "$(basename "$bin")" "$round"
      "$bin" bench serve --members "$members" --messages "$messages" --batch "$batch" 2>/dev/null
    done
  done
done
