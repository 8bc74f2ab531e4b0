#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# ERLANG_CLUSTER_TLS=true against an app that also brings distribution flags of its own (OTP
# 25 given two -proto_dist runs plain TCP without a word; src/launch/flag_guard.c). Two
# instances whose environment carries -proto_dist inet_tcp in ERL_AFLAGS, ERL_FLAGS, ERL_ZFLAGS
# and ELIXIR_ERL_OPTIONS mesh over TLS, every connection TLS, and a clear-text node holding the
# cookie is refused; a Mix release whose rel/vm.args.eex says -proto_dist inet_tcp starts
# unclustered, and a clear-text node with the droplet's cookie reaches nothing. Each log says
# what was found. (Every other source, one by one: tests/bats/launch_tls.bats.)

FLAGS_APP=tls-flags-app
MIX_APP=tls-mix-proto-app

setup_file() {
    load helper
    load tls_helper
    e2e_setup_file
    tls_setup_identity
    PEERS=$(for n in 0 1; do foundation_instance_ip "$n"; done | paste -sd,)
    export PEERS
    e2e_stage_app "$FLAGS_APP" "$E2E_REPO/tests/fixtures/elixir-app" --env ERLANG_CLUSTER_TLS=true \
        --env "ERLANG_CLUSTER_PEERS=$PEERS"
    local app=$E2E_DIR/apps/$MIX_APP
    mkdir -p "$E2E_DIR/apps"
    cp -a "$E2E_REPO/tests/fixtures/elixir-app" "$app"
    sed -i 's/extra_applications: \[:logger\]/extra_applications: [:logger, :ssl]/' "$app/mix.exs"
    mkdir -p "$app/rel"
    printf '%s\n' '## distribution as the app once set it up by hand' '-proto_dist inet_tcp' \
        >"$app/rel/vm.args.eex"
    e2e_stage_app "$MIX_APP" "$app" --env ERLANG_CLUSTER_TLS=true --env ERLANG_CLUSTER_DISCOVERY=none
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
    load tls_helper
}

teardown() {
    tls_intruder_stop
}

@test "flags in ERL_AFLAGS, ERL_FLAGS, ERL_ZFLAGS and ELIXIR_ERL_OPTIONS are taken out: the mesh is TLS and a clear-text node with the cookie is refused" {
    local n
    for n in 0 1; do
        E2E_APP=$FLAGS_APP tls_start_instance "$n" --env "ERLANG_CLUSTER_PEERS=$PEERS" \
            --env 'ERL_AFLAGS=-proto_dist inet_tcp' --env 'ERL_FLAGS=-proto_dist inet_tcp' \
            --env 'ERL_ZFLAGS=-proto_dist inet_tcp' --env 'ELIXIR_ERL_OPTIONS=-proto_dist inet_tcp'
    done
    e2e_wait_full_mesh 90 0 1 >/dev/null
    run tls_mesh_over_tls 0 1
    [ "$status" -eq 0 ] || { printf '%s\n' "$output" >&2; false; }
    tls_intruder_start clear-text 0
    run cat "$TLS_INTRUDER_HOME/ping"
    [ "$output" = "pang []" ]
    for n in 0 1; do
        run grep -E '^erlang-cluster: (ERL_AFLAGS|ERL_FLAGS|ERL_ZFLAGS|ELIXIR_ERL_OPTIONS) has -proto_dist inet_tcp: taken out for this start, .* \(3 more such flags found\.\)$' "$(e2e_agent_log "$n")"
        [ "${#lines[@]}" -eq 1 ]
    done
}

@test "a Mix release whose rel/vm.args.eex says -proto_dist inet_tcp starts unclustered, says so, and a clear-text node with the cookie reaches nothing" {
    E2E_APP=$MIX_APP tls_start_instance 0 \
        --start-command '_build/prod/rel/cluster_app/bin/cluster_app start'
    local log
    log=$(e2e_agent_log 0)
    foundation_wait 60 "the launch line" grep -q '^erlang-cluster:' "$log"
    run grep '^erlang-cluster:' "$log"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "erlang-cluster: "*"/_build/prod/rel/cluster_app/releases/0.1.0/vm.args has -proto_dist inet_tcp, "*"the app starts unclustered. Remove it from rel/vm.args.eex and push again." ]]
    [ ! -e "$(e2e_instance_root 0)/tmp/erlang-cluster/node_name" ]
    # The name and port the cluster would have given it answer no one in clear text.
    mkdir -p "$(e2e_instance_root 0)/tmp/erlang-cluster"
    printf 'tls-mix-proto-app@%s\n' "$(foundation_instance_ip 0)" \
        >"$(e2e_instance_root 0)/tmp/erlang-cluster/node_name"
    tls_intruder_start clear-text 0
    run cat "$TLS_INTRUDER_HOME/ping"
    [ "$output" = "pang []" ]
}
