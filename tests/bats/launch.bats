#!/usr/bin/env bats
# The launch wrapper and `erlang-cluster-agent prepare` under the local launcher: port modes,
# run-time cookies, guests in the same container (cf ssh, tasks the app spawns), process
# types, the off switch, and a wrapper that survives hostile settings and shells.

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

# The `run` agents of the test's namespace, one PID a line.
agent_pids() {
    local pid
    for pid in $(ip netns pids "$LIFECYCLE_NS"); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '/erlang-cluster-agent run ' &&
            echo "$pid"
    done
    return 0
}

no_agent_runs() {
    [ -z "$(agent_pids)" ]
}

# What no guest may change once the app is up: the claim file and the launch files beside
# it (inode, modification time, content) and the one agent.
claim_snapshot() {
    local run_dir="$INSTANCE_ROOT/tmp/erlang-cluster" files=(node.args node_name start_style claim_owner env.sh)
    (cd "$run_dir" && stat -c '%n %i %y' "${files[@]}" && sha256sum "${files[@]}")
    echo "agents: $(agent_pids | tr '\n' ' ')"
}

# Waits until the agent has handed the claim over (node.args = guest flags), then records
# the claim snapshot in CLAIM_BEFORE.
claim_settled() {
    local run_dir="$INSTANCE_ROOT/tmp/erlang-cluster"
    wait_until 20 cmp -s "$run_dir/guest.args" "$run_dir/node.args"
    CLAIM_BEFORE=$(claim_snapshot)
    [ "$(agent_pids | wc -l)" -eq 1 ]
}

# The app's own BEAM starts a BEAM (os:cmd, its environment): it gets no name.
assert_app_spawns_a_guest() { # NODE
    run probe_rpc "$1" os cmd "[\"erl -noshell -eval 'erlang:display(node()), halt().'\"]"
    [[ "$output" == *"'nonode@nohost'"* ]]
}

# Runs the wrapper the way the launcher does (or, with WRAPPER_ARGV0=…/shell, as cf ssh
# does), but in a hostile shell (set -eu, pipefail, IFS=:) and
# without starting anything: prints "shell survived" and the exported env afterwards. Output
# goes through a file: the agent the wrapper starts keeps running (in the test's namespace,
# ended by teardown) and must not hold a pipe open.
# Usage: source_wrapper_in_hostile_shell ROOT START_COMMAND ENV...
source_wrapper_in_hostile_shell() {
    local root=$1 start=$2 out="$BATS_TEST_TMPDIR/hostile-shell.out" status=0
    shift 2
    # shellcheck disable=SC2016
    in_ns env -i PATH=/usr/bin:/bin HOME="$root/app" TMPDIR="$root/tmp" DEPS_DIR="$root/deps" \
        CF_INSTANCE_INTERNAL_IP=127.0.0.30 CF_INSTANCE_INDEX=0 PORT=8080 "$@" \
        bash -c 'set -euo pipefail; IFS=:; cd "$1"
            for f in ../profile.d/* .profile.d/*; do
                if [ -f "$f" ]; then . "$f"; fi
            done
            echo "shell survived"
            env' "${WRAPPER_ARGV0:-/tmp/lifecycle/launcher}" "$root/app" "$start" >"$out" 2>&1 </dev/null || status=$?
    cat "$out"
    return "$status"
}

vcap_application_json() { # NAME PROCESS_TYPE
    jq -cn --arg name "$1" --arg type "$2" \
        '{application_id: "a1", application_name: $name, name: $name, uris: [],
          application_uris: [], process_type: $type, instance_index: 0}'
}

@test "with ERLANG_CLUSTER_EPMD=true the node registers with epmd and listens on the pinned port" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app --env ERLANG_CLUSTER_EPMD=true
    PROBE_EPMD=true wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    run in_ns epmd -names
    [ "$status" -eq 0 ]
    [[ "$output" == *"name erl-app at port 9001"* ]]
    run listeners_on_port 9001
    [[ "$output" == *"pid=$(instance_beam_pid),"* ]]
    grep -q "^erlang-cluster: node erl-app@127.0.0.5, epmd with listen port 9001" "$INSTANCE_LOG"
}

@test "epmd-less by default: no epmd runs and the node listens on ERLANG_CLUSTER_DIST_PORT" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app --env ERLANG_CLUSTER_DIST_PORT=9123
    PROBE_PORT=9123 wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    run listeners_on_port 4369
    [ -z "$output" ]
    run listeners_on_port 9123
    [[ "$output" == *"pid=$(instance_beam_pid),"* ]]
}

@test "a cookie set at run time replaces the droplet's cookie file (0400) and stays out of output and argv" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app --env ERLANG_CLUSTER_COOKIE=run-time-Cookie-42
    wait_for_node erl-app@127.0.0.5 run-time-Cookie-42
    [ "$(stat -c %a "$INSTANCE_ROOT/app/.erlang.cookie")" = 400 ]
    [ "$(cat "$INSTANCE_ROOT/app/.erlang.cookie")" = run-time-Cookie-42 ]
    run grep -c run-time-Cookie-42 "$INSTANCE_LOG"
    [ "$output" = 0 ]
    cookie_not_in_any_cmdline run-time-Cookie-42
    probe_cookie "$(droplet_cookie)"
    run probe_rpc erl-app@127.0.0.5 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "a cf ssh shell's BEAMs reach the app and take neither its name nor its port" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    # A BEAM that asks for no name gets none.
    run ssh_run "erl -noshell -eval 'io:format(\"~p~n\", [node()]), halt().'" --ip 127.0.0.5 --app-name erl-app
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = nonode@nohost ]
    # A remote shell style BEAM with its own name reaches the app with the cookie file.
    run ssh_run "erl -noshell -name rem1@127.0.0.5 -eval 'io:format(\"~p~n\", [net_adm:ping(list_to_atom(\"erl-app@127.0.0.5\"))]), halt().'" \
        --ip 127.0.0.5 --app-name erl-app
    [ "${lines[-1]}" = pong ]
    # The app still holds its name and port.
    run probe_rpc erl-app@127.0.0.5 erlang node '[]'
    [ "$output" = "'erl-app@127.0.0.5'" ]
    run listeners_on_port 9001
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"pid=$(instance_beam_pid),"* ]]
}

@test "a Mix release's bin/app rpc from a cf ssh shell reaches the app" {
    droplet_for elixir-app compile-only
    local start='_build/prod/rel/cluster_app/bin/cluster_app start'
    launch_instance web0 --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    wait_for_node elixir-app@127.0.0.5 "$(droplet_cookie)"
    run ssh_run "_build/prod/rel/cluster_app/bin/cluster_app rpc 'IO.puts(node())'" \
        --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = elixir-app@127.0.0.5 ]
}

@test "after cf ssh sessions (interactive and -c) the app keeps its claim and one agent, and its own new BEAMs are guests" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    claim_settled
    ssh_terminal_start --ip 127.0.0.5 --app-name erl-app
    ssh_terminal_type_after 1 'ssh> ' \
        $'erl -noshell -eval \'io:format("interactive ~p~n", [node()]), halt().\'\n'
    ssh_terminal_type_after 2 'ssh> ' \
        $'erl -noshell -name rem2@127.0.0.5 -eval \'io:format("interactive ~p~n", [net_adm:ping(list_to_atom("erl-app@127.0.0.5"))]), halt().\'\n'
    ssh_terminal_end 3
    [[ "$output" == *"interactive nonode@nohost"* ]]
    [[ "$output" == *"interactive pong"* ]]
    [[ "$output" != *"another agent"* ]]
    run ssh_run "erl -noshell -name rem1@127.0.0.5 -eval 'io:format(\"~p~n\", [net_adm:ping(list_to_atom(\"erl-app@127.0.0.5\"))]), halt().'" \
        --ip 127.0.0.5 --app-name erl-app
    [ "${lines[-1]}" = pong ]
    [[ "$output" != *"another agent"* ]]
    [ "$(claim_snapshot)" = "$CLAIM_BEFORE" ]
    assert_app_spawns_a_guest erl-app@127.0.0.5
    assert_app_env_guests_do_not_collide erl-app@127.0.0.5
    [ "$(claim_snapshot)" = "$CLAIM_BEFORE" ]
}

@test "after cf ssh sessions a Mix release's rpc and iex --remsh reach the app and the claim is untouched" {
    droplet_for elixir-app compile-only
    local start='_build/prod/rel/cluster_app/bin/cluster_app start'
    launch_instance web0 --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    wait_for_node elixir-app@127.0.0.5 "$(droplet_cookie)"
    claim_settled
    ssh_terminal_start --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    ssh_terminal_type_after 1 'ssh> ' $'iex --name rem3@127.0.0.5 --remsh elixir-app@127.0.0.5\n'
    ssh_terminal_type_after 1 'iex(elixir-app@127.0.0.5)1> ' $'IO.puts("remsh on #{node()}")\n'
    # Ctrl-G q leaves the remote shell; the app's node runs on.
    ssh_terminal_type_after 1 'iex(elixir-app@127.0.0.5)2> ' $'\a'
    ssh_terminal_type_after 1 ' --> ' $'q\n'
    ssh_terminal_type_after 2 'ssh> ' \
        $'_build/prod/rel/cluster_app/bin/cluster_app rpc \'IO.puts("rpc on #{node()}")\'\n'
    ssh_terminal_end 3
    [[ "$output" == *"remsh on elixir-app@127.0.0.5"* ]]
    [[ "$output" == *"rpc on elixir-app@127.0.0.5"* ]]
    [[ "$output" != *"another agent"* ]]
    run ssh_run "_build/prod/rel/cluster_app/bin/cluster_app rpc 'IO.puts(node())'" \
        --ip 127.0.0.5 --app-name elixir-app --start-command "$start"
    [ "${lines[-1]}" = elixir-app@127.0.0.5 ]
    [ "$(claim_snapshot)" = "$CLAIM_BEFORE" ]
}

@test "after cf ssh sessions relx's ping still reaches the app and the claim is untouched" {
    droplet_for relx-app compile-only
    launch_instance web0 --ip 127.0.0.9 --app-name relx-app
    wait_for_node relx-app@127.0.0.9 "$(droplet_cookie)"
    claim_settled
    ssh_terminal_start --ip 127.0.0.9 --app-name relx-app
    ssh_terminal_type_after 1 'ssh> ' $'_build/prod/rel/relx_app/bin/relx_app ping\n'
    ssh_terminal_end 2
    [[ "$output" == *$'\npong\r\n'* ]]
    run ssh_run "_build/prod/rel/relx_app/bin/relx_app ping" --ip 127.0.0.9 --app-name relx-app
    [ "${lines[-1]}" = pong ]
    [ "$(claim_snapshot)" = "$CLAIM_BEFORE" ]
}

@test "prepare --launcher in a running instance refuses to claim the name again, in one line, and acts as --shell" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    claim_settled
    local run_dir="$INSTANCE_ROOT/tmp/erlang-cluster" prepare
    # shellcheck disable=SC2016 # expanded in the instance's shell
    prepare='"$DEPS_DIR"/*/bin/erlang-cluster-agent prepare --launcher "erl -noshell"; echo "status=$?"'
    rm -f "$run_dir/shell-env.sh"
    run ssh_run "$prepare" --ip 127.0.0.5 --app-name erl-app
    [ "${lines[-1]}" = status=11 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "erlang-cluster: not claiming the app's node name again (the app's agent holds $run_dir/agent.lock); this shell starts guest BEAMs (shell-env.sh)" ]
    grep -qF "guest.args" "$run_dir/shell-env.sh"
    [ "$(claim_snapshot)" = "$CLAIM_BEFORE" ]
    # Without the agent, the app's process (the launcher's PID) still holds the claim.
    kill -KILL "$(agent_pids)"
    wait_until 10 no_agent_runs
    run ssh_run "$prepare" --ip 127.0.0.5 --app-name erl-app
    [ "${lines[-1]}" = status=11 ]
    [[ "${lines[0]}" == *"(process $INSTANCE_PID, which claimed it, still runs)"* ]]
    run probe_rpc erl-app@127.0.0.5 erlang node '[]'
    [ "$output" = "'erl-app@127.0.0.5'" ]
    [ "$(claim_snapshot | sed '$d')" = "$(sed '$d' <<<"$CLAIM_BEFORE")" ]
}

# assert_app_env_guests_do_not_collide NODE: like a mix task the app spawns, BEAMs started
# with the app process's exact environment once the app is up neither take its name nor
# its port, and reach it.
assert_app_env_guests_do_not_collide() {
    local node=$1 run_dir="$INSTANCE_ROOT/tmp/erlang-cluster" app_env=()
    # The agent hands the claim over once it has seen the app node.
    wait_until 20 cmp -s "$run_dir/guest.args" "$run_dir/node.args"
    mapfile -d '' app_env <"/proc/$(instance_beam_pid)/environ"
    run in_ns env -i "${app_env[@]}" timeout 20 erl -noshell -eval 'io:format("~p~n", [node()]), halt().'
    [ "${lines[-1]}" = nonode@nohost ]
    run in_ns env -i "${app_env[@]}" timeout 20 erl -noshell -name task1@127.0.0.5 -eval \
        "io:format(\"~p ~p~n\", [node(), net_adm:ping('$node')]), halt()."
    [ "${lines[-1]}" = "'task1@127.0.0.5' pong" ]
    run probe_rpc "$node" erlang node '[]'
    [ "$output" = "'$node'" ]
    run listeners_on_port 9001
    [ "${#lines[@]}" -eq 1 ]
}

@test "relx's bin/app ping, rpc and remote_console from a cf ssh shell reach the epmd-less app" {
    droplet_for relx-app compile-only
    launch_instance web0 --ip 127.0.0.9 --app-name relx-app
    wait_for_node relx-app@127.0.0.9 "$(droplet_cookie)"
    run ssh_run "_build/prod/rel/relx_app/bin/relx_app ping" --ip 127.0.0.9 --app-name relx-app
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = pong ]
    run ssh_run "_build/prod/rel/relx_app/bin/relx_app rpc erlang node" --ip 127.0.0.9 --app-name relx-app
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "'relx-app@127.0.0.9'" ]
    ssh_terminal_start --ip 127.0.0.9 --app-name relx-app
    ssh_terminal_type_after 1 'ssh> ' $'_build/prod/rel/relx_app/bin/relx_app remote_console\n'
    ssh_terminal_type_after 1 '(relx-app@127.0.0.9)1> ' $'io:format("remsh on ~p~n", [node()]).\n'
    # Ctrl-G q leaves the remote shell; the app's node runs on.
    ssh_terminal_type_after 1 '(relx-app@127.0.0.9)2> ' $'\a'
    ssh_terminal_type_after 1 ' --> ' $'q\n'
    ssh_terminal_end 2
    [[ "$output" == *"remsh on 'relx-app@127.0.0.9'"* ]]
    run probe_rpc relx-app@127.0.0.9 erlang node '[]'
    [ "$output" = "'relx-app@127.0.0.9'" ]
}

@test "without discovery, once the app node is up a BEAM started with the app's environment gets the guest flags" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    assert_app_env_guests_do_not_collide erl-app@127.0.0.5
}

@test "with static discovery, once the app node is up a BEAM started with the app's environment gets the guest flags" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app --env ERLANG_CLUSTER_PEERS=127.0.0.6
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
    assert_app_env_guests_do_not_collide erl-app@127.0.0.5
}

@test "a process type not in ERLANG_CLUSTER_PROCESS_TYPES starts untouched" {
    droplet_for erl-app compile-only
    launch_instance worker0 --ip 127.0.0.5 --app-name erl-app --process-type worker
    wait_until 30 instance_beam_pid
    local beam
    beam=$(instance_beam_pid)
    run grep -c '^ERL_AFLAGS=' <(tr '\0' '\n' <"/proc/$beam/environ")
    [ "$output" = 0 ]
    run grep -c -- '-name' <(tr '\0' '\n' <"/proc/$beam/cmdline")
    [ "$output" = 0 ]
    [ ! -e "$INSTANCE_ROOT/tmp/erlang-cluster" ]
    run grep -c "process type 'worker' is not in ERLANG_CLUSTER_PROCESS_TYPES" "$INSTANCE_LOG"
    [ "$output" = 1 ]
    run pgrep -f "$INSTANCE_ROOT/deps/0/bin/erlang-cluster-agent"
    [ "$status" -ne 0 ]
}

@test "a process type listed in ERLANG_CLUSTER_PROCESS_TYPES is clustered" {
    droplet_for erl-app compile-only
    launch_instance worker0 --ip 127.0.0.5 --app-name erl-app --process-type worker \
        --env 'ERLANG_CLUSTER_PROCESS_TYPES=web, worker'
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
}

@test "ERLANG_CLUSTER_DISABLE=true leaves the app untouched" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app --env ERLANG_CLUSTER_DISABLE=true
    wait_until 30 instance_beam_pid
    local beam
    beam=$(instance_beam_pid)
    run grep -c '^ERL_AFLAGS=' <(tr '\0' '\n' <"/proc/$beam/environ")
    [ "$output" = 0 ]
    [ ! -e "$INSTANCE_ROOT/tmp/erlang-cluster" ]
    [ "$(stat -c %a "$INSTANCE_ROOT/app/.erlang.cookie")" = 400 ]
    run pgrep -f "$INSTANCE_ROOT/deps/0/bin/erlang-cluster-agent"
    [ "$status" -ne 0 ]
    run grep -c '^erlang-cluster:' "$INSTANCE_LOG"
    [ "$output" = 1 ]
}

@test "an invalid run-time setting gets one clear line and the app starts unclustered" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app --env ERLANG_CLUSTER_DIST_PORT=90x1
    wait_until 30 instance_beam_pid
    run grep '^erlang-cluster:' "$INSTANCE_LOG"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *ERLANG_CLUSTER_DIST_PORT* ]]
    run grep -c -- '-name' <(tr '\0' '\n' <"/proc/$(instance_beam_pid)/cmdline")
    [ "$output" = 0 ]
    run grep -c '^ERL_AFLAGS=' <(tr '\0' '\n' <"/proc/$(instance_beam_pid)/environ")
    [ "$output" = 0 ]
}

@test "an instance root with spaces in its path boots clustered" {
    droplet_for erl-app compile-only
    launch_instance "web 0" --ip 127.0.0.5 --app-name erl-app
    wait_for_node erl-app@127.0.0.5 "$(droplet_cookie)"
}

@test "the wrapper survives set -eu and a changed IFS and never runs what hostile settings contain" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root" marker="$BATS_TEST_TMPDIR/executed"
    cp -a "$DROPLET/." "$root/"
    local hostile="x\$(touch $marker)\`touch $marker\`'\"; touch $marker"
    run source_wrapper_in_hostile_shell "$root" "erl -noshell; touch $marker" \
        "VCAP_APPLICATION=$(vcap_application_json "$hostile" web)" \
        "ERLANG_CLUSTER_NAME=$hostile" "ERLANG_CLUSTER_PEERS=$hostile" \
        "ERLANG_CLUSTER_PROCESS_TYPES=web,$hostile"
    [ "$status" -eq 0 ]
    [[ "$output" == *"shell survived"* ]]
    [ ! -e "$marker" ]
    run grep -c '^erlang-cluster:' <<<"$output"
    [ "$output" = 1 ]
}

@test "a hostile node basename is refused in one line, executed nowhere, and the shell goes on" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root" marker="$BATS_TEST_TMPDIR/executed"
    cp -a "$DROPLET/." "$root/"
    run source_wrapper_in_hostile_shell "$root" "erl -noshell" \
        "VCAP_APPLICATION=$(vcap_application_json erl-app web)" \
        "ERLANG_CLUSTER_NODE_BASENAME=a b\$(touch $marker)"
    [ "$status" -eq 0 ]
    [[ "$output" == *"shell survived"* ]]
    [ ! -e "$marker" ]
    run grep '^erlang-cluster:' <<<"$output"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *ERLANG_CLUSTER_NODE_BASENAME* ]]
    [[ "$output" != *ERL_AFLAGS* ]]
}

@test "a hostile start style is refused and the shell goes on unclustered" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root" marker="$BATS_TEST_TMPDIR/executed"
    cp -a "$DROPLET/." "$root/"
    run source_wrapper_in_hostile_shell "$root" "erl -noshell" \
        "VCAP_APPLICATION=$(vcap_application_json erl-app web)" \
        "ERLANG_CLUSTER_START_STYLE=\$(touch $marker)"
    [ "$status" -eq 0 ]
    [[ "$output" == *"shell survived"* ]]
    [ ! -e "$marker" ]
    [[ "$output" == *ERLANG_CLUSTER_START_STYLE* ]]
    [[ "$output" != *ERL_AFLAGS=* ]]
}

@test "sourced in a shell without DEPS_DIR or with a missing agent, the wrapper logs one line and returns" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root"
    cp -a "$DROPLET/." "$root/"
    # shellcheck disable=SC2016
    run in_ns env -i PATH=/usr/bin:/bin HOME="$root/app" bash -c 'set -eu; cd "$1"; . .profile.d/erlang-cluster.sh; echo survived' \
        x "$root/app" "erl"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = survived ]
    [[ "${lines[0]}" == *"DEPS_DIR is not set"* ]]
    rm "$root/deps/0/bin/erlang-cluster-agent"
    run source_wrapper_in_hostile_shell "$root" "erl -noshell" \
        "VCAP_APPLICATION=$(vcap_application_json erl-app web)"
    [ "$status" -eq 0 ]
    [[ "$output" == *"shell survived"* ]]
    [[ "$output" == *"erlang-cluster-agent is missing"* ]]
}

@test "in the launcher's shell the wrapper exports the claim file for the erl style and nothing secret" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root"
    cp -a "$DROPLET/." "$root/"
    run source_wrapper_in_hostile_shell "$root" "erl -noshell -pa ebin -s plain_app" \
        "VCAP_APPLICATION=$(vcap_application_json erl-app web)"
    [ "$status" -eq 0 ]
    [[ "$output" == *"ERL_AFLAGS=-args_file '$root/tmp/erlang-cluster/node.args'"* ]]
    [[ "$output" != *RELEASE_COOKIE* ]]
    [[ "$output" != *"$(droplet_cookie)"* ]]
    [ "$(stat -c %a "$root/tmp/erlang-cluster")" = 700 ]
    # No -name: the boot expression names the server BEAM only (pre-steps stay unnamed).
    grep -qF 'net_kernel:start([list_to_atom("erl-app@127.0.0.30"), longnames, 250 * case application:get_env(kernel, net_ticktime) of' \
        "$root/tmp/erlang-cluster/node.args"
    run grep -c -- '^-s\?name' "$root/tmp/erlang-cluster/node.args"
    [ "$output" = 0 ]
    grep -qx -- '-dist_listen false' "$root/tmp/erlang-cluster/guest.args"
    run grep -c -- '-name' "$root/tmp/erlang-cluster/guest.args"
    [ "$output" = 0 ]
}

@test "sourced by cf ssh's shell (same \$1 and \$2 as the launcher) the wrapper claims nothing and starts no agent" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root"
    cp -a "$DROPLET/." "$root/"
    WRAPPER_ARGV0=/tmp/lifecycle/shell run source_wrapper_in_hostile_shell "$root" "bash" \
        "VCAP_APPLICATION=$(vcap_application_json erl-app web)"
    [ "$status" -eq 0 ]
    [[ "$output" == *"shell survived"* ]]
    [[ "$output" == *"ERL_AFLAGS=-args_file '$root/tmp/erlang-cluster/guest.args'"* ]]
    [ ! -e "$root/tmp/erlang-cluster/node.args" ]
    [ ! -e "$root/tmp/erlang-cluster/claim_owner" ]
    [ -z "$(agent_pids)" ]
}

@test "hostile values that do reach the env file (cookie, the user's ERL_AFLAGS) are exported verbatim, never run" {
    droplet_for erl-app compile-only
    local root="$BATS_TEST_TMPDIR/root" marker="$BATS_TEST_TMPDIR/executed"
    cp -a "$DROPLET/." "$root/"
    # A cookie has no blanks, so its command substitution cannot carry arguments.
    local cookie="c'\$(id)\`id\`\"\$HOME;x" aflags="+K true \$(touch $marker) 'q'"
    run source_wrapper_in_hostile_shell "$root" "erl -noshell" \
        "VCAP_APPLICATION=$(vcap_application_json erl-app web)" \
        ERLANG_CLUSTER_START_STYLE=mix-release "ERLANG_CLUSTER_COOKIE=$cookie" "ERL_AFLAGS=$aflags"
    [ "$status" -eq 0 ]
    [[ "$output" == *"shell survived"* ]]
    [ ! -e "$marker" ]
    [[ "$output" == *$'\n'"RELEASE_COOKIE=$cookie"$'\n'* ]]
    [[ "$output" == *$'\n'"ERL_AFLAGS=-args_file '$root/tmp/erlang-cluster/node.args' $aflags"$'\n'* ]]
    [[ "$output" == *$'\n'"RELEASE_NODE=erl-app@127.0.0.30"$'\n'* ]]
    [[ "$output" == *$'\n'"RELEASE_DISTRIBUTION=name"$'\n'* ]]
    [ "$(cat "$root/app/.erlang.cookie")" = "$cookie" ]
}
