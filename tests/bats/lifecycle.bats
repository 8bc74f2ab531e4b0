#!/usr/bin/env bats
# Each start style, staged through the local CF lifecycle with each kind of final buildpack
# and started by the local launcher, boots as <basename>@$CF_INSTANCE_INTERNAL_IP with the
# droplet's cookie, listening on the distribution port, given its name exactly once.

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

# assert_clustered NODE STYLE: the app node answers with the droplet's cookie, its BEAM
# listens on 9001 (and nothing else does), no epmd runs, its output has no "Multiple -name"
# warning, it was given the name once, and (except for Mix releases, which always pass
# --cookie) the cookie is on no command line.
assert_clustered() {
    local node=$1 style=$2 cookie beam
    cookie=$(cat "$DROPLET/app/.erlang.cookie")
    wait_for_node "$node" "$cookie"

    beam=$(instance_beam_pid)
    run listeners_on_port 9001
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"pid=$beam,"* ]]
    run listeners_on_port 4369 # epmd-less: no epmd
    [ -z "$output" ]

    run grep -c 'Multiple -name' "$INSTANCE_LOG"
    [ "$output" = 0 ]
    run grep -c "^erlang-cluster: node $node, epmd-less distribution port 9001, start style $style" "$INSTANCE_LOG"
    [ "$output" = 1 ]

    # The name reached the VM exactly once, whatever the route (argv or args file).
    run probe_rpc "$node" init get_argument '[name]'
    [ "$output" = "{ok,[[\"$node\"]]}" ]
    run probe_rpc "$node" init get_argument '[sname]'
    [ "$output" = error ]

    if [ "$style" != mix-release ]; then
        cookie_not_in_any_cmdline "$cookie"
    fi
}

# A wrong cookie must not get in: the node really checks the cookie it was given.
assert_wrong_cookie_refused() {
    probe_cookie "not-the-cookie"
    run probe_rpc "$1" erlang node '[]'
    [ "$output" = no_connection ]
}

@test "mix run --no-halt boots clustered after a compile-only final buildpack" {
    droplet_for elixir-app compile-only
    launch_instance web0 --ip 127.0.0.5 --port 8080 --app-name elixir-app
    assert_clustered elixir-app@127.0.0.5 erl
    run http_get 8080
    [ "$status" -eq 0 ]
    [ "$output" = '{"current_node": "elixir-app@127.0.0.5", "connected_nodes": []}' ]
    assert_wrong_cookie_refused elixir-app@127.0.0.5
}

@test "mix run --no-halt boots clustered after a finalize-capable final buildpack" {
    droplet_for elixir-app finalize
    launch_instance web0 --ip 127.0.0.6 --port 8080 --app-name elixir-app
    assert_clustered elixir-app@127.0.0.6 erl
    run http_get 8080
    [ "$output" = '{"current_node": "elixir-app@127.0.0.6", "connected_nodes": []}' ]
}

@test "elixir -S mix run --no-halt boots clustered after a compile-only final buildpack" {
    droplet_for elixir-app compile-only
    launch_instance web0 --ip 127.0.0.7 --app-name elixir-app \
        --start-command 'elixir -S mix run --no-halt'
    assert_clustered elixir-app@127.0.0.7 erl
}

@test "elixir -S mix run --no-halt boots clustered after a finalize-capable final buildpack" {
    droplet_for elixir-app finalize
    launch_instance web0 --ip 127.0.0.7 --app-name elixir-app \
        --start-command 'elixir -S mix run --no-halt'
    assert_clustered elixir-app@127.0.0.7 erl
}

@test "a Mix release (bin/app start) boots clustered after a compile-only final buildpack" {
    droplet_for elixir-app compile-only
    launch_instance web0 --ip 127.0.0.8 --port 8081 --app-name elixir-app \
        --start-command '_build/prod/rel/cluster_app/bin/cluster_app start'
    assert_clustered elixir-app@127.0.0.8 mix-release
    run http_get 8081
    [ "$output" = '{"current_node": "elixir-app@127.0.0.8", "connected_nodes": []}' ]
}

@test "a Mix release (bin/app start) boots clustered after a finalize-capable final buildpack" {
    droplet_for elixir-app finalize
    launch_instance web0 --ip 127.0.0.8 --app-name elixir-app \
        --start-command 'cd _build/prod/rel/cluster_app && bin/cluster_app start'
    assert_clustered elixir-app@127.0.0.8 mix-release
    assert_wrong_cookie_refused elixir-app@127.0.0.8
}

@test "a relx release with its own -sname vm.args boots clustered after a compile-only final buildpack" {
    droplet_for relx-app compile-only
    launch_instance web0 --ip 127.0.0.9 --app-name relx-app
    assert_clustered relx-app@127.0.0.9 relx
    # The release's own flags are kept, its own name and cookie are not.
    run probe_rpc relx-app@127.0.0.9 erlang system_info '[kernel_poll]'
    [ "$output" = true ]
    assert_wrong_cookie_refused relx-app@127.0.0.9
    probe_cookie relx_app_cookie
    run probe_rpc relx-app@127.0.0.9 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "a relx release with its own -sname vm.args boots clustered after a finalize-capable final buildpack" {
    droplet_for relx-app finalize
    launch_instance web0 --ip 127.0.0.9 --app-name relx-app
    assert_clustered relx-app@127.0.0.9 relx
}

@test "plain erl -noshell -s boots clustered after a compile-only final buildpack" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.10 --app-name erl-app
    assert_clustered erl-app@127.0.0.10 erl
    run probe_rpc erl-app@127.0.0.10 erlang whereis '[plain_app]'
    [[ "$output" == "<"*">" ]]
    assert_wrong_cookie_refused erl-app@127.0.0.10
}

@test "plain erl -noshell -s boots clustered after a finalize-capable final buildpack" {
    droplet_for erl-app finalize
    launch_instance web0 --ip 127.0.0.10 --app-name erl-app
    assert_clustered erl-app@127.0.0.10 erl
}

@test "after a finalize-capable final buildpack both wrapper copies are sourced and the work is done once" {
    droplet_for erl-app finalize
    [ -f "$DROPLET/profile.d/000_multi-supply.sh" ]
    [ -f "$DROPLET/profile.d/0_erlang-cluster.sh" ]
    [ -f "$DROPLET/app/.profile.d/erlang-cluster.sh" ]
    launch_instance web0 --ip 127.0.0.11 --app-name erl-app
    wait_for_node erl-app@127.0.0.11 "$(cat "$DROPLET/app/.erlang.cookie")"
    run grep -c '^erlang-cluster:' "$INSTANCE_LOG"
    [ "$output" = 1 ]
}

@test "after a compile-only final buildpack the final deps dir is gone and only app/.profile.d runs the wrapper" {
    droplet_for erl-app compile-only
    [ -d "$DROPLET/deps/0" ]
    [ ! -e "$DROPLET/deps/1" ]
    run ls -A "$DROPLET/profile.d"
    [ -z "$output" ]
    [ -f "$DROPLET/app/.profile.d/erlang-cluster.sh" ]
    launch_instance web0 --ip 127.0.0.12 --app-name erl-app
    wait_for_node erl-app@127.0.0.12 "$(cat "$DROPLET/app/.erlang.cookie")"
}

@test "two instances of one droplet get their own names and the same cookie" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.21 --index 0 --app-name erl-app
    local first_pid=$INSTANCE_PID first_log=$INSTANCE_LOG
    launch_instance web1 --ip 127.0.0.22 --index 1 --app-name erl-app \
        --env ERLANG_CLUSTER_DIST_PORT=9002
    local cookie
    cookie=$(cat "$DROPLET/app/.erlang.cookie")
    PROBE_PORT=9002 wait_for_node erl-app@127.0.0.22 "$cookie"
    INSTANCE_PID=$first_pid INSTANCE_LOG=$first_log wait_for_node erl-app@127.0.0.21 "$cookie"
    run diff "$BATS_TEST_TMPDIR/web0/app/.erlang.cookie" "$BATS_TEST_TMPDIR/web1/app/.erlang.cookie"
    [ "$status" -eq 0 ]
}

# A supply buildpack that records how the stager called it.
make_recording_supply() {
    mkdir -p "$1/bin"
    cat >"$1/bin/supply" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
{
    echo "args=$#"
    echo "idx=$4"
    echo "deps_dir_env=${DEPS_DIR-unset}"
    echo "deps_arg_is_contents_deps=$([ "$(basename "$3")" = deps ] && [ -d "$3/$4" ] && echo yes)"
    echo "profile_d=$([ -d "$3/../profile.d" ] && echo yes)"
    echo "stack=$CF_STACK memory=$MEMORY_LIMIT lang=$LANG"
    echo "instance_fields=$(jq -c '[has("instance_index"), has("instance_id"), has("port")]' <<<"$VCAP_APPLICATION")"
    echo "services=$VCAP_SERVICES"
    echo "port=${PORT-unset} index=${CF_INSTANCE_INDEX-unset}"
} >"$(dirname "$0")/../record.$4"
SCRIPT
    chmod +x "$1/bin/supply"
}

@test "the stager pads IDX, leaves DEPS_DIR unset and gives supply buildpacks the staging env" {
    local bps=() i
    for i in $(seq 0 9); do
        make_recording_supply "$BATS_TEST_TMPDIR/bp$i"
        bps+=(--buildpack "$BATS_TEST_TMPDIR/bp$i")
    done
    run "$LIFECYCLE_SUPPORT/cf-stage" --app "$LIFECYCLE_REPO/tests/fixtures/erl-app" \
        --droplet "$BATS_TEST_TMPDIR/droplet" "${bps[@]}" \
        --buildpack "$LIFECYCLE_SUPPORT/final-buildpacks/compile-only" \
        --services '{"user-provided":[]}'
    [ "$status" -eq 0 ]
    # 11 buildpacks: two digits; the final (compile-only) one's deps dir is gone.
    run ls "$BATS_TEST_TMPDIR/droplet/deps"
    [ "$output" = "$(printf '%s\n' 00 01 02 03 04 05 06 07 08 09)" ]
    [ -f "$BATS_TEST_TMPDIR/bp3/record.03" ]
    run cat "$BATS_TEST_TMPDIR/bp9/record.09"
    [ "${lines[0]}" = args=4 ]
    [ "${lines[1]}" = idx=09 ]
    [ "${lines[2]}" = deps_dir_env=unset ]
    [ "${lines[3]}" = deps_arg_is_contents_deps=yes ]
    [ "${lines[4]}" = profile_d=yes ]
    [ "${lines[5]}" = "stack=cflinuxfs4 memory=1024m lang=en_US.UTF-8" ]
    [ "${lines[6]}" = 'instance_fields=[false,false,false]' ]
    [ "${lines[7]}" = 'services={"user-provided":[]}' ]
    [ "${lines[8]}" = "port=unset index=unset" ]
}

@test "the stager refuses a supply buildpack without bin/supply with the platform's exit code" {
    mkdir -p "$BATS_TEST_TMPDIR/no-supply/bin"
    run "$LIFECYCLE_SUPPORT/cf-stage" --app "$LIFECYCLE_REPO/tests/fixtures/erl-app" \
        --droplet "$BATS_TEST_TMPDIR/droplet" --buildpack "$BATS_TEST_TMPDIR/no-supply" \
        --buildpack "$LIFECYCLE_SUPPORT/final-buildpacks/compile-only"
    [ "$status" -eq 225 ]
    [[ "$output" == *"does not support multi-buildpack apps"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/droplet" ]
}

@test "the launcher gives the start command the platform's env, pre-start output and exec chain" {
    droplet_for erl-app finalize
    local start='echo "pid=$$"; echo "cwd=$PWD home=$HOME tmpdir=$TMPDIR deps=$DEPS_DIR port=$PORT"; echo "index=$CF_INSTANCE_INDEX/$INSTANCE_INDEX guid=$INSTANCE_GUID ip=$CF_INSTANCE_INTERNAL_IP"; jq -c "[.process_type, .instance_index, .instance_id, .port]" <<<"$VCAP_APPLICATION"'
    launch_instance web3 --ip 127.0.0.40 --index 3 --guid g-3 --port 8123 --app-name erl-app \
        --process-type web --start-command "$start"
    wait "$INSTANCE_PID"
    local root=$INSTANCE_ROOT
    run cat "$INSTANCE_LOG"
    [ "${lines[0]}" = "Invoking pre-start scripts." ]
    [[ "$output" == *$'\n'"Invoking start command."$'\n'* ]]
    [[ "$output" == *"cwd=$root/app home=$root/app tmpdir=$root/tmp deps=$root/deps port=8123"* ]]
    [[ "$output" == *"index=3/3 guid=g-3 ip=127.0.0.40"* ]]
    [[ "$output" == *'["web",3,"g-3",8123]'* ]]
    [[ "$output" == *"pid=$INSTANCE_PID"* ]] || { echo "$output; launched as $INSTANCE_PID"; false; }
}
