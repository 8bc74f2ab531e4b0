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

    # Instance 0's agent has tried the cut node during the cut. Its port is silent, so the
    # agent keeps probing it and leaves no connection set-up pending in its BEAM: one would
    # stay pending for net_setuptime, its SYNs on TCP's retransmission timer, and every
    # later connect to that node (global's too) would wait on it after the heal.
    local cut_node look
    cut_node=$(cat "$(e2e_instance_root 3)/tmp/erlang-cluster/node_name")
    dialled() { (( $(e2e_peer_dials 0 "$cut_node") >= 1 )); }
    foundation_wait 10 "instance 0's agent to try $cut_node" dialled
    for look in 1 2 3 4 5; do
        run foundation_exec 0 ss -Htnp state syn-sent dst "$(foundation_instance_ip 3)"
        [ "$status" -eq 0 ]
        if grep -q beam.smp <<<"$output"; then
            e2e_fail "look $look: instance 0's BEAM has a connection set-up pending to the cut node: $output"
        fi
        sleep 0.5 # the next look: a set-up would last seconds, a probe only 50 ms
    done

    start=$(foundation_now)
    foundation_heal 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "full mesh of 4 again $(foundation_elapsed "$start") s after the cut healed"
    # The heal time this buys is measured in bench/compare and bench/convergence.

    # Nothing was restarted: the same four BEAMs.
    pids_after=$(for n in 0 1 2 3; do e2e_beam_pid "$n"; done)
    [ "$pids_after" = "$pids_before" ]
}
