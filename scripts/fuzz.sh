#!/usr/bin/env bash
# Fuzzing (issue 8): builds the libFuzzer targets under Fuzz/ with ASan in .build-fuzz/ and runs
# each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s; all targets)
#
# Targets: FuzzEventLog FuzzInbound FuzzDataQuery FuzzAgentConfig (Fuzz/README.md says what each
# covers). The corpus of each target lives in Fuzz/corpus/<target>/ and is kept in the repository:
# it is seeded from Tests/Fixtures/samples and the targets' own seeds when a seed is missing, a run
# writes what it discovers to .fuzz-corpus-tmp/<target>/, and only inputs that add coverage are
# merged back. A crash, sanitizer report, timeout or out-of-memory input is written to
# Fuzz/crashes/<target>-<kind>-<sha1>; the script then carries on with the next target and exits 1
# at the end. A summary line per target (runs, exec/s, new corpus, findings) closes the output.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
all=(FuzzEventLog FuzzInbound FuzzDataQuery FuzzAgentConfig)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

build=(swift build --build-path .build-fuzz -c release
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
export PURSER_FUZZ=1
samples=Tests/Fixtures/samples

# seed TARGET FORMAT_BYTE FILE [NAME]: a corpus entry made of the format byte and FILE (at most
# 64 KiB), kept unless it is there already.
seed() {
    local dir=Fuzz/corpus/$1 base=${4:-${3##*/}} name
    name="sample-$(printf '%02x' "$2")-$(printf '%s' "$base" | tr -c 'A-Za-z0-9._-' _)"
    [ -f "$3" ] && [ ! -e "$dir/$name" ] || return 0
    { printf "\\x$(printf '%02x' "$2")"; head -c 65536 "$3"; } > "$dir/$name"
}

seed_corpus() {
    local t=$1 dir=Fuzz/corpus/$1
    mkdir -p "$dir"
    case $t in
    FuzzInbound)
        # byte 0 = InputFormat: 0 auto, 1 jsonl, 2 whatsapp, 3 twilio, 4 eml, 5 mbox, 6 webchat
        [ -d "$samples" ] || return 0
        for f in "$samples"/whatsapp/*.json; do seed "$t" 2 "$f"; seed "$t" 0 "$f"; done
        seed "$t" 3 "$samples/twilio/inbound_sms_form_bodies.txt"
        for f in "$samples"/email/zbateson/m*.txt "$samples"/email/mikel/*.eml; do seed "$t" 4 "$f"; done
        for f in "$samples"/email/patchew/*.mbox; do seed "$t" 5 "$f"; seed "$t" 0 "$f"; done
        if [ -f "$samples/dialogues/inbound_user_utterances.jsonl" ]; then
            head -n 20 "$samples/dialogues/inbound_user_utterances.jsonl" > .fuzz-corpus-tmp/utterances.jsonl
            seed "$t" 1 .fuzz-corpus-tmp/utterances.jsonl
        fi
        ;;
    FuzzEventLog)
        # Segments written by the real log writer (the target makes them when asked).
        if ! ls "$dir"/seed-* >/dev/null 2>&1; then
            local empty; empty=$(mktemp -d)
            PURSER_FUZZ_SEEDS="$dir" "$bin/$t" -runs=1 "$empty" >/dev/null 2>&1 || true
            rm -rf "$empty"
        fi
        ;;
    esac
}

failed=()
summary=()
mkdir -p Fuzz/crashes .fuzz-corpus-tmp
for t in "${targets[@]}"; do
    echo "== building $t" >&2
    "${build[@]}" --product "$t" >&2
done
bin=$("${build[@]}" --show-bin-path)

for t in "${targets[@]}"; do
    seed_corpus "$t"
    work=.fuzz-corpus-tmp/$t
    rm -rf "$work"; mkdir -p "$work"
    log=.fuzz-corpus-tmp/$t.log
    before=$(ls Fuzz/corpus/"$t" | wc -l)
    echo "== $t for ${seconds}s (corpus: $before files)" >&2
    set +e
    # New inputs go to $work (the first directory); the kept corpus is read.
    # Swift's own crash backtracer fights ASan (it reads memory ASan guards); libFuzzer and ASan
    # report the crash instead.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
    "$bin/$t" "$work" "Fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="Fuzz/crashes/$t-" -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*fatal error|artifact_prefix|Test unit written|Done [0-9]+ runs)' "$log" >&2 || true
    # Keep only the inputs that add coverage.
    "$bin/$t" -merge=1 "Fuzz/corpus/$t" "$work" >/dev/null 2>&1 || true
    after=$(ls Fuzz/corpus/"$t" | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    line="$t: ${seconds}s, ${runs:-?} runs, ${rate:-?} exec/s, corpus $before -> $after"
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        line="$line, FINDING (exit $status, see $log and Fuzz/crashes/)"
    else
        line="$line, 0 crashes"
    fi
    summary+=("$line")
done

echo "== fuzz summary" >&2
printf '%s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz findings in: ${failed[*]}" >&2; exit 1; }
