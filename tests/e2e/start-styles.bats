#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# Every start style the buildpack supports clusters without a change to the app: `mix run`
# (covered by every other suite), a Mix release, a rebar3/relx release that ships its own
# vm.args with -sname and -setcookie, and a plain `erl` command line. Each app is its own
# cluster on the shared registry; two instances of each must mesh. Then each style again
# with ERLANG_CLUSTER_TLS=true and an instance identity like Diego's, plus `elixir -S mix`:
# two instances mesh over mutual TLS, and the cf ssh guest tools of the style reach the app
# node over TLS (bin/app rpc, relx ping, a plain erl; iex --remsh and bin/app remote need a
# terminal: tests/bats/launch_tls.bats). A release boots from
# its own lib/, so the TLS releases are of variants that carry ssl (one line in mix.exs or
# rebar.config, as users add it); the others run the same droplets, TLS set at run time
# (cf set-env and restart), and stay apart from the clear-text instances of their app.

setup_file() {
    load helper
    load tls_helper
    e2e_setup_file
    tls_setup_identity
    e2e_start_registry
    e2e_stage_sample_app
    e2e_stage_app relx-app "$E2E_REPO/tests/fixtures/relx-app"
    e2e_stage_app erl-app "$E2E_REPO/tests/fixtures/erl-app"
    stage_variant elixir-app mix.exs \
        's/extra_applications: \[:logger\]/extra_applications: [:logger, :ssl]/' tls-mix-release-app
    stage_variant relx-app rebar.config 's/\[relx_app, sasl\]/[relx_app, sasl, ssl]/' tls-relx-app
}

# stage_variant FIXTURE FILE SED_EXPRESSION NAME: the fixture with one edit, staged as app NAME.
stage_variant() {
    local source=$E2E_DIR/sources/$4
    mkdir -p "$E2E_DIR/sources"
    cp -a "$E2E_REPO/tests/fixtures/$1" "$source"
    sed -i "$3" "$source/$2"
    ! cmp -s "$source/$2" "$E2E_REPO/tests/fixtures/$1/$2" ||
        { e2e_fail "the edit '$3' changed nothing in $1/$2"; return 1; }
    e2e_stage_app "$4" "$source"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
    load tls_helper
}

# tls_pair_meshes N M: instances N and M see exactly each other, over TLS with each other's
# current certificates, and their agents say TLS.
tls_pair_meshes() {
    e2e_wait_full_mesh 90 "$1" "$2" >/dev/null
    run tls_mesh_over_tls "$1" "$2"
    [ "$status" -eq 0 ] || { printf '%s\n' "$output" >&2; return 1; }
    foundation_wait 10 "instance $1's status to show TLS" tls_status_ok "$1"
    foundation_wait 10 "instance $2's status to show TLS" tls_status_ok "$2"
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

@test "TLS: a Mix release clusters; bin/cluster_app rpc reaches it from cf ssh" {
    local start n rel=_build/prod/rel/cluster_app/bin/cluster_app
    start=$(foundation_now)
    for n in 6 7; do
        E2E_APP=tls-mix-release-app tls_start_instance "$n" --start-command "$rel start"
    done
    tls_pair_meshes 6 7
    e2e_report "Mix release over TLS: full mesh of 2 $(foundation_elapsed "$start") s after launch"
    run e2e_ssh 6 "$rel rpc 'IO.puts(node())'"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "$(tls_node_of 6)" ]
}

@test "TLS: a relx release clusters; relx ping reaches it from cf ssh" {
    local start n
    start=$(foundation_now)
    for n in 8 9; do
        E2E_APP=tls-relx-app E2E_VIEW=rpc tls_start_instance "$n"
    done
    tls_pair_meshes 8 9
    e2e_report "relx release over TLS: full mesh of 2 $(foundation_elapsed "$start") s after launch"
    run e2e_ssh 8 "_build/prod/rel/relx_app/bin/relx_app ping"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = pong ]
}

@test "TLS: a plain erl command line clusters; a guest erl from cf ssh reaches it" {
    local start n
    start=$(foundation_now)
    for n in 10 11; do
        E2E_APP=erl-app E2E_VIEW=rpc tls_start_instance "$n"
    done
    tls_pair_meshes 10 11
    e2e_report "plain erl over TLS: full mesh of 2 $(foundation_elapsed "$start") s after launch"
    # shellcheck disable=SC2016 # expanded by the shell in the instance
    run e2e_ssh 10 'erl -noshell -name "guest@$CF_INSTANCE_INTERNAL_IP" -eval "io:format(\"~p~n\", [net_adm:ping(list_to_atom(\"$(cat "$TMPDIR/erlang-cluster/node_name")\"))]), halt()."'
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = pong ]
}

@test "TLS: elixir -S mix run clusters" {
    local start n
    start=$(foundation_now)
    for n in 12 13; do
        tls_start_instance "$n" --start-command "elixir -S mix run --no-halt"
    done
    tls_pair_meshes 12 13
    e2e_report "elixir -S mix run over TLS: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}
