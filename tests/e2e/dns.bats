#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Clusters formed through the platform's internal DNS: an app whose only route is
# cluster-app.apps.internal, with no service bound and no ERLANG_CLUSTER_* variable set, and
# dnsmasq in the switch namespace as the platform's DNS server, its records rewritten as
# instances come and go. Every assertion is from the instances' own HTTP view and their
# heartbeat agents' status.

ROUTE=cluster-app.apps.internal

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_dns_server
    e2e_stage_routed_app "$ROUTE"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

# start_cluster N...: the listed instances are running and are the only ones the route
# resolves to, and they form a full mesh.
start_cluster() {
    e2e_start_dns_server
    e2e_ensure_routed_instances "$@"
    e2e_dns_publish "$ROUTE" "$@"
    e2e_wait_full_mesh 90 "$@" >/dev/null
}

# node_of N: instance N's node name, from its agent.
node_of() {
    e2e_agent_status "$1" | jq -er '.node'
}

# registry_state_is STATE N...: every listed instance's agent reports its discovery source
# (here the DNS server) as STATE ("reachable" or "unreachable").
registry_state_is() {
    local state=$1 n
    shift
    for n in "$@"; do
        [[ $(e2e_agent_status "$n" | jq -r '.registry') == "$state" ]] || return 1
    done
}

# wants_the_others N M...: instance N's agent wants exactly the nodes of the instances M...
# other than N itself (the others the route resolves to).
wants_the_others() {
    local n=$1 m expected actual
    shift
    expected=$(for m in "$@"; do [[ $m == "$n" ]] || node_of "$m"; done | sort)
    actual=$(e2e_agent_status "$n" | jq -r '.peers[] | select(.wanted) | .name' | sort)
    [[ $actual == "$expected" ]]
}

@test "an app with only an apps.internal route stages in dns mode and 4 instances cluster by themselves" {
    grep -qF "Discovery: dns, because the app has the internal route $ROUTE" \
        "$E2E_DROPLET.staging.log"

    local n start
    start=$(foundation_now)
    for n in 0 1 2 3; do
        e2e_start_routed_instance "$n"
    done
    # The platform's DNS lists an instance once its container runs.
    e2e_dns_publish "$ROUTE" 0 1 2 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "dns cold start of 4 instances: full mesh $(foundation_elapsed "$start") s after launch"

    # Each agent is in dns mode and sees its 3 peers (its status lags its node by a look).
    for n in 0 1 2 3; do
        foundation_wait 10 "instance $n's agent to report 3 of 3 peers in dns mode" \
            e2e_agent_status_matches "$n" '.mode == "dns" and .peers_wanted == 3 and .peers_connected == 3'
    done
}

@test "dns: scaling out 4 -> 6 and back follows the DNS records" {
    start_cluster 0 1 2 3

    local start n
    start=$(foundation_now)
    e2e_start_routed_instance 4
    e2e_start_routed_instance 5
    e2e_dns_publish "$ROUTE" 0 1 2 3 4 5
    e2e_wait_full_mesh 90 0 1 2 3 4 5 >/dev/null
    e2e_report "dns scale out 4 -> 6: full mesh of 6 $(foundation_elapsed "$start") s after launch"

    # Scale in: the platform drops the records of the stopping instances, then stops them.
    start=$(foundation_now)
    e2e_dns_publish "$ROUTE" 0 1 2 3
    for n in 4 5; do
        e2e_stop_instance "$n" TERM
    done
    for n in 4 5; do
        e2e_wait_exit "$n" 15
        e2e_destroy_container "$n"
    done
    e2e_wait_full_mesh 30 0 1 2 3 >/dev/null
    e2e_report "dns scale in 6 -> 4: full mesh of the remaining 4 $(foundation_elapsed "$start") s after SIGTERM"
    # An address gone from the answer is no longer wanted (so never dialled again).
    for n in 0 1 2 3; do
        foundation_wait 20 "instance $n's agent to want only the 3 others" \
            wants_the_others "$n" 0 1 2 3
    done
}

@test "dns: the DNS server hung then stopped for 60 s disconnects nobody, and discovery resumes when it is back" {
    start_cluster 0 1 2 3
    local n lost_before=() start looks
    for n in 0 1 2 3; do
        lost_before[n]=$(grep -c "peer lost" "$(e2e_agent_log "$n")" || true)
    done

    # First 30 s: the server hangs (its queries time out).
    start=$(foundation_now)
    kill -STOP "$(e2e_dns_server_pid)"
    looks=$(e2e_watch_mesh 30 0 1 2 3)
    # The outage was real: every agent saw its lookups fail.
    registry_state_is unreachable 0 1 2 3
    # Next 30 s: no server at all (queries are refused).
    e2e_stop_dns_server KILL
    looks=$((looks + $(e2e_watch_mesh 30 0 1 2 3)))
    e2e_report "dns server down for $(foundation_elapsed "$start") s: full mesh in every one of $looks looks"

    start=$(foundation_now)
    e2e_start_dns_server
    # Discovery retries with a backoff capped at 30 s.
    foundation_wait 45 "every agent to reach the DNS server again" \
        registry_state_is reachable 0 1 2 3
    e2e_report "dns server back: every agent resolved again $(foundation_elapsed "$start") s after restart"
    e2e_full_mesh 0 1 2 3
    for n in 0 1 2 3; do
        [ "$(grep -c "peer lost" "$(e2e_agent_log "$n")" || true)" = "${lost_before[n]}" ]
    done
}

@test "dns: a stale record for a dead address is not hammered and does not stall a newcomer" {
    start_cluster 0 1 2 3
    local dead_node start window=20 n dials limit max_dials=0
    # Slot 9 has no instance: its address is in the subnet but nothing answers there.
    dead_node=$(node_of 0 | cut -d@ -f1)@$(foundation_instance_ip 9)

    start=$(foundation_now)
    e2e_dns_publish "$ROUTE" 0 1 2 3 9
    e2e_start_routed_instance 4
    e2e_dns_publish "$ROUTE" 0 1 2 3 4 9
    e2e_wait_full_mesh 60 0 1 2 3 4 >/dev/null
    e2e_report "dns with a stale record: newcomer in the full mesh $(foundation_elapsed "$start") s after the record appeared"

    # The agents of the complete mesh see the record at their next discovery (the poll
    # interval, 60 s by default); from then on they dial it on its own backoff.
    wants_dead() {
        local n
        for n in "$@"; do
            e2e_agent_status_matches "$n" "[.peers[] | select(.name == \"$dead_node\" and .wanted)] | length == 1" ||
                return 1
        done
    }
    foundation_wait 75 "every agent to want the dead address" wants_dead 0 1 2 3 4
    # Watch a window: the mesh holds while the agents keep the dead address.
    e2e_watch_mesh "$window" 0 1 2 3 4 >/dev/null
    # Per-peer backoff keeps the dials logarithmic in time (about 5 in 30 s, where a dial at
    # every look would be about 30); every agent did dial it, and did retry. The limit counts
    # from the record's appearance, an upper bound for every agent.
    limit=$(e2e_backoff_dial_limit "$(foundation_elapsed "$start")")
    for n in 0 1 2 3 4; do
        dials=$(e2e_peer_dials "$n" "$dead_node")
        [ "$dials" -ge 2 ]
        [ "$dials" -le "$limit" ]
        ((dials > max_dials)) && max_dials=$dials
        e2e_agent_status "$n" | jq -e --arg node "$dead_node" \
            '[.peers[] | select(.name == $node and .wanted and (.connected | not))] | length == 1' >/dev/null
    done
    e2e_report "dns stale record: at most $max_dials dials of the dead address per agent in $(foundation_elapsed "$start") s (backoff allows $limit)"
    e2e_dns_publish "$ROUTE" 0 1 2 3 4
}
