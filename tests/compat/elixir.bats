#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# The Elixir start styles on one Elixir version, through the buildpack's real staging and
# launch, two instances meshing in network namespaces (tests/e2e/helper.bash). tests/run-all
# compat runs this file once per version (make test-compat):
#   ECB_COMPAT_ELIXIR_VERSION  the version the app must run on (System.version())
#   ECB_COMPAT_ELIXIR_HOME     that Elixir's build (DIR/bin/elixir); the fake final buildpack
#                              installs it into the droplet (FAKE_BEAM_ELIXIR_HOME); empty:
#                              the Elixir on PATH, Debian's
# The app is tests/fixtures/elixir-app plus what `mix phx.gen.release` adds to a Phoenix app
# (rel/overlays/bin/server and bin/migrate, lib/APP/release.ex), staged once.

REL=_build/prod/rel/cluster_app

setup_file() {
    load ../e2e/helper
    [[ -n ${ECB_COMPAT_ELIXIR_VERSION:-} ]] || {
        e2e_fail "ECB_COMPAT_ELIXIR_VERSION is not set: run this file through 'tests/run-all compat'"
        return 1
    }
    e2e_setup_file
    e2e_start_registry
    compat_phoenix_like_app "$BATS_FILE_TMPDIR/app"
    local env=()
    [[ -z ${ECB_COMPAT_ELIXIR_HOME:-} ]] ||
        env=(--env "FAKE_BEAM_ELIXIR_HOME=$ECB_COMPAT_ELIXIR_HOME")
    e2e_stage_app "$E2E_APP_NAME" "$BATS_FILE_TMPDIR/app" "${env[@]}"
    # What this version says while building the fixture (warnings differ between versions).
    local line
    e2e_report "Elixir $ECB_COMPAT_ELIXIR_VERSION: staged; Elixir's warnings while building, each once:"
    grep -E '^ *warning: ' "$E2E_DIR/droplets/$E2E_APP_NAME.staging.log" | sed 's/^ *//' | sort -u |
        while IFS= read -r line; do e2e_report "  $line"; done
}

teardown_file() {
    load ../e2e/helper
    e2e_teardown_file
}

setup() {
    load ../e2e/helper
    COMPAT_INSTANCES=()
}

# Each case stops its instances: the next one starts on a quiet machine.
teardown() {
    e2e_remove_instances "${COMPAT_INSTANCES[@]}"
}

# compat_phoenix_like_app DIR: the elixir-app fixture with phx.gen.release's files, written as
# Phoenix 1.7's templates write them; release.ex keeps the generated shape without Ecto (the
# fixture has no repo), so migrate loads the app and reports what it would migrate.
compat_phoenix_like_app() {
    local dir=$1
    cp -a "$E2E_REPO/tests/fixtures/elixir-app" "$dir"
    mkdir -p "$dir/rel/overlays/bin"
    printf '%s\n' '#!/bin/sh' 'set -eu' '' 'cd -P -- "$(dirname -- "$0")"' \
        'PHX_SERVER=true exec ./cluster_app start' >"$dir/rel/overlays/bin/server"
    printf '%s\n' '#!/bin/sh' 'set -eu' '' 'cd -P -- "$(dirname -- "$0")"' \
        'exec ./cluster_app eval ClusterApp.Release.migrate' >"$dir/rel/overlays/bin/migrate"
    chmod 755 "$dir/rel/overlays/bin/server" "$dir/rel/overlays/bin/migrate"
    cat >"$dir/lib/cluster_app/release.ex" <<'EOF'
defmodule ClusterApp.Release do
  @moduledoc """
  Used for executing DB release tasks when run in production without Mix
  installed.
  """
  @app :cluster_app

  def migrate do
    load_app()

    for repo <- repos() do
      IO.puts("would migrate #{inspect(repo)}")
    end

    IO.puts("migrate: #{@app} loaded on Elixir #{System.version()}, #{length(repos())} repos")
  end

  defp repos do
    Application.get_env(@app, :ecto_repos, [])
  end

  defp load_app do
    Application.load(@app)
  end
end
EOF
}

# compat_start N [cf-launch options]: e2e_start_instance, stopped again by teardown.
compat_start() {
    COMPAT_INSTANCES+=("$1")
    e2e_start_instance "$@"
}

# compat_node_elixir N: the Elixir version the app's node in instance N runs, asked by an
# rpc from a hidden BEAM in its namespace with the droplet's cookie (as e2e_rpc_view).
compat_node_elixir() {
    local n=$1 root ip node
    root=$(e2e_instance_root "$n") || return 1
    ip=$(foundation_instance_ip "$n")
    node=$(cat "$root/tmp/erlang-cluster/node_name") || return 1
    # shellcheck disable=SC2016 # Erlang code, not shell
    foundation_exec "$n" env HOME="$root/app" E2E_NODE="$node" erl -noshell -noinput \
        -name "compat_probe_$RANDOM$BASHPID@$ip" -hidden -dist_listen false -start_epmd false \
        -erl_epmd_port "$E2E_DIST_PORT" -eval '
            Node = list_to_atom(os:getenv("E2E_NODE")),
            case rpc:call(Node, '"'"'Elixir.System'"'"', version, [], 5000) of
                V when is_binary(V) -> io:format("~s~n", [V]), halt(0);
                Error -> io:format(standard_error, "rpc to ~s failed: ~p~n", [Node, Error]), halt(1)
            end.'
}

# compat_up N: instance N's app answers on its HTTP port (bounded wait).
compat_up() {
    foundation_wait 60 "instance $1 to answer on its HTTP port" compat_answers "$1"
}
compat_answers() {
    e2e_view "$1" >/dev/null 2>&1
}

# compat_named N: instance N answers and its node has the buildpack's name (NAME@its IP);
# a node named otherwise (the release's own default, e.g. APP@HOSTNAME) fails at once: it
# can never join the mesh.
compat_named() {
    local n=$1 view node
    compat_up "$n" || return 1
    view=$(e2e_view "$n") || return 1
    node=$(jq -r .current_node <<<"$view")
    [[ $node == *"@$(foundation_instance_ip "$n")" ]] ||
        { e2e_fail "instance $n's node is $node, not named by the buildpack (NAME@$(foundation_instance_ip "$n")); its log: $(grep -m3 -E 'start style|challenge|cookie' "$(e2e_agent_log "$n")" | tr '\n' ' ')"; return 1; }
}

# compat_mesh_on_version N M: instances N and M mesh within 90 s and both run the version.
compat_mesh_on_version() {
    local took n version
    for n in "$@"; do compat_named "$n" || return 1; done
    took=$(e2e_wait_full_mesh 90 "$@")
    for n in "$@"; do
        version=$(compat_node_elixir "$n")
        [[ $version == "$ECB_COMPAT_ELIXIR_VERSION" ]] ||
            { e2e_fail "instance $n runs Elixir '$version', not $ECB_COMPAT_ELIXIR_VERSION"; return 1; }
    done
    printf '%s\n' "$took"
}

# A `cf ssh` session on a terminal (script(1)) into instance N: the test types into a FIFO
# once the transcript shows a prompt; the transcript ends up in $output.
compat_terminal_start() { # N
    local launch=()
    mapfile -d '' launch <"$E2E_DIR/instances/$1.launch"
    TERMINAL_LOG=$BATS_TEST_TMPDIR/terminal.log
    mkfifo "$BATS_TEST_TMPDIR/terminal.in"
    foundation_exec "$1" timeout 120 script -qec "$(printf '%q ' \
        "$E2E_REPO/tests/support/cf-launch" "${launch[@]}" --ssh '')" /dev/null \
        <"$BATS_TEST_TMPDIR/terminal.in" >"$TERMINAL_LOG" 2>&1 3>&- &
    TERMINAL_PID=$!
    exec {TERMINAL_IN}>"$BATS_TEST_TMPDIR/terminal.in"
    printf '%s\n' "export TERM=xterm PS1='ssh''> '" >&"$TERMINAL_IN"
}
compat_terminal_shows() { # COUNT TEXT
    [[ $(grep -oF -- "$2" "$TERMINAL_LOG" | wc -l) -ge $1 ]]
}
compat_terminal_type_after() { # COUNT TEXT INPUT: type INPUT once TEXT shows COUNT times
    foundation_wait 60 "'$2' on the terminal" compat_terminal_shows "$1" "$2" ||
        { cat "$TERMINAL_LOG" >&2; return 1; }
    printf '%s' "$3" >&"$TERMINAL_IN"
}
compat_terminal_end() { # COUNT: `exit` at the COUNTth shell prompt
    compat_terminal_type_after "$1" 'ssh> ' $'exit\n'
    wait "$TERMINAL_PID"
    exec {TERMINAL_IN}>&-
    output=$(cat "$TERMINAL_LOG")
}

@test "Elixir $ECB_COMPAT_ELIXIR_VERSION: mix run --no-halt clusters" {
    local start n
    start=$(foundation_now)
    for n in 0 1; do compat_start "$n"; done
    compat_mesh_on_version 0 1 >/dev/null
    e2e_report "mix run: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}

@test "Elixir $ECB_COMPAT_ELIXIR_VERSION: elixir -S mix run --no-halt clusters" {
    local start n
    start=$(foundation_now)
    for n in 2 3; do compat_start "$n" --start-command "elixir -S mix run --no-halt"; done
    compat_mesh_on_version 2 3 >/dev/null
    e2e_report "elixir -S mix: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}

@test "Elixir $ECB_COMPAT_ELIXIR_VERSION: a Mix release (bin/cluster_app start) clusters; rpc, eval and remote work from cf ssh" {
    local start n node
    start=$(foundation_now)
    for n in 4 5; do compat_start "$n" --start-command "$REL/bin/cluster_app start"; done
    compat_mesh_on_version 4 5 >/dev/null
    e2e_report "Mix release: full mesh of 2 $(foundation_elapsed "$start") s after launch"
    node=$(jq -r .current_node "$E2E_DIR/instances/4.view")
    run e2e_ssh 4 "$REL/bin/cluster_app rpc 'IO.puts(\"rpc on #{node()} sees #{inspect(Node.list())}\")'"
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    [ "${lines[-1]}" = "rpc on $node sees [:\"$(jq -r .current_node "$E2E_DIR/instances/5.view")\"]" ]
    # eval boots a new VM from the release (no distribution unless asked): it must not take
    # the app's name or port.
    run e2e_ssh 4 "$REL/bin/cluster_app eval 'IO.puts(\"eval on #{node()} with Elixir #{System.version()}\")'"
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    [ "${lines[-1]}" = "eval on nonode@nohost with Elixir $ECB_COMPAT_ELIXIR_VERSION" ]
    compat_terminal_start 4
    compat_terminal_type_after 1 'ssh> ' "$REL/bin/cluster_app remote"$'\n'
    compat_terminal_type_after 1 "iex($node)1> " $'IO.puts("remote on #{node()}")\n'
    # Ctrl-G q leaves the remote shell; the app's node runs on.
    compat_terminal_type_after 1 "iex($node)2> " $'\a'
    compat_terminal_type_after 1 ' --> ' $'q\n'
    compat_terminal_end 2
    [[ $output == *"remote on $node"* ]] || { echo "$output" >&2; false; }
    e2e_full_mesh 4 5
}

@test "Elixir $ECB_COMPAT_ELIXIR_VERSION: a Phoenix-like release (phx.gen.release overlays) started with bin/server clusters; bin/migrate runs from cf ssh" {
    local start n
    start=$(foundation_now)
    for n in 6 7; do compat_start "$n" --start-command "$REL/bin/server"; done
    compat_up 6
    run e2e_ssh 6 "$REL/bin/migrate"
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    [ "${lines[-1]}" = "migrate: cluster_app loaded on Elixir $ECB_COMPAT_ELIXIR_VERSION, 0 repos" ]
    compat_mesh_on_version 6 7 >/dev/null
    e2e_report "bin/server: full mesh of 2 $(foundation_elapsed "$start") s after launch"
}
