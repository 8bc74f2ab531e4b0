#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Clusters formed from a static peer list: ERLANG_CLUSTER_PEERS set (cf set-env, so at staging
# and at run time) to the instances' addresses, one of them as a node name, with no service
# bound and no route to resolve. Instance 3 is listed but not started until the last test.
# Every assertion is from the instances' own HTTP view and their heartbeat agents' status.

setup_file() {
    load helper
    e2e_setup_file
    # IP addresses get the node basename (the app name's); instance 1 is given as a node name.
    PEERS=$(foundation_instance_ip 0),$E2E_APP_NAME@$(foundation_instance_ip 1),$(foundation_instance_ip 2),$(foundation_instance_ip 3)
    export PEERS
    e2e_stage_sample_app --env "ERLANG_CLUSTER_PEERS=$PEERS"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

# ensure_started N...: the listed instances are running (started with the same app env).
ensure_started() {
    local n
    for n in "$@"; do
        e2e_instance_running "$n" || e2e_start_instance "$n" --env "ERLANG_CLUSTER_PEERS=$PEERS" || return 1
    done
}

@test "static: a cold start of 3 listed instances forms a full mesh" {
    grep -qF "Discovery: static, because ERLANG_CLUSTER_PEERS is set" "$E2E_DROPLET.staging.log"

    local n start
    start=$(foundation_now)
    ensure_started 0 1 2
    e2e_wait_full_mesh 90 0 1 2 >/dev/null
    e2e_report "static cold start of 3 instances: full mesh $(foundation_elapsed "$start") s after launch"
    # Every agent is in static mode and wants the 3 other listed nodes (not itself).
    for n in 0 1 2; do
        foundation_wait 10 "instance $n's agent to want 3 peers in static mode, 2 connected" \
            e2e_agent_status_matches "$n" '.mode == "static" and .peers_wanted == 3 and .peers_connected == 2'
    done
}

@test "static: a listed peer that is not running does not hold up the others, and joins when it starts late" {
    ensure_started 0 1 2
    e2e_wait_full_mesh 90 0 1 2 >/dev/null
    local absent n dials limit start max_dials=0
    absent=$E2E_APP_NAME@$(foundation_instance_ip 3)

    # The three keep their mesh while the fourth is missing, and dial it with backoff.
    e2e_watch_mesh 20 0 1 2 >/dev/null
    for n in 0 1 2; do
        e2e_agent_status_matches "$n" "[.peers[] | select(.name == \"$absent\" and .wanted and (.connected | not))] | length == 1"
        dials=$(e2e_peer_dials "$n" "$absent")
        limit=$(e2e_backoff_dial_limit "$(e2e_instance_age "$n")")
        [ "$dials" -ge 2 ]
        [ "$dials" -le "$limit" ]
        ((dials > max_dials)) && max_dials=$dials
    done
    e2e_report "static: at most $max_dials dials of the absent peer per agent (backoff allows $limit)"

    start=$(foundation_now)
    ensure_started 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "static late start: full mesh of 4 $(foundation_elapsed "$start") s after launch"
}
