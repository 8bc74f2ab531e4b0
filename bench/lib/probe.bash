# shellcheck shell=bash
# Shared by bench/convergence and bench/compare: questions about a mesh_probe event log
# (bench/lib/mesh_probe.erl, bench/lib/mesh-query.awk). The log is $PROBE_LOG.

# probe_query Q SINCE [SET] [X]: the log's answer (see bench/lib/mesh-query.awk).
probe_query() {
    awk -v q="$1" -v since="$2" -v set="${3:-}" -v x="${4:-}" \
        -f "$BENCH_DIR/lib/mesh-query.awk" "$PROBE_LOG"
}

# probe_wait SECONDS Q SINCE [SET] [X]: poll the log until the query holds; prints its time.
probe_wait() {
    local limit=$1 deadline
    shift
    deadline=$(( $(bench_now_ms) + limit * 1000 ))
    while (( $(bench_now_ms) < deadline )); do
        probe_query "$@" && return 0
        sleep 0.2
    done
    bench_log "timed out after ${limit} s waiting for: $*"
    return 1
}

# seconds_between T0 T1: (T1 - T0) in seconds, from two millisecond times.
seconds_between() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1000 }'
}

# probe_start LOG DROPLET SLOTS: the observer in the switch namespace, with DROPLET's cookie
# (HOME), watching slots 0..SLOTS-1; prints its PID once it runs. With PROBE_TLS_OPTFILE set,
# it runs TLS distribution with that -ssl_dist_optfile (an identity the nodes accept).
probe_start() {
    local log=$1 droplet=$2 slots=$3 pid deadline=$((SECONDS + 20)) tls=()
    [[ -z ${PROBE_TLS_OPTFILE:-} ]] || tls=(-proto_dist inet_tls -ssl_dist_optfile "$PROBE_TLS_OPTFILE")
    : >"$log"
    pid=$(foundation_spawn switch "$log" env HOME="$droplet/app" \
        erl -noshell -noinput -pa "$PROBE_EBIN" -name "bench_probe_$RANDOM@$FOUNDATION_SWITCH_IP" -hidden \
        -dist_listen false -start_epmd false -erl_epmd_port "$E2E_DIST_PORT" \
        -kernel net_ticktime "$NET_TICKTIME" "${tls[@]}" \
        -s mesh_probe main cluster-app "$FOUNDATION_SUBNET" "$E2E_DIST_PORT" "$slots" "$PROBE_INTERVAL_MS")
    until grep -q 'probe started' "$log"; do
        ((SECONDS < deadline)) || bench_die "the probe did not start: $(cat "$log")"
        sleep 0.2
    done
    printf '%s\n' "$pid"
}

# probe_compile: mesh_probe.beam into $PROBE_EBIN.
probe_compile() {
    erlc -o "$PROBE_EBIN" "$BENCH_DIR/lib/mesh_probe.erl" || bench_die "cannot compile the probe"
}
