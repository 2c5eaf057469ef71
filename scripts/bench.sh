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
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sm); events=$events"
.build/release/purser-bench eventlog --events "$events" --work "$work/eventlog"
# Every subcommand of Sources/PurserBench/main.swift, unconditionally: a bench that fails must
# fail the script (set -e), not be skipped.
.build/release/purser-bench projections --events "$events" --work "$work/projections"
.build/release/purser-bench query --objects "$events" --work "$work/query"
.build/release/purser-bench audit --events "$events" --org-events "$((events / 10))" --work "$work/audit"
.build/release/purser-bench pipeline --messages 20000 --sessions 500 --delay-ms 200 --work "$work/pipeline"
