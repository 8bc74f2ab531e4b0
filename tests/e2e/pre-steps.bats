#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Start commands that run short-lived BEAMs (migrations, seeds) before the long-lived one, as
# Phoenix apps do on a platform without a release phase. The server is the clustered node
# (its name, port, cookie, the agent); each pre-step runs unnamed (its own output says so)
# and never holds the distribution port. Two instances per form, in turn, on the shared
# registry (eureka) or, where the agent has nothing to register while it waits, in dns mode.

DNS_ROUTE=cluster-app.apps.internal

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry
    e2e_start_dns_server
    e2e_stage_sample_app
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

# Each case starts instances 0 and 1 afresh: the previous pair must be gone (and
# deregistered, which its agent does on TERM) so that the mesh is this pair's alone.
teardown() {
    local n
    for n in 0 1; do
        if e2e_instance_running "$n"; then
            e2e_stop_instance "$n"
            e2e_wait_exit "$n" 30
        fi
    done
}

# start_pair COMMAND [cf-launch options...]: instances 0 and 1 with COMMAND as start command.
start_pair() {
    local command=$1 n
    shift
    for n in 0 1; do
        e2e_start_instance "$n" --start-command "$command" "$@"
    done
}

# start_dns_pair COMMAND: start_pair in dns mode (the registry stays bound, dns is chosen).
start_dns_pair() {
    e2e_dns_publish "$DNS_ROUTE" 0 1
    start_pair "$1" --route "$DNS_ROUTE" --env ERLANG_CLUSTER_DISCOVERY=dns
}

processes_in() {
    local pid
    for pid in $(ip netns pids "$(foundation_ns "$1")"); do
        printf '[%s] ' "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    done
}

no_process_in() {
    [ -z "$(ip netns pids "$(foundation_ns "$1")")" ]
}

instance_log() {
    printf '%s.log\n' "$(e2e_instance_root "$1")"
}

# assert_server_meshed LABEL PRE_STEP_LINE...: instances 0 and 1 mesh under the server's
# name (cluster-app@IP), and each pre-step line is in each instance's log, printed by a BEAM
# that had no name.
assert_server_meshed() {
    local label=$1 start n line
    shift
    start=$(foundation_now)
    e2e_wait_full_mesh 120 0 1 >/dev/null
    for n in 0 1; do
        [ "$(jq -r .current_node "$E2E_DIR/instances/$n.view")" = \
          "cluster-app@$(foundation_instance_ip "$n")" ]
        for line in "$@"; do
            grep -qxF "$line" "$(instance_log "$n")" ||
                e2e_fail "instance $n's log lacks \"$line\": $(cat "$(instance_log "$n")")"
        done
        run grep -c 'Multiple -name\|cannot start distribution' "$(instance_log "$n")"
        [ "$output" = 0 ]
    done
    e2e_report "$label: full mesh of 2 $(foundation_elapsed "$start") s after the servers' launch"
}

@test "a release's eval then start (bin/cluster_app eval … && bin/cluster_app start) meshes under the server's name" {
    local rel=_build/prod/rel/cluster_app/bin/cluster_app
    start_pair "$rel eval 'ClusterApp.Release.migrate()' && $rel start"
    assert_server_meshed "release eval && start" "pre-step Release.migrate ran on nonode@nohost"
}

@test "a Mix task then the server (mix ecto.migrate && mix run --no-halt) meshes under the server's name" {
    start_pair "mix ecto.migrate && mix run --no-halt"
    assert_server_meshed "mix ecto.migrate && mix run" "pre-step ecto.migrate ran on nonode@nohost"
}

@test "seeds then elixir -S mix run --no-halt, in dns mode, meshes under the server's name" {
    start_dns_pair "mix run priv/seeds.exs && elixir -S mix run --no-halt"
    assert_server_meshed "seeds && elixir -S mix run (dns)" "pre-step seeds ran on nonode@nohost"
    e2e_agent_status 0 | jq -e '.mode == "dns"' >/dev/null
}

@test "a start script (./start.sh: eval, then exec start) is recognised as a Mix release and meshes" {
    start_pair "./start.sh"
    assert_server_meshed "./start.sh" "pre-step Release.migrate ran on nonode@nohost"
    grep -q 'start style mix-release' "$(instance_log 0)"
}

@test "pre-steps joined with ; (seeds; ecto.migrate; the server), in dns mode, mesh under the server's name" {
    start_dns_pair "mix run priv/seeds.exs; mix ecto.migrate; mix run --no-halt"
    assert_server_meshed "seeds; ecto.migrate; mix run (dns)" \
        "pre-step seeds ran on nonode@nohost" "pre-step ecto.migrate ran on nonode@nohost"
}

@test "a failing pre-step with && ends the instance as it would without the buildpack" {
    local n
    start_pair "mix ecto.migrate && mix run --no-halt" --env ECTO_MIGRATE_FAIL=true
    for n in 0 1; do
        e2e_wait_exit "$n" 60
        grep -qxF "pre-step ecto.migrate ran on nonode@nohost" "$(instance_log "$n")"
        grep -q 'ecto.migrate failed (ECTO_MIGRATE_FAIL=true)' "$(instance_log "$n")"
        run grep -c 'is up' "$(instance_log "$n")"
        [ "$output" = 0 ]
        # Nothing of the instance stays behind: no BEAM, no agent.
        foundation_wait 30 "instance $n's processes to end" no_process_in "$n" ||
            e2e_fail "still running in instance $n: $(processes_in "$n")"
    done
}
