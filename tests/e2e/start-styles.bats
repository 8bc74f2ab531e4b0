#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Every start style the buildpack supports clusters without a change to the app: `mix run`
# (covered by every other suite), a Mix release, a rebar3/relx release that ships its own
# vm.args with -sname and -setcookie, and a plain `erl` command line. Each app is its own
# cluster on the shared registry; two instances of each must mesh.

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry
    e2e_stage_sample_app
    e2e_stage_app relx-app "$E2E_REPO/tests/fixtures/relx-app"
    e2e_stage_app erl-app "$E2E_REPO/tests/fixtures/erl-app"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

@test "a Mix release (bin/cluster_app start) clusters" {
    local start n
    start=$(foundation_now)
    for n in 0 1; do
        e2e_start_instance "$n" --start-command "_build/prod/rel/cluster_app/bin/cluster_app start"
    done
    e2e_wait_full_mesh 90 0 1 >/dev/null
    e2e_report "Mix release: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}

@test "a relx release with its own -sname and -setcookie (bin/relx_app foreground) clusters" {
    local start n
    start=$(foundation_now)
    for n in 2 3; do
        E2E_APP=relx-app E2E_VIEW=rpc e2e_start_instance "$n"
    done
    e2e_wait_full_mesh 90 2 3 >/dev/null
    e2e_report "relx release: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}

@test "a plain erl command line (erl -noshell -pa ebin -s plain_app) clusters" {
    local start n
    start=$(foundation_now)
    for n in 4 5; do
        E2E_APP=erl-app E2E_VIEW=rpc e2e_start_instance "$n"
    done
    e2e_wait_full_mesh 90 4 5 >/dev/null
    e2e_report "plain erl: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}
