#!/usr/bin/env bash
# Builds in release mode and runs the benchmarks; each figure is printed beside a baseline
# measured in the same run. Usage: scripts/bench.sh [EVENTS]   (default 1,000,000)
# The table goes to stdout; paste it into BENCHMARKS.md with the machine and date.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
PURSER_SETUP_SKIP_BUILD=1 bash scripts/setup.sh
swift build -c release --product purser-bench >&2
work=$(mktemp -d "${TMPDIR:-/tmp}/purser-bench.XXXXXX")
# A throwaway PostgreSQL cluster for the store's figures, in a directory of its own (its server
# runs as `postgres` when this runs as root, and $work is private), stopped however the script ends.
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/purser-bench-pg.XXXXXX")
trap 'scripts/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work" "$pgdir"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sm); events=$events"
.build/release/purser-bench eventlog --events "$events" --work "$work/eventlog"
# Every subcommand of Sources/PurserBench/main.swift, unconditionally: a bench that fails must
# fail the script (set -e), not be skipped.
.build/release/purser-bench projections --events "$events" --work "$work/projections"
.build/release/purser-bench query --objects "$events" --work "$work/query"
.build/release/purser-bench audit --events "$events" --org-events "$((events / 10))" --work "$work/audit"
.build/release/purser-bench pipeline --messages 20000 --sessions 500 --delay-ms 200 --work "$work/pipeline"
# The PostgreSQL store last, on its own cluster (loopback, fsync and synchronous_commit on; TLS off:
# the figures measure the store, not the cipher).
pg_url=$(scripts/pg-cluster.sh start "$pgdir")
.build/release/purser-bench postgres --url "$pg_url?sslmode=disable" --events "$events" --work "$work/postgres"
