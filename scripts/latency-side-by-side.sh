#!/usr/bin/env bash
# Two providers under one load generator (this checkout's release build), alternating:
#   scripts/latency-side-by-side.sh /path/to/base/mimi [postgres://...]
# Prints one line per run: the case, `base` or `new`, and the load generator's JSON line.
# BENCHMARKS.md, "Delivery latency, idle devices, processes and PostgreSQL", came from it.
set -euo pipefail
BASE=${1:?give the base build mimi binary}
PG=${2:-postgres://postgres@127.0.0.1:5432/test}
NEW=$(dirname "$0")/../target/release/mimi
run() { # case who args...
  local case=$1 who=$2; shift 2
  local exe=()
  [ "$who" = base ] && exe=(--server-exe "$BASE")
  echo "$case $who $("$NEW" bench serve "$@" "${exe[@]}" 2>/dev/null)"
}
for round in 1 2; do
  for who in base new; do
    run rate50 "$who" --rate 50 --receive events --messages 1500
    run saturation "$who" --receive events
  done
done
for who in base new; do
  run idle "$who" --members 3 --messages 100 --senders 2 --receive events --idle-devices 10000
  run pg-2-processes-rate50 "$who" --rate 50 --receive events --messages 1500 --database "$PG" --processes 2
done
for round in 1 2; do
  for who in base new; do
    run pg-saturation "$who" --receive events --database "$PG"
    run pg-poll "$who" --receive poll --database "$PG"
  done
done
