#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2016 # Erlang code in single quotes expands nothing, by design
# A cluster of the sample app with ERLANG_CLUSTER_TLS=true, found through the Eureka registry
# double, each instance launched by the local lifecycle with an instance identity like
# Diego's (tests/support/instance-identity: an intermediate CA under a root, CN = instance
# GUID, IP SAN = its address, OUs organization/space/app). One cluster for the whole file:
# it meshes over TLS; nothing of the distribution crosses the bridge in clear (tcpdump on
# the switch's bridge); every intruder is refused and leaves the mesh as it was; it scales out
# and in; an instance killed with -9 comes back at a new address; and it keeps its mesh while
# every identity is rotated, each new connection presenting the current certificate.
#
# TLS_ROTATION_MINUTES=N turns the rotation test into its full form: identities valid 3
# minutes, rotated every minute for N minutes (default: every 15 s for 1 minute, valid 2).

setup_file() {
    load helper
    load tls_helper
    e2e_setup_file
    tls_setup_identity
    e2e_start_registry
    # The default poll interval (60 s): a forced disconnection is redialled at the agent's
    # next look at nodes() (at most 10 s apart), not at its next discovery.
    e2e_stage_sample_app --env ERLANG_CLUSTER_TLS=true
    # From before the first instance starts, so every handshake is in the capture.
    tls_capture_start
    local n
    for n in 0 1 2 3; do
        tls_start_instance "$n"
    done
    printf '%s\n' 0 1 2 3 >"$E2E_DIR/members"
}

teardown_file() {
    load helper
    load tls_helper
    tls_capture_stop
    e2e_teardown_file
}

setup() {
    load helper
    load tls_helper
}

teardown() {
    tls_intruder_stop
}

# members: the instances that make up the cluster now (a restart moves one to a new slot).
members() {
    cat "$E2E_DIR/members"
}

ensure_members() {
    local n
    for n in $(members); do
        e2e_instance_running "$n" || tls_start_instance "$n" || return 1
    done
    # shellcheck disable=SC2046 # one instance number per word
    e2e_wait_full_mesh 90 $(members) >/dev/null
}

# mesh_intact: the members' full mesh, judged now; only an instance that did not answer its
# HTTP view (status 2) is asked again, never a wrong view.
mesh_intact() {
    local status
    for _ in 1 2 3 4 5; do
        status=0
        # shellcheck disable=SC2046
        e2e_full_mesh $(members) || status=$?
        ((status == 2)) || return "$status"
    done
    return 1
}

# dial_intruder: the app node of instance 0, asked to connect to the intruder.
dial_intruder() {
    tls_node_eval 0 "io:format(\"~p~n\", [rpc:call(Node, net_kernel, connect_node, ['$(tls_intruder_node)'], 15000)]), halt()."
}

# refused KIND: the intruder pings instance 0's node and is refused, instance 0's node asked
# to dial it is refused too, and the mesh is as it was. (The sample app logs at warning
# level, so its TLS alerts, notices, are not in its log: tls-dist.bats checks each reason on
# plain nodes. Here the yardstick test shows the one property is what makes the difference.)
refused() {
    ensure_members
    tls_intruder_start "$1" 0
    run cat "$TLS_INTRUDER_HOME/ping"
    echo "intruder's ping: $output"
    [ "$output" = "pang []" ]
    run dial_intruder
    echo "instance 0's dial: $output"
    [ "$output" = false ]
    mesh_intact
    tls_intruder_stop
}

@test "eureka: 4 instances with their instance identities mesh over mutual TLS; status says so" {
    local start n
    grep -qF "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true" "$E2E_DROPLET.staging.log"
    start=$(foundation_now)
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "TLS cold start of 4 (eureka): full mesh $(foundation_elapsed "$start") s after the last launch"
    # Every connection, seen from both ends, is TLS and carries the peer's own certificate.
    run tls_mesh_over_tls 0 1 2 3
    [ "$status" -eq 0 ]
    for n in 0 1 2 3; do
        foundation_wait 10 "instance $n's status to show TLS distribution" tls_status_ok "$n"
        grep -qF "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true" "$(e2e_agent_log "$n")"
    done
}

@test "no distribution message crosses the bridge in clear text" {
    ensure_members
    local canary n dist http payload version handshakes data
    canary=ecb-canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    # From node 0 to node 1, across the bridge, inside an rpc.
    run tls_node_eval 0 "io:format(\"~p~n\", [rpc:call(Node, rpc, call, ['$(tls_node_of 1)', erlang, iolist_size, [<<\"$canary\">>]], 10000)]), halt()."
    [ "$output" = "${#canary}" ]
    mesh_intact
    tls_capture_stop

    # TLS records (content type, then major version 3) at the start of segments to or from
    # the distribution port: handshakes, and application data once they are done.
    payload='tcp[((tcp[12:1] & 0xf0) >> 2):1]'
    version='tcp[((tcp[12:1] & 0xf0) >> 2) + 1:1]'
    handshakes=$(tls_capture_count "tcp port $E2E_DIST_PORT and $payload = 0x16 and $version = 0x03")
    data=$(tls_capture_count "tcp port $E2E_DIST_PORT and $payload = 0x17 and $version = 0x03")
    e2e_report "bridge capture: $handshakes TLS handshake and $data application data segments on port $E2E_DIST_PORT"
    # Two handshake segments at least (client's, server's) for each of the 6 connections.
    [ "$handshakes" -ge 12 ]
    [ "$data" -gt 0 ]

    # Node names are in clear in the HTTP views the switch asked for (so a search of this
    # capture finds them), and nowhere in the distribution's traffic: no clear-text handshake
    # (its name message carries the node name), no control message; nor is the payload.
    dist=$(tls_capture_part "tcp port $E2E_DIST_PORT")
    http=$(tls_capture_part "tcp port $E2E_HTTP_PORT")
    for n in 0 1 2 3; do
        [ "$(grep -caF "$(tls_node_of "$n")" "$http")" -gt 0 ]
        [ "$(grep -caF "$(tls_node_of "$n")" "$dist")" -eq 0 ]
    done
    [ "$(grep -caF "$canary" "$dist")" -eq 0 ]
}

@test "the intruders' yardstick: a node with a valid identity of this app at its own address is let in" {
    ensure_members
    tls_intruder_start app 0
    run cat "$TLS_INTRUDER_HOME/ping"
    echo "$output"
    [[ $output == "pong ["*"'$(tls_node_of 0)'"* ]]
    tls_intruder_stop
    foundation_wait 10 "the yardstick node to be gone from every view" mesh_intact
}

@test "a clear-text node with the right cookie is refused and the mesh stays as it was" {
    refused clear-text
}

@test "a TLS node with a valid instance certificate of another app is refused" {
    refused other-app
}

@test "a TLS node with a certificate from another CA is refused" {
    refused other-ca
}

@test "a TLS node with an expired certificate is refused" {
    refused expired
}

@test "a TLS node whose certificate's IP SAN is not its address is refused" {
    refused wrong-ip
}

@test "scaling out 4 -> 6 and back in over TLS" {
    ensure_members
    local start n
    start=$(foundation_now)
    tls_start_instance 4
    tls_start_instance 5
    # shellcheck disable=SC2046
    e2e_wait_full_mesh 90 $(members) 4 5 >/dev/null
    e2e_report "TLS scale out 4 -> 6: full mesh $(foundation_elapsed "$start") s after launch"
    # shellcheck disable=SC2046
    run tls_mesh_over_tls $(members) 4 5
    [ "$status" -eq 0 ]

    start=$(foundation_now)
    for n in 4 5; do
        e2e_stop_instance "$n" TERM
    done
    for n in 4 5; do
        e2e_wait_exit "$n" 15
        e2e_destroy_container "$n"
    done
    # shellcheck disable=SC2046
    e2e_wait_full_mesh 30 $(members) >/dev/null
    e2e_report "TLS scale in 6 -> 4: full mesh of the rest $(foundation_elapsed "$start") s after SIGTERM"
}

@test "after kill -9 and a restart at a new address the TLS mesh comes back" {
    ensure_members
    local start victim
    victim=$(members | tail -n 1)
    start=$(foundation_now)
    kill -KILL "$(e2e_beam_pid "$victim")"
    e2e_wait_exit "$victim" 10
    e2e_destroy_container "$victim"
    grep -vx "$victim" "$E2E_DIR/members" >"$E2E_DIR/members.new"
    # shellcheck disable=SC2046
    e2e_wait_full_mesh 30 $(cat "$E2E_DIR/members.new") >/dev/null
    # The platform restarts that index in a new container: new address, new identity.
    tls_start_instance 7 --index "$victim"
    echo 7 >>"$E2E_DIR/members.new"
    mv "$E2E_DIR/members.new" "$E2E_DIR/members"
    # shellcheck disable=SC2046
    e2e_wait_full_mesh 90 $(members) >/dev/null
    e2e_report "TLS kill -9 and restart at a new address: full mesh $(foundation_elapsed "$start") s after the kill"
    # shellcheck disable=SC2046
    run tls_mesh_over_tls $(members)
    [ "$status" -eq 0 ]
}

# reconnected_with_current A B: A's node sees B's current certificate on their connection,
# and B's node sees A's.
reconnected_with_current() {
    local a=$1 b=$2 seen
    seen=$(tls_connections "$a" "$b") || return 1
    grep -qx "$(tls_node_of "$a") $(tls_node_of "$b") tlsv1\.[23] $(tls_current_serial "$b")" <<<"$seen" &&
        grep -qx "$(tls_node_of "$b") $(tls_node_of "$a") tlsv1\.[23] $(tls_current_serial "$a")" <<<"$seen"
}

@test "rotation: every identity replaced again and again, the mesh holds and each new connection presents the current certificate" {
    ensure_members
    local period=15 rounds=4 validity=2 round start a b n left looks
    if [[ -n ${TLS_ROTATION_MINUTES:-} ]]; then
        period=60 rounds=$TLS_ROTATION_MINUTES validity=3
    fi
    local -a m
    mapfile -t m < <(members)
    for ((round = 1; round <= rounds; round++)); do
        start=$(foundation_now)
        tls_rotate_all --minutes "$validity" -- "${m[@]}"
        # One forced reconnection, a different pair each round.
        a=${m[$(((round - 1) % ${#m[@]}))]} b=${m[$((round % ${#m[@]}))]}
        run tls_node_eval "$a" "io:format(\"~p~n\", [rpc:call(Node, erlang, disconnect_node, ['$(tls_node_of "$b")'])]), halt()."
        [ "$output" = true ]
        foundation_wait 30 "instances $a and $b to reconnect with their new certificates" \
            reconnected_with_current "$a" "$b"
        e2e_wait_full_mesh 30 "${m[@]}" >/dev/null
        e2e_report "rotation $round/$rounds: instances $a-$b reconnected with serials $(tls_current_serial "$a") / $(tls_current_serial "$b") $(foundation_elapsed "$start") s after the rotation"
        # The mesh holds until the next rotation.
        left=$(awk -v p="$period" -v e="$(foundation_elapsed "$start")" 'BEGIN { print int(p - e) }')
        if ((left > 0)); then
            looks=$(e2e_watch_mesh "$left" "${m[@]}")
            e2e_report "rotation $round/$rounds: full mesh in all $looks looks of the next $left s"
        fi
    done
    # Every connection made again now presents the certificates of the last rotation.
    for n in "${m[@]}"; do
        tls_node_eval "$n" 'io:format("~p~n", [[rpc:call(Node, erlang, disconnect_node, [P]) || P <- rpc:call(Node, erlang, nodes, [])]]), halt().' >/dev/null
    done
    e2e_wait_full_mesh 60 "${m[@]}" >/dev/null
    foundation_wait 30 "every connection to present the last certificates" \
        tls_mesh_over_tls "${m[@]}" >/dev/null
    for n in "${m[@]}"; do
        foundation_wait 30 "instance $n's status to show its current certificate" tls_status_ok "$n"
    done
}
