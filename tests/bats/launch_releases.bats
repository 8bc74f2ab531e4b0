#!/usr/bin/env bats
# The launch step with what real Elixir apps bring, under the local launcher: pre-step BEAMs
# before the server (they run unnamed and hold no port), and a Mix release with its own
# env.sh, vm.args and remote.vm.args started through phx.gen.release's overlays.

load lifecycle_helper

setup_file() {
    lifecycle_setup_file
}

setup() {
    lifecycle_setup
}

teardown() {
    lifecycle_teardown
}

# A copy of the elixir-app droplet whose release carries what apps commonly add: an env.sh
# (rel/env.sh.eex) that sets its own distribution, name and cookie, a vm.args.eex and a
# remote.vm.args.eex with -name/-setcookie, and phx.gen.release's bin/server and bin/migrate
# overlays. Sets DROPLET to the copy.
droplet_with_app_release_settings() {
    droplet_for elixir-app compile-only
    local copy="$BATS_TEST_TMPDIR/droplet" rel vsn
    cp -a "$DROPLET" "$copy"
    DROPLET=$copy
    rel="$copy/app/_build/prod/rel/cluster_app"
    vsn="$rel/releases/$(cut -d' ' -f2 "$rel/releases/start_erl.data")"
    cat >>"$vsn/env.sh" <<'SH'
export RELEASE_DISTRIBUTION=name
export RELEASE_NODE="cluster_app@${CF_INSTANCE_INTERNAL_IP:-127.0.0.1}"
export RELEASE_COOKIE=the-apps-own-cookie
SH
    printf '%s\n' '-name cluster_app@127.0.0.1' '-setcookie the-apps-own-cookie' '+A 4' >>"$vsn/vm.args"
    printf '%s\n' '-setcookie the-apps-own-cookie' >>"$vsn/remote.vm.args"
    cat >"$rel/bin/server" <<'SH'
#!/bin/sh
set -eu

cd -P -- "$(dirname -- "$0")"
PHX_SERVER=true exec ./cluster_app start
SH
    cat >"$rel/bin/migrate" <<'SH'
#!/bin/sh
set -eu

cd -P -- "$(dirname -- "$0")"
exec ./cluster_app eval ClusterApp.Release.migrate
SH
    chmod +x "$rel/bin/server" "$rel/bin/migrate"
}

@test "a Mix release started by bin/migrate && bin/server, with its own env.sh, vm.args and remote.vm.args, runs clustered under ours" {
    droplet_with_app_release_settings
    local start='_build/prod/rel/cluster_app/bin/migrate && _build/prod/rel/cluster_app/bin/server'
    launch_instance web0 --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    wait_for_node elixir-app@127.0.0.5 "$(droplet_cookie)"
    grep -q '^erlang-cluster: node elixir-app@127.0.0.5, epmd-less distribution port 9001, start style mix-release' "$INSTANCE_LOG"
    grep -qx 'pre-step Release.migrate ran on nonode@nohost' "$INSTANCE_LOG"
    run grep -c 'Multiple -name\|already started\|cannot start distribution' "$INSTANCE_LOG"
    [ "$output" = 0 ]
    # The name once, ours; the app's other vm.args flags kept.
    run probe_rpc elixir-app@127.0.0.5 init get_argument '[name]'
    [ "$output" = '{ok,[["elixir-app@127.0.0.5"]]}' ]
    run probe_rpc elixir-app@127.0.0.5 erlang system_info '[thread_pool_size]'
    [ "$output" = 4 ]
    # The app's own cookie does not get in.
    probe_cookie the-apps-own-cookie
    run probe_rpc elixir-app@127.0.0.5 erlang node '[]'
    [ "$output" = no_connection ]
    # From cf ssh, the release's rpc (with remote.vm.args) reaches the app under ours.
    run ssh_run "_build/prod/rel/cluster_app/bin/cluster_app rpc 'IO.puts(node())'" \
        --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = elixir-app@127.0.0.5 ]
}

@test "a pre-step BEAM (mix ecto.migrate &&) runs unnamed and holds no port; the server after it takes the name" {
    droplet_for elixir-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name elixir-app \
        --start-command 'mix ecto.migrate && mix run --no-halt'
    NODE_WAIT_SECONDS=90 wait_for_node elixir-app@127.0.0.5 "$(droplet_cookie)" # two mix BEAMs
    grep -qx 'pre-step ecto.migrate ran on nonode@nohost' "$INSTANCE_LOG"
    run grep -c 'erlang-cluster: a pre-step BEAM' "$INSTANCE_LOG"
    [ "$output" = 1 ]
    run listeners_on_port 9001
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"pid=$(instance_beam_pid),"* ]]
}
