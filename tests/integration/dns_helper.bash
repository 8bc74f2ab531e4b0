# shellcheck shell=bash
# Helpers for dns.bats: a real dnsmasq on a loopback address and a port of its own, serving
# the names in a hosts file the test edits, and the dns-probe driver (tests/integration/
# dns_probe.c) configured the way the agent is configured in an app instance.
# shellcheck disable=SC2154  # status, output, lines and stderr are set by bats' run

DNS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DNS_LISTEN=127.0.0.53
DNS_NAME=chat.apps.internal
DNS_SELF_IP=10.255.0.5

# The build dir the Makefile uses (BUILD=... moves it, e.g. for a sanitizer build).
dns_probe_path() {
    local build=${ECB_BUILD_DIR:-build}
    [[ $build == /* ]] || build=$DNS_REPO_ROOT/$build
    printf '%s/tests/dns-probe\n' "$build"
}

# Builds the driver (a no-op when it is up to date).
dns_build_probe() {
    local build=${ECB_BUILD_DIR:-build}
    make -s -C "$DNS_REPO_ROOT" BUILD="$build" "$build/tests/dns-probe" >&2
}

# dns_server_start: starts dnsmasq on $DNS_LISTEN and a free port, answering from
# $DNS_DIR/hosts, authoritative for apps.internal (unknown names there are NXDOMAIN) and with
# no upstream (other names are REFUSED). Sets DNS_PORT and DNS_PID.
dns_server_start() {
    local attempt deadline
    : >"$DNS_DIR/dnsmasq.log"
    for attempt in 1 2 3 4 5; do
        DNS_PORT=$((20000 + RANDOM % 30000))
        dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
            --listen-address="$DNS_LISTEN" --port="$DNS_PORT" \
            --addn-hosts="$DNS_DIR/hosts" --local=/apps.internal/ --cache-size=0 \
            --pid-file="$DNS_DIR/dnsmasq.pid" --log-facility="$DNS_DIR/dnsmasq.log" \
            --log-queries --user="$(id -un)" --group="$(id -gn)" \
            >"$DNS_DIR/dnsmasq.out" 2>&1 3>&- &
        DNS_PID=$!
        # Ready once the UDP socket is bound; gone at once when the port was taken.
        deadline=$((SECONDS + 5))
        while ((SECONDS < deadline)); do
            if ! kill -0 "$DNS_PID" 2>/dev/null; then
                break
            fi
            if ss -Hlun "sport = :$DNS_PORT" | grep -qF "$DNS_LISTEN:$DNS_PORT"; then
                return 0
            fi
            sleep 0.05
        done
        dns_server_stop
        echo "dnsmasq did not start on $DNS_LISTEN:$DNS_PORT (attempt $attempt):" >&2
        cat "$DNS_DIR/dnsmasq.out" >&2
    done
    return 1
}

# dns_server_stop: ends our dnsmasq (also when it is stopped with SIGSTOP) and reaps it.
dns_server_stop() {
    [[ -n ${DNS_PID:-} ]] || return 0
    kill -CONT "$DNS_PID" 2>/dev/null || true
    kill -TERM "$DNS_PID" 2>/dev/null || true
    wait "$DNS_PID" 2>/dev/null || true
    DNS_PID=
}

# dns_server_reload: makes dnsmasq read the hosts file again.
dns_server_reload() {
    kill -HUP "$DNS_PID"
}

# dns_hosts ADDRESS...: the addresses $DNS_NAME resolves to.
dns_hosts() {
    local address
    : >"$DNS_DIR/hosts.new"
    for address in "$@"; do
        printf '%s %s\n' "$address" "$DNS_NAME" >>"$DNS_DIR/hosts.new"
    done
    mv "$DNS_DIR/hosts.new" "$DNS_DIR/hosts"
}

# probe [ARGS...]: one discovery, in the environment of an app instance whose address is
# $DNS_SELF_IP, against our server. Extra VAR=value settings come from PROBE_ENV (an array).
probe() {
    (probe_exec "$@")
}

# probe_exec [ARGS...]: the same, replacing the shell (so that "probe_exec &" gives the
# driver's own PID in $!).
probe_exec() {
    exec env -i PATH="$PATH" \
        ERLANG_CLUSTER_DNS_QUERY="$DNS_NAME" \
        ERLANG_CLUSTER_DNS_SERVERS="$DNS_LISTEN:$DNS_PORT" \
        ERLANG_CLUSTER_NODE_BASENAME=chat \
        CF_INSTANCE_INTERNAL_IP="$DNS_SELF_IP" \
        "${PROBE_ENV[@]}" \
        "$(dns_probe_path)" "$@"
}

# probe_value KEY: the value of the first "KEY value" line of the last run's output.
probe_value() {
    local line
    for line in "${lines[@]}"; do
        if [[ $line == "$1 "* ]]; then
            printf '%s\n' "${line#"$1 "}"
            return 0
        fi
    done
    return 1
}

# probe_peers: the peers the last run listed, one per line, sorted.
probe_peers() {
    local line
    for line in "${lines[@]}"; do
        [[ $line == "peer "* ]] && printf '%s\n' "${line#peer }"
    done | sort
}
