#!/usr/bin/env bats
# ERLANG_CLUSTER_TLS at launch, through the local launcher with an instance identity like
# Diego's (tests/support/instance-identity): the app's BEAM of every start style runs TLS
# distribution with the files prepare writes, guests of a cf ssh shell reach it over TLS,
# intruders in clear text or with another app's certificate are refused, and TLS that cannot
# run leaves the app unclustered with one line (auto: clear text, said once).
# The instance runs at 127.0.0.1 so that every connection inside the namespace comes from
# the address its certificate names (loopback's source address).

load lifecycle_helper

IDENTITY="$LIFECYCLE_SUPPORT/instance-identity"
TLS_OPTFILE="$LIFECYCLE_REPO/${ECB_BUILD_DIR:-build}/tests/tls-optfile"

setup_file() {
    lifecycle_setup_file
    (cd "$LIFECYCLE_REPO" && make -s "${ECB_BUILD_DIR:-build}/tests/tls-optfile" >/dev/null)
    "$IDENTITY" ca "$BATS_FILE_TMPDIR/ca"
}

setup() {
    lifecycle_setup
}

teardown() {
    lifecycle_teardown
}

# Fails when grep finds the pattern (a bare `! grep` would not fail a bats test).
refute_grep() {
    if grep -q "$@"; then
        echo "unexpected match: grep $*" >&2
        return 1
    fi
}

# The app GUID cf-launch gives an app name (VCAP_APPLICATION application_id).
app_guid() {
    printf '%s-0000-4000-8000-000000000001\n' "$(printf '%s' "$1" | sha1sum | cut -c1-8)"
}

# issue_identity DIR APP_NAME: an instance identity of APP_NAME's app at 127.0.0.1.
issue_identity() {
    "$IDENTITY" issue --ca "$BATS_FILE_TMPDIR/ca" --out "$1" --ip 127.0.0.1 \
        --app "$(app_guid "$2")"
}

# The options that give an instance the identity in DIR and turn TLS on.
tls_env() { # DIR [MODE]
    printf '%s\n' --env "ERLANG_CLUSTER_TLS=${2:-true}" --env "CF_INSTANCE_CERT=$1/instance.crt" \
        --env "CF_INSTANCE_KEY=$1/instance.key"
}

# A droplet of a sample app changed by a sed expression on one file (an app that carries
# ssl in its release), staged once per run as droplet_for does.
droplet_for_variant() { # FIXTURE FILE SED_EXPRESSION NAME
    local app="$BATS_RUN_TMPDIR/apps/$4" dir="$BATS_RUN_TMPDIR/droplets"
    DROPLET="$dir/$4-compile-only"
    [ -f "$DROPLET/staging_info.yml" ] && return 0
    mkdir -p "$BATS_RUN_TMPDIR/apps" "$dir" "$LIFECYCLE_CACHE"
    rm -rf "$app"
    cp -a "$LIFECYCLE_REPO/tests/fixtures/$1" "$app"
    sed -i "$3" "$app/$2"
    if ! "$LIFECYCLE_SUPPORT/cf-stage" --app "$app" --droplet "$DROPLET" --app-name "$1" \
        --buildpack "$LIFECYCLE_BP" --buildpack "$LIFECYCLE_SUPPORT/final-buildpacks/compile-only" \
        --cache-root "$LIFECYCLE_CACHE/$4-compile-only" >"$dir/$4.log" 2>&1; then
        cat "$dir/$4.log" >&2
        return 1
    fi
}

# tls_probe_rpc ID_DIR APP_NAME NODE MOD FUN ARGS: probe_rpc over TLS distribution with the
# identity in ID_DIR (accepting APP_NAME's instances), as a guest: epmd-less it does not
# listen; with PROBE_EPMD=true it asks epmd. Its output is the call's result or
# "no_connection" alone: ssl's notice of a refused handshake (printed only when the node's
# alert arrives before the close) is below the probe's logger level.
tls_probe_rpc() {
    local id=$1 app=$2 flags=(-start_epmd false -erl_epmd_port 9001 -dist_listen false)
    [ "${PROBE_EPMD-}" != true ] || flags=()
    shift 2
    "$TLS_OPTFILE" --cert "$id/instance.crt" --key "$id/instance.key" --ca "$id/instance.crt" \
        --app "$(app_guid "$app")" >"$id/probe.optfile"
    in_ns env -i PATH=/usr/bin:/bin HOME="$PROBE_HOME" PROBE_NODE="$1" PROBE_CALL="{$2, $3, $4}" \
        timeout 20 erl -noshell -hidden -name "probe$$-$RANDOM@127.0.0.1" "${flags[@]}" \
        -kernel logger_level error -proto_dist inet_tls \
        -ssl_dist_optfile "$id/probe.optfile" -eval '
            Node = list_to_atom(os:getenv("PROBE_NODE")),
            {ok, Tokens, _} = erl_scan:string(os:getenv("PROBE_CALL") ++ "."),
            {ok, {M, F, A}} = erl_parse:parse_term(Tokens),
            case net_kernel:connect_node(Node) of
                true -> io:format("~p~n", [rpc:call(Node, M, F, A, 10000)]);
                _ -> io:format("no_connection~n")
            end,
            halt().'
}

# Polls (bounded) until a TLS probe with the identity in ID_DIR reaches NODE.
wait_for_tls_node() { # NODE ID_DIR APP_NAME COOKIE
    local node=$1 deadline=$((SECONDS + NODE_WAIT_SECONDS)) out
    probe_cookie "$4"
    while [ "$SECONDS" -lt "$deadline" ]; do
        out=$(tls_probe_rpc "$2" "$3" "$node" erlang node '[]' 2>&1 || true)
        [ "$out" = "'$node'" ] && return 0
        if ! kill -0 "$INSTANCE_PID" 2>/dev/null; then
            echo "the instance exited; its output:" >&2
            cat "$INSTANCE_LOG" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "node $node did not answer a TLS probe within ${NODE_WAIT_SECONDS}s (last: $out)" >&2
    cat "$INSTANCE_LOG" >&2
    return 1
}

# The app node's own arguments: each distribution flag exactly once.
assert_tls_flags_once() { # NODE ID_DIR APP_NAME
    run tls_probe_rpc "$2" "$3" "$1" init get_arguments '[]'
    [ "$status" -eq 0 ]
    local args=$output run_dir="$INSTANCE_ROOT/tmp/erlang-cluster"
    [ "$(grep -o '{proto_dist,\["inet_tls"\]}' <<<"$args" | wc -l)" -eq 1 ]
    [ "$(grep -o '{proto_dist,' <<<"$args" | wc -l)" -eq 1 ]
    [ "$(grep -o '{ssl_dist_optfile,' <<<"$args" | wc -l)" -eq 1 ]
    [[ "$args" == *"{ssl_dist_optfile,[\"$run_dir/tls_app.optfile\"]}"* ]]
}

@test "with ERLANG_CLUSTER_TLS=true the app's node speaks only TLS: a same-app TLS node reaches it, clear text and another app are refused" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" erl-app
    issue_identity "$BATS_TEST_TMPDIR/other-id" another-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app "${tls[@]}"
    wait_for_tls_node erl-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" erl-app "$(droplet_cookie)"
    assert_tls_flags_once erl-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" erl-app
    # The right cookie in clear text is not enough, nor a valid certificate of another app.
    run probe_rpc erl-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
    run tls_probe_rpc "$BATS_TEST_TMPDIR/other-id" erl-app erl-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
    run grep '^erlang-cluster:' "$INSTANCE_LOG"
    [[ "${lines[0]}" == "erlang-cluster: node erl-app@127.0.0.1, epmd-less distribution port 9001, mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true from environment; peers: this app's instances), start style erl, cookie from the droplet" ]]
    local run_dir="$INSTANCE_ROOT/tmp/erlang-cluster"
    for f in tls_app.optfile tls_guest.optfile tls_identity; do
        [ "$(stat -c %a "$run_dir/$f")" = 600 ]
    done
    # The agent read the record, reached its node over TLS and handed the name claim over.
    wait_until 20 cmp -s "$run_dir/guest.args" "$run_dir/node.args"
    grep -qx "certfile $BATS_TEST_TMPDIR/id/instance.crt" "$run_dir/tls_identity"
    grep -qx "cafile $BATS_TEST_TMPDIR/id/instance.crt" "$run_dir/tls_identity"
    refute_grep 'PRIVATE KEY' "$run_dir"/*
}

@test "with TLS and ERLANG_CLUSTER_EPMD=true the node registers with epmd and speaks only TLS on the pinned port" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" erl-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app "${tls[@]}" --env ERLANG_CLUSTER_EPMD=true
    PROBE_EPMD=true # both probes ask epmd
    wait_for_tls_node erl-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" erl-app "$(droplet_cookie)"
    assert_tls_flags_once erl-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" erl-app
    run in_ns epmd -names
    [[ "$output" == *"name erl-app at port 9001"* ]]
    run probe_rpc erl-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
    grep -q "^erlang-cluster: node erl-app@127.0.0.1, epmd with listen port 9001, mutual TLS with the instance identity" "$INSTANCE_LOG"
}

@test "with TLS a cf ssh shell's guest BEAMs get the guest optfile and reach the app over TLS" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" erl-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app "${tls[@]}"
    wait_for_tls_node erl-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" erl-app "$(droplet_cookie)"
    local guest="$INSTANCE_ROOT/tmp/erlang-cluster/guest.args"
    [ "$(grep -c -- '-proto_dist inet_tls' "$guest")" -eq 1 ]
    [ "$(grep -c -- "-ssl_dist_optfile '$INSTANCE_ROOT/tmp/erlang-cluster/tls_guest.optfile'" "$guest")" -eq 1 ]
    run ssh_run_tls "erl -noshell -name guest1@127.0.0.1 -eval 'io:format(\"~p ~p~n\", [net_adm:ping(list_to_atom(\"erl-app@127.0.0.1\")), init:get_argument(proto_dist)]), halt().'"
    [ "${lines[-1]}" = 'pong {ok,[["inet_tls"]]}' ]
}

ssh_run_tls() {
    local tls
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    in_ns timeout 60 "$LIFECYCLE_SUPPORT/cf-launch" --droplet "$DROPLET" --root "$INSTANCE_ROOT" \
        --ip 127.0.0.1 --app-name "${SSH_APP:-erl-app}" "${tls[@]}" "${SSH_START[@]}" --ssh "$1"
}

@test "with TLS mix run, elixir -S mix and iex -S mix get the protocol and the optfile exactly once" {
    droplet_for elixir-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" \
        --start-command 'mix run --no-halt'
    wait_for_tls_node elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app "$(droplet_cookie)"
    assert_tls_flags_once elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app
    kill -TERM "$INSTANCE_PID"
    wait_until 20 eval '! kill -0 "$INSTANCE_PID" 2>/dev/null && [ -z "$(listeners_on_port 9001)" ]'
    launch_instance web1 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" \
        --start-command 'elixir -S mix run --no-halt'
    wait_for_tls_node elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app "$(droplet_cookie)"
    assert_tls_flags_once elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app
    kill -TERM "$INSTANCE_PID"
    wait_until 20 eval '! kill -0 "$INSTANCE_PID" 2>/dev/null && [ -z "$(listeners_on_port 9001)" ]'
    # iex reads its input from a terminal that stays open, as a console would.
    mkfifo "$BATS_TEST_TMPDIR/iex.in"
    exec {iex_in}<>"$BATS_TEST_TMPDIR/iex.in"
    ip netns exec "$LIFECYCLE_NS" "$LIFECYCLE_SUPPORT/cf-launch" --droplet "$DROPLET" \
        --root "$BATS_TEST_TMPDIR/web2" --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" \
        --start-command 'iex -S mix run --no-halt' >"$BATS_TEST_TMPDIR/web2.log" 2>&1 \
        <"$BATS_TEST_TMPDIR/iex.in" &
    INSTANCE_PID=$! INSTANCE_ROOT="$BATS_TEST_TMPDIR/web2" INSTANCE_LOG="$BATS_TEST_TMPDIR/web2.log"
    wait_for_tls_node elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app "$(droplet_cookie)"
    assert_tls_flags_once elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app
    exec {iex_in}>&-
}

@test "with TLS a Mix release that carries ssl starts with the flags once and its rpc, remote and iex --remsh reach it from cf ssh" {
    droplet_for_variant elixir-app mix.exs 's/extra_applications: \[:logger\]/extra_applications: [:logger, :ssl]/' elixir-ssl-app
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    SSH_APP=elixir-app SSH_START=(--start-command '_build/prod/rel/cluster_app/bin/cluster_app start')
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" "${SSH_START[@]}"
    wait_for_tls_node elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app "$(droplet_cookie)"
    assert_tls_flags_once elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app
    grep -q "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true from environment; peers: this app's instances), start style mix-release" "$INSTANCE_LOG"
    run ssh_run_tls "_build/prod/rel/cluster_app/bin/cluster_app rpc 'IO.inspect({node(), :init.get_argument(:proto_dist)})'"
    [ "${lines[-1]}" = "{:\"elixir-app@127.0.0.1\", {:ok, [['inet_tls']]}}" ] ||
        { echo "$output" >&2; false; }
    # Remote shells on a terminal, as cf ssh gives one; Ctrl-G q leaves them, the app runs on.
    ssh_terminal_start --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" "${SSH_START[@]}"
    ssh_terminal_type_after 1 'ssh> ' $'iex --name rem1@127.0.0.1 --remsh elixir-app@127.0.0.1\n'
    ssh_terminal_type_after 1 'iex(elixir-app@127.0.0.1)1> ' $'IO.puts("remsh on #{node()}")\n'
    ssh_terminal_type_after 1 'iex(elixir-app@127.0.0.1)2> ' $'\a'
    ssh_terminal_type_after 1 ' --> ' $'q\n'
    ssh_terminal_type_after 2 'ssh> ' $'_build/prod/rel/cluster_app/bin/cluster_app remote\n'
    ssh_terminal_type_after 2 'iex(elixir-app@127.0.0.1)1> ' $'IO.puts("remote on #{node()}")\n'
    ssh_terminal_type_after 2 'iex(elixir-app@127.0.0.1)2> ' $'\a'
    ssh_terminal_type_after 2 ' --> ' $'q\n'
    ssh_terminal_end 3
    [[ "$output" == *"remsh on elixir-app@127.0.0.1"* ]]
    [[ "$output" == *"remote on elixir-app@127.0.0.1"* ]]
}

@test "with TLS a relx release that carries ssl starts with the flags once and relx ping, rpc and eval reach it from cf ssh" {
    droplet_for_variant relx-app rebar.config 's/\[relx_app, sasl\]/[relx_app, sasl, ssl]/' relx-ssl-app
    issue_identity "$BATS_TEST_TMPDIR/id" relx-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" relx-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name relx-app "${tls[@]}"
    wait_for_tls_node relx-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" relx-app "$(droplet_cookie)"
    assert_tls_flags_once relx-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" relx-app
    # relx copies a vm.args -proto_dist into its own maintenance BEAMs: it must not be there.
    refute_grep -- '-proto_dist' "$INSTANCE_ROOT/tmp/erlang-cluster/vm.args"
    local rel=_build/prod/rel/relx_app/bin/relx_app
    SSH_APP=relx-app run ssh_run_tls "$rel ping && $rel rpc erlang node && $rel eval 'node().'"
    [ "$status" -eq 0 ]
    [ "${lines[-3]}" = pong ] || { echo "$output" >&2; false; }
    [ "${lines[-2]}" = "'relx-app@127.0.0.1'" ]
    [ "${lines[-1]}" = "'relx-app@127.0.0.1'" ]
}

# The launcher's process has become the app's BEAM (every start style here execs it; a
# release script runs short-lived BEAMs of its own before).
app_beam_up() {
    [[ "$(readlink "/proc/$INSTANCE_PID/exe" 2>/dev/null)" == */beam.smp ]]
}

# The app runs, unclustered: no -name, no ERL_AFLAGS, no agent, one line that says why.
assert_started_unclustered() { # TEXT
    wait_until 30 app_beam_up
    local beam=$INSTANCE_PID
    run grep -c '^ERL_AFLAGS=' <(tr '\0' '\n' <"/proc/$beam/environ")
    [ "$output" = 0 ]
    run grep -c -- '^-name$' <(tr '\0' '\n' <"/proc/$beam/cmdline")
    [ "$output" = 0 ]
    run grep '^erlang-cluster:' "$INSTANCE_LOG"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"$1"* ]]
    no_agent_runs
    [ ! -e "$INSTANCE_ROOT/tmp/erlang-cluster/tls_identity" ]
    # Still up a while later: no crash loop. A crash has no event to wait for, so the test
    # watches a window (a restarting launcher would exit within its boot, well under 2 s).
    sleep 2
    kill -0 "$INSTANCE_PID"
}

# The `run` agents of the test's namespace.
no_agent_runs() {
    local pid
    for pid in $(ip netns pids "$LIFECYCLE_NS"); do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '/erlang-cluster-agent run '; then
            return 1
        fi
    done
}

@test "ERLANG_CLUSTER_TLS=true without an instance identity starts the app unclustered with one line, never in clear text" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app --env ERLANG_CLUSTER_TLS=true
    assert_started_unclustered "erlang-cluster: ERLANG_CLUSTER_TLS=true (from environment) but CF_INSTANCE_CERT is not set; the app starts unclustered rather than in clear text"
    [[ "$output" == *"set ERLANG_CLUSTER_TLS=false to cluster in clear text"* ]]
    run probe_rpc erl-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "ERLANG_CLUSTER_TLS=true with an unreadable key starts the app unclustered and says which file" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app --env ERLANG_CLUSTER_TLS=true \
        --env "CF_INSTANCE_CERT=$BATS_TEST_TMPDIR/id/instance.crt" \
        --env "CF_INSTANCE_KEY=$BATS_TEST_TMPDIR/id/missing.key"
    assert_started_unclustered "CF_INSTANCE_KEY $BATS_TEST_TMPDIR/id/missing.key cannot be read (No such file or directory)"
}

@test "a relx release without ssl and ERLANG_CLUSTER_TLS=true starts unclustered and says to add ssl" {
    droplet_for relx-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" relx-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name relx-app "${tls[@]}"
    assert_started_unclustered "has no ssl application (no lib/ssl-*), which TLS distribution runs on"
    [[ "$output" == *"ssl to the release's applications in rebar.config (relx)"* ]]
}

@test "a Mix release without ssl and ERLANG_CLUSTER_TLS=true starts unclustered instead of stopping at boot" {
    droplet_for elixir-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" \
        --start-command '_build/prod/rel/cluster_app/bin/cluster_app start'
    assert_started_unclustered "add :ssl to extra_applications in mix.exs (Mix)"
}

@test "ERLANG_CLUSTER_TLS=auto without an instance identity clusters in clear text and says so once" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app --env ERLANG_CLUSTER_TLS=auto
    wait_for_node erl-app@127.0.0.1 "$(droplet_cookie)"
    run grep '^erlang-cluster:' "$INSTANCE_LOG"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"epmd-less distribution port 9001, clear text (ERLANG_CLUSTER_TLS=auto from environment: no instance identity, CF_INSTANCE_CERT is not set), start style erl"* ]]
    [ ! -e "$INSTANCE_ROOT/tmp/erlang-cluster/tls_identity" ]
    refute_grep inet_tls "$INSTANCE_ROOT/tmp/erlang-cluster/node.args" "$INSTANCE_ROOT/tmp/erlang-cluster/guest.args"
}

@test "ERLANG_CLUSTER_TLS=auto with an instance identity runs TLS" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" erl-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id" auto)
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app "${tls[@]}"
    wait_for_tls_node erl-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" erl-app "$(droplet_cookie)"
    grep -q "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=auto from environment; peers: this app's instances)" "$INSTANCE_LOG"
}

# prepare as the launcher's shell runs it, in a shell that exits afterwards (so its claim is
# not live for the next call).
prepare_launcher() { # RUN_DIR ENV...
    local run_dir=$1
    shift
    env -i PATH=/usr/bin:/bin HOME="$BATS_TEST_TMPDIR/home" TMPDIR="$BATS_TEST_TMPDIR" \
        CF_INSTANCE_INTERNAL_IP=127.0.0.1 \
        VCAP_APPLICATION="{\"application_id\":\"$(app_guid erl-app)\",\"name\":\"erl-app\"}" "$@" \
        bash -c '"$@"; echo "status $?"' _ "$DROPLET/deps/0/bin/erlang-cluster-agent" prepare \
        --run-dir "$run_dir" --launcher 'erl -noshell'
}

@test "a launch with TLS off removes the TLS record an earlier start left, so the agent never dials a clear-text node in TLS" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    mkdir -p "$BATS_TEST_TMPDIR/home"
    printf 'Test-Cookie-1' >"$BATS_TEST_TMPDIR/home/.erlang.cookie"
    chmod 0400 "$BATS_TEST_TMPDIR/home/.erlang.cookie"
    local run_dir="$BATS_TEST_TMPDIR/run"
    run prepare_launcher "$run_dir" ERLANG_CLUSTER_TLS=true \
        CF_INSTANCE_CERT="$BATS_TEST_TMPDIR/id/instance.crt" CF_INSTANCE_KEY="$BATS_TEST_TMPDIR/id/instance.key"
    [ "${lines[-1]}" = "status 0" ] || { echo "$output" >&2; false; }
    [ -f "$run_dir/tls_identity" ]
    grep -q inet_tls "$run_dir/node.args"
    run prepare_launcher "$run_dir" ERLANG_CLUSTER_TLS=false \
        CF_INSTANCE_CERT="$BATS_TEST_TMPDIR/id/instance.crt" CF_INSTANCE_KEY="$BATS_TEST_TMPDIR/id/instance.key"
    [ "${lines[-1]}" = "status 0" ] || { echo "$output" >&2; false; }
    [ ! -e "$run_dir/tls_identity" ]
    refute_grep inet_tls "$run_dir/node.args" "$run_dir/guest.args"
    # auto with no identity: the same.
    run prepare_launcher "$run_dir" ERLANG_CLUSTER_TLS=true \
        CF_INSTANCE_CERT="$BATS_TEST_TMPDIR/id/instance.crt" CF_INSTANCE_KEY="$BATS_TEST_TMPDIR/id/instance.key"
    [ -f "$run_dir/tls_identity" ]
    run prepare_launcher "$run_dir" ERLANG_CLUSTER_TLS=auto
    [ "${lines[-1]}" = "status 0" ] || { echo "$output" >&2; false; }
    [[ "$output" == *"clear text (ERLANG_CLUSTER_TLS=auto from environment: no instance identity"* ]]
    [ ! -e "$run_dir/tls_identity" ]
}

@test "an invalid ERLANG_CLUSTER_TLS_ALLOW at run time is one line naming it and the app starts unclustered" {
    droplet_for erl-app compile-only
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app --env ERLANG_CLUSTER_TLS=true \
        --env ERLANG_CLUSTER_TLS_ALLOW=other-app
    wait_until 30 app_beam_up
    run grep '^erlang-cluster:' "$INSTANCE_LOG"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *'ERLANG_CLUSTER_TLS_ALLOW: "other-app" has "other-app", which is not an app GUID or the word space; use comma-separated app GUIDs (cf app NAME --guid) and/or space for every app of this space'* ]]
}

# A second -proto_dist, -ssl_dist_optfile, -epmd_module or -erl_epmd_port (OTP 25 given two
# -proto_dist runs plain TCP without a word) from every source the app's BEAM reads
# (src/launch/flag_guard.c): taken out where prepare re-exports or copies it, else the app
# starts unclustered; one line says where and what, and a clear-text node with the cookie is
# refused either way.

# droplet_for_files NAME FIXTURE SED_FILE SED_EXPRESSION [PATH CONTENT]...: a droplet of a
# sample app changed by one sed expression (ssl into its release) and with files added, staged
# once per run.
droplet_for_files() {
    local name=$1 fixture=$2 sed_file=$3 sed_expression=$4 app dir="$BATS_RUN_TMPDIR/droplets"
    shift 4
    app="$BATS_RUN_TMPDIR/apps/$name"
    DROPLET="$dir/$name-compile-only"
    [ -f "$DROPLET/staging_info.yml" ] && return 0
    mkdir -p "$BATS_RUN_TMPDIR/apps" "$dir" "$LIFECYCLE_CACHE"
    rm -rf "$app"
    cp -a "$LIFECYCLE_REPO/tests/fixtures/$fixture" "$app"
    sed -i "$sed_expression" "$app/$sed_file"
    while [ "$#" -ge 2 ]; do
        mkdir -p "$(dirname "$app/$1")"
        printf '%s\n' "$2" >"$app/$1"
        shift 2
    done
    if ! "$LIFECYCLE_SUPPORT/cf-stage" --app "$app" --droplet "$DROPLET" --app-name "$fixture" \
        --buildpack "$LIFECYCLE_BP" --buildpack "$LIFECYCLE_SUPPORT/final-buildpacks/compile-only" \
        --cache-root "$LIFECYCLE_CACHE/$name-compile-only" >"$dir/$name.log" 2>&1; then
        cat "$dir/$name.log" >&2
        return 1
    fi
}

MIX_SSL='s/extra_applications: \[:logger\]/extra_applications: [:logger, :ssl]/'
MIX_RELEASE_START=(--start-command '_build/prod/rel/cluster_app/bin/cluster_app start')

@test "with TLS a -proto_dist in ERL_AFLAGS, ERL_FLAGS, ERL_ZFLAGS and ELIXIR_ERL_OPTIONS is taken out, said in one line, and clear text is refused" {
    droplet_for elixir-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" \
        --env 'ERL_AFLAGS=-proto_dist inet_tcp -ecb_kept yes' --env 'ERL_FLAGS=-proto_dist inet_tcp' \
        --env 'ERL_ZFLAGS=-proto_dist inet_tcp' --env 'ELIXIR_ERL_OPTIONS=-proto_dist inet_tcp'
    wait_for_tls_node elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app "$(droplet_cookie)"
    # Any one of the four left in makes two -proto_dist, and OTP 25 then runs clear text.
    assert_tls_flags_once elixir-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" elixir-app
    [[ "$output" == *'{ecb_kept,["yes"]}'* ]] # the rest of the variable is kept
    run probe_rpc elixir-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
    run grep '^erlang-cluster:' "$INSTANCE_LOG"
    [ "${#lines[@]}" -eq 2 ]
    # The first one found (in the environment's order) is named, the others counted.
    [[ "${lines[0]}" =~ ^"erlang-cluster: "(ERL_AFLAGS|ERL_FLAGS|ERL_ZFLAGS|ELIXIR_ERL_OPTIONS)" has -proto_dist inet_tcp: taken out for this start, because with ERLANG_CLUSTER_TLS the cluster sets the distribution flags itself (given twice, OTP runs distribution in clear text or ignores the flag). Take it out of "(ERL_AFLAGS|ERL_FLAGS|ERL_ZFLAGS|ELIXIR_ERL_OPTIONS)" (cf set-env, or the manifest's env) to silence this. (3 more such flags found.)"$ ]]
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
    [[ "${lines[1]}" == *"mutual TLS with the instance identity"*"start style erl"* ]]
}

@test "with TLS a relx release's vm.args -proto_dist is left out of the node's copy, said in one line, and clear text is refused" {
    droplet_for_files relx-ssl-proto relx-app rebar.config 's/\[relx_app, sasl\]/[relx_app, sasl, ssl]/' \
        config/vm.args "$(printf '%s\n' '-sname relx_app' '-setcookie relx_app_cookie' '+K true' \
            '-proto_dist inet_tcp')"
    issue_identity "$BATS_TEST_TMPDIR/id" relx-app
    issue_identity "$BATS_TEST_TMPDIR/probe-id" relx-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name relx-app "${tls[@]}"
    wait_for_tls_node relx-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" relx-app "$(droplet_cookie)"
    assert_tls_flags_once relx-app@127.0.0.1 "$BATS_TEST_TMPDIR/probe-id" relx-app
    run probe_rpc relx-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
    refute_grep -- '-proto_dist' "$INSTANCE_ROOT/tmp/erlang-cluster/vm.args"
    grep -qx '+K true' "$INSTANCE_ROOT/tmp/erlang-cluster/vm.args"
    run grep '^erlang-cluster:.*vm.args has' "$INSTANCE_LOG"
    [[ "$output" == "erlang-cluster: $INSTANCE_ROOT/app/_build/prod/rel/relx_app/releases/0.1.0/vm.args has -proto_dist inet_tcp: taken out for this start"*"Remove it from"*"(config/vm.args in the rebar3 project)." ]]
}

# The release's own files are not ours to rewrite: each one alone leaves the app unclustered.
@test "with TLS a Mix release whose rel/vm.args.eex says -proto_dist inet_tcp starts unclustered with one line, never in clear text" {
    droplet_for_files mix-vm-args-proto elixir-app mix.exs "$MIX_SSL" \
        rel/vm.args.eex "$(printf '%s\n' '## the app once ran its own distribution' '-proto_dist inet_tcp')"
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" "${MIX_RELEASE_START[@]}"
    assert_started_unclustered "erlang-cluster: $INSTANCE_ROOT/app/_build/prod/rel/cluster_app/releases/0.1.0/vm.args has -proto_dist inet_tcp, and with ERLANG_CLUSTER_TLS the cluster sets the distribution flags itself"
    [[ "$output" == *"the app starts unclustered. Remove it from rel/vm.args.eex and push again." ]]
    probe_cookie "$(droplet_cookie)"
    run probe_rpc elixir-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "with TLS a Mix release whose rel/env.sh.eex exports a -proto_dist starts unclustered with one line" {
    droplet_for_files mix-env-sh-proto elixir-app mix.exs "$MIX_SSL" \
        rel/env.sh.eex "$(printf '%s\n' '#!/bin/sh' 'export ELIXIR_ERL_OPTIONS="-proto_dist inet_tcp"')"
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" "${MIX_RELEASE_START[@]}"
    assert_started_unclustered "erlang-cluster: $INSTANCE_ROOT/app/_build/prod/rel/cluster_app/releases/0.1.0/env.sh has -proto_dist"
    [[ "$output" == *"Remove it from rel/env.sh.eex and push again." ]]
    probe_cookie "$(droplet_cookie)"
    run probe_rpc elixir-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "with TLS a Mix release whose rel/remote.vm.args.eex has -proto_dist starts unclustered with one line" {
    droplet_for_files mix-remote-proto elixir-app mix.exs "$MIX_SSL" \
        rel/remote.vm.args.eex '-proto_dist inet_tcp'
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" "${MIX_RELEASE_START[@]}"
    assert_started_unclustered "erlang-cluster: $INSTANCE_ROOT/app/_build/prod/rel/cluster_app/releases/0.1.0/remote.vm.args has -proto_dist inet_tcp"
    [[ "$output" == *"Remove it from rel/remote.vm.args.eex and push again." ]]
}

@test "with TLS an -args_file nested in a flag variable that holds -proto_dist starts the app unclustered with one line naming that file" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    printf '%s\n' '+K true' "-args_file $BATS_TEST_TMPDIR/inner.args" >"$BATS_TEST_TMPDIR/outer.args"
    printf '%s\n' '# IPv6 distribution, set up by hand once' '-proto_dist inet6_tcp' >"$BATS_TEST_TMPDIR/inner.args"
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app "${tls[@]}" \
        --env "ERL_ZFLAGS=-args_file $BATS_TEST_TMPDIR/outer.args"
    assert_started_unclustered "erlang-cluster: $BATS_TEST_TMPDIR/inner.args has -proto_dist inet6_tcp"
    [[ "$output" == *"the app starts unclustered. Remove it from $BATS_TEST_TMPDIR/inner.args." ]]
    probe_cookie "$(droplet_cookie)"
    run probe_rpc erl-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "with TLS an -args_file chain deeper than the guard reads starts the app unclustered with one line naming where it stopped" {
    droplet_for erl-app compile-only
    issue_identity "$BATS_TEST_TMPDIR/id" erl-app
    local i
    for i in 1 2 3 4; do
        printf '%s\n' '+K true' "-args_file $BATS_TEST_TMPDIR/a$((i + 1)).args" >"$BATS_TEST_TMPDIR/a$i.args"
    done
    printf '%s\n' '-proto_dist inet_tcp' >"$BATS_TEST_TMPDIR/a5.args" # erl reads it: two -proto_dist
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name erl-app "${tls[@]}" \
        --env "ERL_ZFLAGS=-args_file $BATS_TEST_TMPDIR/a1.args"
    assert_started_unclustered "erlang-cluster: $BATS_TEST_TMPDIR/a4.args names -args_file $BATS_TEST_TMPDIR/a5.args, which the cluster cannot read to the end (nested deeper than the limit)"
    [[ "$output" == *"the app starts unclustered. Make it a readable regular file of at most 256 KiB, at most 4 -args_file deep, or remove that -args_file." ]]
    probe_cookie "$(droplet_cookie)"
    run probe_rpc erl-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
}

@test "with TLS a Mix release whose rel/env.sh.eex sources another file starts unclustered with one line" {
    droplet_for_files mix-env-sh-source elixir-app mix.exs "$MIX_SSL" \
        rel/env.sh.eex "$(printf '%s\n' '#!/bin/sh' '. "$RELEASE_ROOT/releases/more-env.sh"')" \
        rel/overlays/releases/more-env.sh 'export ERL_ZFLAGS="-proto_dist inet_tcp"'
    issue_identity "$BATS_TEST_TMPDIR/id" elixir-app
    mapfile -t tls < <(tls_env "$BATS_TEST_TMPDIR/id")
    launch_instance web0 --ip 127.0.0.1 --app-name elixir-app "${tls[@]}" "${MIX_RELEASE_START[@]}"
    assert_started_unclustered "erlang-cluster: $INSTANCE_ROOT/app/_build/prod/rel/cluster_app/releases/0.1.0/env.sh line 2 sources another file (. \"\$RELEASE_ROOT/releases/more-env.sh\")"
    [[ "$output" == *"set the variable with cf set-env instead, and push again." ]]
    probe_cookie "$(droplet_cookie)"
    run probe_rpc elixir-app@127.0.0.1 erlang node '[]'
    [ "$output" = no_connection ]
}
