#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Several apps on one registry: the cluster name, not the cookie alone, decides who meshes.
# All three apps here share one cookie (the app's own .erlang.cookie), so only the buildpack's
# cluster-name filtering keeps alpha and beta apart; gamma sets ERLANG_CLUSTER_NAME=alpha and
# so joins alpha.

POLL_INTERVAL=5   # the buildpack's default ERLANG_CLUSTER_POLL_INTERVAL

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry
    local source=$E2E_DIR/shared-cookie-app
    cp -a "$E2E_REPO/tests/fixtures/elixir-app" "$source"
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$source/.erlang.cookie")
    chmod 0400 "$source/.erlang.cookie"
    e2e_stage_app alpha "$source"
    e2e_stage_app beta "$source"
    e2e_stage_app gamma "$source" --env ERLANG_CLUSTER_NAME=alpha
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

# Two separate clusters: alpha = instances 0 1, beta = instances 2 3.
apart() {
    e2e_full_mesh 0 1 && e2e_full_mesh 2 3
}

@test "two apps with different cluster names on one registry never connect, even with one cookie" {
    E2E_APP=alpha e2e_start_instance 0
    E2E_APP=alpha e2e_start_instance 1
    E2E_APP=beta e2e_start_instance 2
    E2E_APP=beta e2e_start_instance 3
    cmp "$E2E_DIR/droplets/alpha/app/.erlang.cookie" "$E2E_DIR/droplets/beta/app/.erlang.cookie"
    foundation_wait 90 "alpha (0 1) and beta (2 3) to mesh separately" apart

    # Both are registered, under their own names ...
    run registry_admin GET /state
    [ "$(jq -r '[.instances[].app] | sort | join(" ")' <<<"$output")" = "ALPHA ALPHA BETA BETA" ]
    # ... and stay apart for three discovery rounds: alpha's nodes see only each other in
    # every look (a connection to beta would show on both sides).
    local looks
    looks=$(e2e_watch_mesh $((POLL_INTERVAL * 3)) 0 1)
    e2e_full_mesh 2 3
    e2e_report "alpha and beta stayed apart over $((POLL_INTERVAL * 3)) s: ${looks} looks"
}

@test "an app with the same ERLANG_CLUSTER_NAME and cookie joins the other app's cluster" {
    E2E_APP=alpha e2e_ensure_instances 0 1
    E2E_APP=beta e2e_ensure_instances 2 3
    local start
    start=$(foundation_now)
    E2E_APP=gamma e2e_start_instance 4
    E2E_APP=gamma e2e_start_instance 5
    e2e_wait_full_mesh 90 0 1 4 5 >/dev/null
    e2e_report "gamma joined alpha: full mesh of 4 $(foundation_elapsed "$start") s after launch"
    e2e_full_mesh 2 3
}
