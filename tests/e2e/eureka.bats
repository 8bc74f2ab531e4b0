#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Clusters formed through a Eureka registry (the registry double in the switch namespace),
# with real instances staged by the buildpack and started by the local launcher, each in its
# own network namespace. Every assertion is from the instances' own HTTP view.

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry
    e2e_stage_sample_app
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

@test "cold start of 4 instances forms a full mesh seen from every instance" {
    local n start
    start=$(foundation_now)
    for n in 0 1 2 3; do
        e2e_start_instance "$n"
    done
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    e2e_report "cold start of 4 instances: full mesh $(foundation_elapsed "$start") s after launch"

    # Each instance registered itself under the app's name, UP, with its own address.
    local state
    state=$(registry_admin GET /state)
    for n in 0 1 2 3; do
        jq -e --arg ip "$(foundation_instance_ip "$n")" \
            '[.instances[] | select(.ipAddr == $ip and .status == "UP")] | length == 1' \
            <<<"$state" >/dev/null
    done
}

@test "neither the cookie nor the registry's client secret is on any instance's command line" {
    e2e_ensure_instances 0 1 2 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null
    local cookie secret n pid checked=0
    cookie=$(cat "$E2E_DROPLET/app/.erlang.cookie")
    secret=$(cat "$E2E_DIR/registry-client-secret")
    [ -n "$cookie" ] && [ -n "$secret" ]
    for n in 0 1 2 3; do
        for pid in $(ip netns pids "$(foundation_ns "$n")"); do
            [ -r "/proc/$pid/cmdline" ] || continue
            run grep -cF -e "$cookie" -e "$secret" "/proc/$pid/cmdline"
            [ "$output" = 0 ]
            checked=$((checked + 1))
        done
    done
    # The BEAM and the heartbeat agent of every instance at least.
    [ "$checked" -ge 8 ]
}

@test "scaling out 4 -> 6 and back: newcomers join, removed instances are deregistered and dropped" {
    e2e_ensure_instances 0 1 2 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null

    local start n
    start=$(foundation_now)
    e2e_start_instance 4
    e2e_start_instance 5
    e2e_wait_full_mesh 90 0 1 2 3 4 5 >/dev/null
    e2e_report "scale out 4 -> 6: full mesh of 6 $(foundation_elapsed "$start") s after launch"

    start=$(foundation_now)
    for n in 4 5; do
        e2e_stop_instance "$n" TERM
    done
    for n in 4 5; do
        e2e_wait_exit "$n" 15
        e2e_destroy_container "$n"
    done
    e2e_wait_full_mesh 30 0 1 2 3 >/dev/null
    e2e_report "scale in 6 -> 4: full mesh of the remaining 4 $(foundation_elapsed "$start") s after SIGTERM"
    run e2e_registered_ips
    [ "$output" = "$(for n in 0 1 2 3; do foundation_instance_ip "$n"; done | sort)" ]
}

@test "a graceful stop (SIGTERM) deregisters the instance before its process exits" {
    e2e_ensure_instances 0 1 2 3
    e2e_start_instance 6
    e2e_wait_full_mesh 90 0 1 2 3 6 >/dev/null
    local ip start
    ip=$(foundation_instance_ip 6)
    e2e_registered_ips | grep -qxF "$ip"

    start=$(foundation_now)
    e2e_stop_instance 6 TERM
    e2e_wait_exit 6 15
    # The container goes at once when the app process exits: anything not done by now is
    # never done.
    e2e_destroy_container 6
    e2e_report "graceful stop: app process exited $(foundation_elapsed "$start") s after SIGTERM"
    run e2e_registered_ips
    [ "$status" -eq 0 ]
    run grep -cxF "$ip" <<<"$output"
    [ "$output" = 0 ]
    e2e_wait_full_mesh 30 0 1 2 3 >/dev/null
}

@test "after kill -9 of one BEAM and a restart with a new address the full mesh comes back" {
    e2e_ensure_instances 0 1 2 3
    e2e_wait_full_mesh 90 0 1 2 3 >/dev/null

    local start
    start=$(foundation_now)
    kill -KILL "$(e2e_beam_pid 3)"
    e2e_wait_exit 3 10
    e2e_destroy_container 3
    e2e_wait_full_mesh 30 0 1 2 >/dev/null
    e2e_report "kill -9: the others dropped the dead node after $(foundation_elapsed "$start") s"

    # The platform restarts index 3 in a new container with a new address (slot 7).
    start=$(foundation_now)
    e2e_start_instance 7 --index 3
    e2e_wait_full_mesh 90 0 1 2 7 >/dev/null
    e2e_report "restart with a new address: full mesh of 4 again $(foundation_elapsed "$start") s after launch"
}
