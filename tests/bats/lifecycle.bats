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

    # The name reached the VM exactly once: on a release's command line (or vm.args), or
    # (erl style) from the boot expression in node.args, which names only the server BEAM.
    if [ "$style" = erl ]; then
        run probe_rpc "$node" init get_argument '[name]'
        [ "$output" = error ]
    else
        run probe_rpc "$node" init get_argument '[name]'
        [ "$output" = "{ok,[[\"$node\"]]}" ]
    fi
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

# make_bp DIR SCRIPT BODY: a throwaway buildpack script DIR/bin/SCRIPT running BODY.
make_bp() {
    mkdir -p "$1/bin"
    printf '#!/usr/bin/env bash\nset -euo pipefail\n%s\n' "$3" >"$1/bin/$2"
    chmod +x "$1/bin/$2"
}

# A final buildpack of each kind whose bin/release gives web: release-web.
make_final() { # DIR compile-only|finalize
    make_bp "$1" release 'printf -- "---\ndefault_process_types:\n  web: release-web\n"'
    if [ "$2" = finalize ]; then
        make_bp "$1" finalize 'echo "finalize $#"'
    else
        make_bp "$1" compile 'echo "compile $#"'
    fi
}

# stage_app ARGS...: cf-stage a tiny app into $BATS_TEST_TMPDIR/droplet (removed first).
stage_app() {
    mkdir -p "$BATS_TEST_TMPDIR/app"
    [ -f "$BATS_TEST_TMPDIR/app/index.txt" ] || echo hello >"$BATS_TEST_TMPDIR/app/index.txt"
    rm -rf "$BATS_TEST_TMPDIR/droplet"
    run "$LIFECYCLE_SUPPORT/cf-stage" --app "$BATS_TEST_TMPDIR/app" \
        --droplet "$BATS_TEST_TMPDIR/droplet" "$@"
}

staged_start_command() {
    jq -r .start_command "$BATS_TEST_TMPDIR/droplet/staging_info.yml"
}

@test "any failure of the final buildpack ends staging with 223, a supply buildpack's with 225" {
    local t=$BATS_TEST_TMPDIR
    make_bp "$t/ok-supply" supply 'true'
    make_bp "$t/bad-supply" supply 'echo "supply broke" >&2; exit 3'

    make_final "$t/final-bad-own-supply" finalize
    make_bp "$t/final-bad-own-supply" supply 'exit 4'
    stage_app --buildpack "$t/ok-supply" --buildpack "$t/final-bad-own-supply"
    [ "$status" -eq 223 ]
    [[ "$output" == *"Failed to compile droplet"* ]]

    make_final "$t/final-bad-finalize" finalize
    make_bp "$t/final-bad-finalize" finalize 'exit 5'
    stage_app --buildpack "$t/ok-supply" --buildpack "$t/final-bad-finalize"
    [ "$status" -eq 223 ]

    make_final "$t/final-bad-compile" compile-only
    make_bp "$t/final-bad-compile" compile 'exit 6'
    stage_app --buildpack "$t/final-bad-compile"
    [ "$status" -eq 223 ]
    [ ! -e "$t/droplet" ]

    make_final "$t/final-ok" finalize
    stage_app --buildpack "$t/bad-supply" --buildpack "$t/final-ok"
    [ "$status" -eq 225 ]
    [[ "$output" == *"supply broke"* ]]
    [[ "$output" == *"Failed to run all supply scripts"* ]]
    [ ! -e "$t/droplet" ]

    stage_app --buildpack "$t/ok-supply" --buildpack "$t/final-ok"
    [ "$status" -eq 0 ]
}

@test "no start command at all is a warning, not a failure; the launcher then needs one" {
    local t=$BATS_TEST_TMPDIR
    make_bp "$t/final" compile 'true'
    make_bp "$t/final" release 'printf -- "---\ndefault_process_types:\n  worker: run-worker\n"'
    stage_app --buildpack "$t/final"
    [ "$status" -eq 0 ]
    [[ "$output" == *"No start command specified by buildpack or via Procfile."* ]]
    [ "$(staged_start_command)" = "" ]

    DROPLET="$t/droplet"
    launch_instance web0
    local rc=0
    wait "$INSTANCE_PID" || rc=$?
    [ "$rc" -eq 1 ]
    grep -qF "no start command specified or detected in droplet" "$INSTANCE_LOG"
    # A start command given at run time (cf push -c, a task) still starts it.
    launch_instance web1 --start-command 'echo started'
    wait "$INSTANCE_PID"
    grep -qx started "$INSTANCE_LOG"
}

@test "staging_info.yml is compact JSON naming the last buildpack's config.yml name, with only entrypoint_prefix kept" {
    local t=$BATS_TEST_TMPDIR
    make_bp "$t/supply" supply 'printf "name: supply-bp\nversion: 1.0\n" >"$3/$4/config.yml"'
    make_final "$t/final" finalize
    make_bp "$t/final" finalize 'cat >"$3/$4/config.yml" <<YAML
name: fake-final
version: 2.0
config:
  entrypoint_prefix: env ENTRYPOINT_MARK=prefixed bash -c
  some_other_key: dropped
YAML'
    mkdir -p "$t/app"
    # shellcheck disable=SC2016 # expanded by the app's shell
    echo 'web: echo "mark=${ENTRYPOINT_MARK-none}" && echo "<done>"' >"$t/app/Procfile"
    stage_app --buildpack "$t/supply" --buildpack "$t/final"
    [ "$status" -eq 0 ]
    run cat "$t/droplet/staging_info.yml"
    [ "${#lines[@]}" -eq 1 ]
    # Go's encoder: struct field order, compact, & < > escaped.
    [ "$output" = '{"detected_buildpack":"fake-final","start_command":"echo \"mark=${ENTRYPOINT_MARK-none}\" \u0026\u0026 echo \"\u003cdone\u003e\"","config":{"entrypoint_prefix":"env ENTRYPOINT_MARK=prefixed bash -c"}}' ]

    # The launcher runs the start command through the prefix instead of `bash -c`.
    DROPLET="$t/droplet"
    launch_instance web0
    wait "$INSTANCE_PID"
    grep -qx "mark=prefixed" "$INSTANCE_LOG"
    grep -qx "<done>" "$INSTANCE_LOG"

    # A compile-only final buildpack has no deps dir, so no name: supply names do not count.
    make_final "$t/compile-only" compile-only
    stage_app --buildpack "$t/supply" --buildpack "$t/compile-only"
    [ "$status" -eq 0 ]
    run cat "$t/droplet/staging_info.yml"
    [ "$output" = '{"detected_buildpack":"","start_command":"echo \"mark=${ENTRYPOINT_MARK-none}\" \u0026\u0026 echo \"\u003cdone\u003e\""}' ]
    launch_instance web1
    wait "$INSTANCE_PID"
    grep -qx "mark=none" "$INSTANCE_LOG"
}

@test "start commands: supply launch.yml in order, then the final's launch.yml or bin/release over them, then the Procfile" {
    local t=$BATS_TEST_TMPDIR
    make_bp "$t/supply0" supply 'printf "processes:\n- type: web\n  command: web-from-0\n- type: worker\n  command: worker-from-0\n" >"$3/$4/launch.yml"'
    make_bp "$t/supply1" supply 'printf "processes:\n- type: web\n  command: web-from-1\n" >"$3/$4/launch.yml"'
    make_bp "$t/supply-worker" supply 'printf "processes:\n- type: worker\n  command: worker-only\n" >"$3/$4/launch.yml"'
    make_final "$t/final" compile-only

    # A later supply buildpack's web replaces an earlier one's...
    make_bp "$t/final-launch" release 'echo "release must not run" >&2; exit 1'
    make_bp "$t/final-launch" finalize 'printf "processes:\n- type: worker\n  command: final-worker\n" >"$3/$4/launch.yml"'
    stage_app --buildpack "$t/supply0" --buildpack "$t/supply1" --buildpack "$t/final-launch"
    [ "$status" -eq 0 ]
    [ "$(staged_start_command)" = web-from-1 ]
    # ...and is kept when the next one has no web.
    stage_app --buildpack "$t/supply1" --buildpack "$t/supply-worker" --buildpack "$t/final-launch"
    [ "$(staged_start_command)" = web-from-1 ]

    # Without a launch.yml of its own, the final buildpack's bin/release web replaces theirs.
    stage_app --buildpack "$t/supply0" --buildpack "$t/supply1" --buildpack "$t/final"
    [ "$status" -eq 0 ]
    [ "$(staged_start_command)" = release-web ]

    # The final buildpack's own launch.yml web wins over the supply buildpacks'.
    make_bp "$t/final-launch-web" release 'exit 1'
    make_bp "$t/final-launch-web" finalize 'printf "processes:\n- type: web\n  command: final-launch-web\n" >"$3/$4/launch.yml"'
    stage_app --buildpack "$t/supply1" --buildpack "$t/final-launch-web"
    [ "$(staged_start_command)" = final-launch-web ]

    # The Procfile overrides all.
    printf 'web: procfile-web\nworker: procfile-worker\n' >"$t/app/Procfile"
    stage_app --buildpack "$t/supply0" --buildpack "$t/final"
    [ "$(staged_start_command)" = procfile-web ]
    stage_app --buildpack "$t/supply1" --buildpack "$t/final-launch-web"
    [ "$(staged_start_command)" = procfile-web ]
}

@test "launch.yml is read under the unpadded index: with 10+ buildpacks the padded dirs' are ignored" {
    local t=$BATS_TEST_TMPDIR bps=() i
    for i in $(seq 0 9); do
        make_bp "$t/bp$i" supply 'true'
        bps+=(--buildpack "$t/bp$i")
    done
    # Index 5 writes deps/5/launch.yml (unpadded), index 7 its own deps/07/launch.yml.
    make_bp "$t/bp5" supply 'mkdir -p "$3/5"; printf "processes:\n- type: web\n  command: unpadded-5\n" >"$3/5/launch.yml"'
    make_bp "$t/bp7" supply 'printf "processes:\n- type: web\n  command: padded-07\n" >"$3/$4/launch.yml"'
    make_bp "$t/final" finalize '[ "$4" = 10 ]'
    make_bp "$t/final" release 'printf -- "---\ndefault_process_types:\n  worker: w\n"'
    stage_app "${bps[@]}" --buildpack "$t/final"
    [ "$status" -eq 0 ]
    [ -f "$t/droplet/deps/07/launch.yml" ]
    [ "$(staged_start_command)" = unpadded-5 ]
}

@test "the launcher's VCAP_APPLICATION takes instance_id/instance_index from INSTANCE_GUID/INSTANCE_INDEX, keys sorted" {
    droplet_for erl-app compile-only
    local start='echo "cf=$CF_INSTANCE_INDEX/$CF_INSTANCE_GUID"; printf "%s\n" "$VCAP_APPLICATION"'
    launch_instance web3 --index 3 --guid g-3 --port 8123 --app-name erl-app \
        --env INSTANCE_INDEX=7 --env INSTANCE_GUID=g-from-instance-guid --start-command "$start"
    wait "$INSTANCE_PID"
    grep -qx "cf=3/g-3" "$INSTANCE_LOG"
    local vcap
    vcap=$(grep '^{' "$INSTANCE_LOG")
    [ "$(jq -c '[.instance_index, .instance_id, .host, .port, .application_name]' <<<"$vcap")" = \
        '[7,"g-from-instance-guid","0.0.0.0",8123,"erl-app"]' ]
    # Re-encoded as Go's json.Marshal of a map does: compact, every object's keys sorted.
    [ "$vcap" = "$(jq -cS . <<<"$vcap")" ]
}

# A supply buildpack that records where it ran and what its cache held, and leaves a file
# in its cache.
make_cache_supply() {
    make_bp "$1" supply "record=$2"'
{
    echo "bp_dir=$(cd "$(dirname "$0")/.." && pwd)"
    echo "cache_dir=$2"
    echo "found=$(cat "$2/left-here" 2>/dev/null || echo nothing)"
} >"$record"
echo "staging $(date +%s%N)" >"$2/left-here"'
}

@test "buildpack and cache dirs are named by the XXH64 of the key; a supply buildpack's cache comes back at the next staging" {
    local t=$BATS_TEST_TMPDIR cache=$BATS_TEST_TMPDIR/cache hash
    make_cache_supply "$t/cache-bp" "$t/record"
    make_bp "$t/final" compile 'echo "final_cache=$2" >"'"$t"'/final-record"; echo kept >"$2/final-file"'
    make_bp "$t/final" release 'printf -- "---\ndefault_process_types:\n  web: w\n"'
    hash=$(printf '%s' "$t/cache-bp" | xxh64sum | cut -d' ' -f1 | sed 's/^0*//')

    stage_app --buildpack "$t/cache-bp" --buildpack "$t/final" --cache-root "$cache"
    [ "$status" -eq 0 ]
    run cat "$t/record"
    [ "$(basename "${lines[0]#bp_dir=}")" = "$hash" ]
    [ "$(basename "$(dirname "${lines[0]#bp_dir=}")")" = buildpacks ]
    [ "${lines[1]}" = "cache_dir=$cache/$hash" ]
    [ "${lines[2]}" = "found=nothing" ]
    grep -qx "final_cache=$cache/final" "$t/final-record"
    local first
    first=$(cat "$cache/$hash/left-here")

    # The next staging of the same app gets the cache back, the final buildpack's too.
    stage_app --buildpack "$t/cache-bp" --buildpack "$t/final" --cache-root "$cache"
    [ "$status" -eq 0 ]
    run cat "$t/record"
    [ "${lines[2]}" = "found=$first" ]
    [ "$(cat "$cache/final/final-file")" = kept ]

    # The cache of a buildpack this staging does not use is deleted.
    make_cache_supply "$t/other-bp" "$t/other-record"
    stage_app --buildpack "$t/other-bp" --buildpack "$t/final" --cache-root "$cache"
    [ "$status" -eq 0 ]
    [ ! -e "$cache/$hash" ]
    run ls "$cache"
    [ "${#lines[@]}" -eq 2 ]
    [ -d "$cache/final" ]
}

@test "a buildpack whose files sit under one top-level folder still stages" {
    local t=$BATS_TEST_TMPDIR
    make_bp "$t/zip-root/nested-bp" supply 'echo "nested supply ran" >"$3/$4/ran"'
    make_final "$t/final" finalize
    stage_app --buildpack "$t/zip-root" --buildpack "$t/final"
    [ "$status" -eq 0 ]
    [ "$(cat "$t/droplet/deps/0/ran")" = "nested supply ran" ]
}
