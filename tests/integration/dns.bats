#!/usr/bin/env bats
# The dns discovery back end against a real DNS server (dnsmasq on loopback): who it lists,
# what it does when the server refuses, dies or goes silent, and that a discovery is always
# bounded in time and cut short by SIGTERM.
# shellcheck disable=SC2034  # PROBE_ENV is read by probe in dns_helper.bash
# shellcheck disable=SC2154  # status, output, lines and stderr are set by bats' run

bats_require_minimum_version 1.5.0
load dns_helper

setup_file() {
    dns_build_probe
}

setup() {
    DNS_DIR="$BATS_TEST_TMPDIR"
    PROBE_ENV=()
    dns_hosts 10.255.0.4 10.255.0.5 10.255.0.6
    dns_server_start
}

teardown() {
    if [[ -n ${PROBE_PID:-} ]]; then
        kill -KILL "$PROBE_PID" 2>/dev/null || true
        wait "$PROBE_PID" 2>/dev/null || true
    fi
    dns_server_stop
}

@test "lists every other instance of a three-address answer as basename@ip" {
    run --separate-stderr probe
    [ "$status" -eq 0 ]
    [ "$(probe_value status)" = ok ]
    [ "$(probe_peers)" = "$(printf 'chat@10.255.0.4\nchat@10.255.0.6')" ]
    # Both record types were asked for.
    grep -q "query\[A\] $DNS_NAME" "$DNS_DIR/dnsmasq.log"
    grep -q "query\[AAAA\] $DNS_NAME" "$DNS_DIR/dnsmasq.log"
}

@test "names IPv6 instances with their address literal, leaving our own out" {
    dns_hosts 10.255.0.5 fd00::7 fd00::8
    dns_server_reload
    PROBE_ENV=(CF_INSTANCE_INTERNAL_IP=fd00:0::8)
    local deadline=$((SECONDS + 5))
    while ((SECONDS < deadline)); do
        run --separate-stderr probe
        [[ $(probe_peers) == *fd00::7* ]] && break
        sleep 0.1
    done
    [ "$status" -eq 0 ]
    [ "$(probe_peers)" = "$(printf 'chat@10.255.0.5\nchat@fd00::7')" ]
}

@test "an address removed from DNS is no longer listed" {
    run --separate-stderr probe
    [ "$(probe_peers)" = "$(printf 'chat@10.255.0.4\nchat@10.255.0.6')" ]

    dns_hosts 10.255.0.4 10.255.0.5
    dns_server_reload
    local deadline=$((SECONDS + 5))
    while ((SECONDS < deadline)); do
        run --separate-stderr probe
        [[ $(probe_peers) != *10.255.0.6* ]] && break
        sleep 0.1
    done
    [ "$status" -eq 0 ]
    [ "$(probe_peers)" = chat@10.255.0.4 ]
}

@test "uses the app's apps.internal route when ERLANG_CLUSTER_DNS_QUERY is unset" {
    run --separate-stderr env -i PATH="$PATH" \
        VCAP_APPLICATION="{\"application_name\":\"chat\",\"application_uris\":[\"chat.example.com\",\"$DNS_NAME\"]}" \
        ERLANG_CLUSTER_DNS_SERVERS="$DNS_LISTEN:$DNS_PORT" \
        CF_INSTANCE_INTERNAL_IP=10.255.0.4 \
        "$(dns_probe_path)"
    [ "$status" -eq 0 ]
    [ "$(probe_value resolving)" = "$DNS_NAME" ]
    [ "$(probe_peers)" = "$(printf 'chat@10.255.0.5\nchat@10.255.0.6')" ]
}

@test "a name with no records is no failure: no peers, and the log says why" {
    PROBE_ENV=(ERLANG_CLUSTER_DNS_QUERY=gone.apps.internal)
    run --separate-stderr probe
    [ "$status" -eq 0 ]
    [ "$(probe_value status)" = ok ]
    [ -z "$(probe_peers)" ]
    [[ $stderr == *"gone.apps.internal has no A or AAAA records (NXDOMAIN)"* ]]
    [[ $stderr == *"existing connections stay"* ]]
}

@test "a refusing server is a failure, not an empty answer" {
    PROBE_ENV=(ERLANG_CLUSTER_DNS_QUERY=chat.example.org)
    run --separate-stderr probe
    [ "$status" -eq 1 ]
    [ "$(probe_value status)" = failed ]
    [ -z "$(probe_peers)" ]
    [[ $(probe_value error) == *"DNS lookup of chat.example.org failed: A: no server gave an answer"* ]]
    grep -q 'query\[A\] chat.example.org' "$DNS_DIR/dnsmasq.log"
    grep -q 'REFUSED' "$DNS_DIR/dnsmasq.log"
}

@test "a stopped DNS server fails quickly and lists nobody" {
    dns_server_stop
    run --separate-stderr probe
    [ "$status" -eq 1 ]
    [ "$(probe_value status)" = failed ]
    [ -z "$(probe_peers)" ]
    [[ $(probe_value error) == *"connection refused"* ]]
    (($(probe_value elapsed_ms) <= 2000))
}

@test "a DNS server that never answers fails within the 2 s budget" {
    kill -STOP "$DNS_PID" # the socket stays bound: queries are received, never answered
    local start=$EPOCHREALTIME
    run --separate-stderr probe
    local took_ms=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
    [ "$status" -eq 1 ]
    [ "$(probe_value status)" = failed ]
    [ -z "$(probe_peers)" ]
    [[ $(probe_value error) == *"A: no answer in time; AAAA: no answer in time"* ]]
    local elapsed
    elapsed=$(probe_value elapsed_ms)
    ((elapsed >= 1900 && elapsed <= 2300))
    ((took_ms < 3000)) # the whole process, start to exit
}

@test "SIGTERM cuts short a lookup waiting on a silent server" {
    kill -STOP "$DNS_PID"
    probe_exec --budget-ms 30000 >"$DNS_DIR/probe.out" 2>"$DNS_DIR/probe.err" 3>&- &
    PROBE_PID=$!
    local deadline=$((SECONDS + 5))
    until grep -q '^resolving ' "$DNS_DIR/probe.out"; do
        ((SECONDS < deadline))
        sleep 0.02
    done
    local start=$EPOCHREALTIME
    kill -TERM "$PROBE_PID"
    local code=0
    wait "$PROBE_PID" || code=$?
    PROBE_PID=
    local took_ms=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
    [ "$code" -eq 3 ]
    grep -qx 'status interrupted' "$DNS_DIR/probe.out"
    ((took_ms < 500))
}
