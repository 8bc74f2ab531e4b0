# shellcheck shell=bash
# Shared by the bench/ commands: settings, timing and summary helpers.
#   BENCH_QUICK=1        fewer repetitions and sizes (a smoke run; RESULTS.md says which mode)
#   BENCH_RESULTS=DIR    where raw samples and summaries go (default bench/results)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_REPO=$(cd "$BENCH_DIR/.." && pwd)
BENCH_QUICK=${BENCH_QUICK:-0}
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results}
mkdir -p "$BENCH_RESULTS"

bench_log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

bench_die() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}

# bench_now_ms: the wall clock in milliseconds (the same clock the probe prints).
bench_now_ms() {
    local t=$EPOCHREALTIME
    printf '%d\n' $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 ))
}

# bench_load: the 1-minute load average and the number of CPUs, for the record.
bench_load() {
    printf 'load %s on %s CPUs\n' "$(cut -d' ' -f1 /proc/loadavg)" "$(nproc)"
}

# bench_stats: reads numbers (one per line) and prints "n median p95 min max", p95 by the
# nearest-rank method (with fewer than 20 samples it is the largest or second largest).
bench_stats() {
    sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "0 - - - -"; exit }
            mid = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            r = int(0.95 * NR); if (r < 0.95 * NR) r++; if (r < 1) r = 1
            printf "%d %.3f %.3f %.3f %.3f\n", NR, mid, v[r], v[1], v[NR]
        }'
}

bench_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || bench_die "'$tool' is missing: run 'make deps'"
    done
}

bench_require_built() {
    local f
    for f in "$BENCH_REPO/build/buildpack/bin/supply" "$BENCH_REPO/build/buildpack/bin/erlang-cluster-agent"; do
        [[ -x $f ]] || bench_die "missing $f: run 'make' first"
    done
}

# bench_meta NAME start|end: records when a benchmark ran and the machine's load then, in
# $BENCH_RESULTS/NAME.meta (read by bench/report).
bench_meta() {
    local file=$BENCH_RESULTS/$1.meta
    if [[ $2 == start ]]; then
        : >"$file.tmp"
        printf 'quick\t%s\n' "$BENCH_QUICK" >>"$file.tmp"
        printf 'started\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$file.tmp"
        printf 'load_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$file.tmp"
        printf 'cpu\t%s, %s cores visible\n' "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
            "$(nproc)" >>"$file.tmp"
        printf 'kernel\t%s\n' "$(uname -r)" >>"$file.tmp"
    else
        printf 'ended\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$file.tmp"
        printf 'load_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$file.tmp"
        mv "$file.tmp" "$file"
    fi
}
