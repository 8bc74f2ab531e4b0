#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# A network partition: one instance cut off from the others (and from the registry) for
# longer than net_ticktime, set low through the buildpack's own ERLANG_CLUSTER_NET_TICKTIME,
# then healed. Nothing is restarted; the agents alone must bring the full mesh back.

NET_TICKTIME=5

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry
    e2e_stage_sample_app --env ERLANG_CLUSTER_NET_TICKTIME="$NET_TICKTIME"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

# only_sees N NODE...: instance N, asked from inside its own namespace (it may be cut off from
# the switch), is connected to exactly NODE...
only_sees() {
    local n=$1 view expected
    shift
    view=$(foundation_exec "$n" curl -sS --fail --max-time 2 \
        "http://$(foundation_instance_ip "$n"):$E2E_HTTP_PORT/" 2>/dev/null) || return 1
    expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    [[ $(jq -r '.connected_nodes[]' <<<"$view" | sort) == "$expected" ]]
}

@test "an instance cut off longer than net_ticktime rejoins the full mesh after the cut heals" {
    local n start dropped pids_before pids_after
    for n in 0 1 2 3; do
        e2e_start_instance "$n"
    done
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    pids_before=$(for n in 0 1 2 3; do e2e_beam_pid "$n"; done)

    start=$(foundation_now)
    foundation_cut 3
    foundation_wait $((NET_TICKTIME * 3)) "instances 0 1 2 to drop instance 3" \
        e2e_full_mesh 0 1 2
    dropped=$(foundation_elapsed "$start")
    foundation_wait $((NET_TICKTIME * 3)) "instance 3 to drop the others" only_sees 3
    e2e_report "net_ticktime ${NET_TICKTIME} s: the others dropped the cut instance after ${dropped} s, it dropped them after $(foundation_elapsed "$start") s"
    # Ticks, not resets: a silent peer is declared down T/2 to 5T/4 after the cut.
    awk -v d="$dropped" -v t="$NET_TICKTIME" 'BEGIN { exit !(d >= t / 2) }'

    # Instance 0's agent has dialled the cut node during the cut: that connection set-up is
    # still pending, its SYNs on TCP's retransmission timer.
    local cut_node
    cut_node=$(cat "$(e2e_instance_root 3)/tmp/erlang-cluster/node_name")
    dialled() { (( $(e2e_peer_dials 0 "$cut_node") >= 1 )); }
    foundation_wait 10 "instance 0's agent to dial $cut_node" dialled

    start=$(foundation_now)
    foundation_heal 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "full mesh of 4 again $(foundation_elapsed "$start") s after the cut healed"
    # How the stale set-up ends is not asserted: an agent restarts it when a probe sees the
    # peer answer again, unless a SYN retransmission or global's own reconnect gets there
    # first. The heal time this buys is measured in bench/compare and bench/convergence.

    # Nothing was restarted: the same four BEAMs.
    pids_after=$(for n in 0 1 2 3; do e2e_beam_pid "$n"; done)
    [ "$pids_after" = "$pids_before" ]
}
