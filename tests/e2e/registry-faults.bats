#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# The registry misbehaving under a running cluster: Eureka's 30 s read-only response cache on
# (new registrations show up late), and the registry down for a minute, then back empty.

HEARTBEAT_INTERVAL=30   # the buildpack's default ERLANG_CLUSTER_HEARTBEAT_INTERVAL
OUTAGE=60

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry --cache on
    e2e_stage_sample_app
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

all_registered() {
    [[ $(e2e_registered_ips | tr '\n' ' ') == "$(for n in "$@"; do foundation_instance_ip "$n"; done | sort | tr '\n' ' ')" ]]
}

@test "with the registry's 30 s response cache on, a cold start of 4 still forms a full mesh" {
    registry_admin GET /state | jq -e '.config.cache == 30' >/dev/null
    local n start
    start=$(foundation_now)
    for n in 0 1 2 3; do
        e2e_start_instance "$n"
    done
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "cold start of 4 behind a 30 s registry cache: full mesh $(foundation_elapsed "$start") s after launch"
}

@test "registry down for a minute: nobody disconnects, and all re-register within one heartbeat of its return" {
    e2e_ensure_instances 0 1 2 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    foundation_wait 10 "all 4 instances registered" all_registered 0 1 2 3

    # Counted before the outage: the logs may hold lines of the test before.
    local n lost_before=() unreachable_before=() back_before=()
    for n in 0 1 2 3; do
        lost_before[n]=$(grep -c "peer lost" "$(e2e_agent_log "$n")" || true)
        unreachable_before[n]=$(grep -c "registry unreachable" "$(e2e_agent_log "$n")" || true)
        back_before[n]=$(grep -c "registry reachable again" "$(e2e_agent_log "$n")" || true)
    done

    registry_stop
    local start looks
    # Watch the cluster for the whole outage: every look must be the full mesh.
    looks=$(e2e_watch_mesh "$OUTAGE" 0 1 2 3)
    e2e_report "registry down ${OUTAGE} s: full mesh in all ${looks} looks"
    for n in 0 1 2 3; do
        (($(grep -c "registry unreachable" "$(e2e_agent_log "$n")" || true) > unreachable_before[n]))
    done

    start=$(foundation_now)
    e2e_start_registry --cache on
    foundation_wait $((HEARTBEAT_INTERVAL + 2)) "all 4 instances to re-register" all_registered 0 1 2 3
    e2e_report "registry back empty: all 4 re-registered after $(foundation_elapsed "$start") s"
    e2e_full_mesh 0 1 2 3
    for n in 0 1 2 3; do
        (($(grep -c "registry reachable again" "$(e2e_agent_log "$n")" || true) > back_before[n]))
        [ "$(grep -c "peer lost" "$(e2e_agent_log "$n")" || true)" = "${lost_before[n]}" ]
    done
}
