# shellcheck shell=bash
# Shared by launch.bats and lifecycle.bats: stage the sample apps through the local CF
# lifecycle (tests/support/cf-stage) once per test run, launch instances of them
# (tests/support/cf-launch) inside a network namespace created per test (so every instance
# can use the real distribution port 9001 and its own epmd), and ask the running nodes
# who they are with a probe BEAM that reads its cookie from a file, never from argv.
#
#   lifecycle_setup_file           build the buildpack (setup_file)
#   lifecycle_setup / _teardown    the per-test sandbox and network namespace
#   droplet_for FIXTURE KIND       stage tests/fixtures/FIXTURE with the final buildpack KIND
#                                  (compile-only | finalize) once per run; sets DROPLET
#   launch_instance NAME ARGS...   start cf-launch in the namespace (root $BATS_TEST_TMPDIR/NAME);
#                                  sets INSTANCE_ROOT, INSTANCE_LOG, INSTANCE_PID
#   wait_for_node NODE [COOKIE]    until the probe reaches NODE (bounded), else fail
#   probe_rpc NODE M F ARGS        prints rpc:call(NODE, M, F, ARGS) as ~p
#   in_ns CMD...                   run CMD in the test's namespace
#   ssh_terminal_start / _type_after / _end   an interactive `cf ssh` on a terminal

LIFECYCLE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The buildpack as users install it: the packaged zip, unpacked (set in lifecycle_setup_file).
LIFECYCLE_BP=${LIFECYCLE_BP:-}
LIFECYCLE_SUPPORT="$LIFECYCLE_REPO/tests/support"
# Build outputs of the sample apps survive between runs (make clean removes them).
LIFECYCLE_CACHE="$LIFECYCLE_REPO/build/test-cache"
NODE_WAIT_SECONDS=${NODE_WAIT_SECONDS:-40}

lifecycle_setup_file() {
    (cd "$LIFECYCLE_REPO" && make -s all >/dev/null)
    LIFECYCLE_BP=$("$LIFECYCLE_SUPPORT/unpacked-buildpack")
    export LIFECYCLE_BP
}

lifecycle_setup() {
    LIFECYCLE_NS="ecbl-$$-${BATS_TEST_NUMBER}"
    ip netns add "$LIFECYCLE_NS"
    ip -n "$LIFECYCLE_NS" link set lo up
    PROBE_HOME="$BATS_TEST_TMPDIR/probe-home"
    mkdir -p "$PROBE_HOME"
}

# Ends every process of this test (all of them run in the test's namespace), SIGTERM first,
# then SIGKILL for what is left, then the namespace itself. Fails when a process outlives
# both or the namespace cannot be deleted.
lifecycle_teardown() {
    [ -n "${LIFECYCLE_NS-}" ] || return 0
    [ -e "/run/netns/$LIFECYCLE_NS" ] || return 0 # the test failed before it made it
    local signal pids deadline
    for signal in TERM KILL; do
        pids=$(ip netns pids "$LIFECYCLE_NS")
        [ -n "$pids" ] || break
        # One may exit between the listing and the signal (kill then fails for it alone);
        # whether all are gone is checked below.
        # shellcheck disable=SC2086 # one pid per word
        kill -"$signal" $pids 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while [ -n "$(ip netns pids "$LIFECYCLE_NS")" ] && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 0.1
        done
    done
    pids=$(ip netns pids "$LIFECYCLE_NS")
    if [ -n "$pids" ]; then
        echo "teardown: processes outlive SIGKILL in $LIFECYCLE_NS:" $pids >&2
        return 1
    fi
    ip netns del "$LIFECYCLE_NS"
}

in_ns() {
    ip netns exec "$LIFECYCLE_NS" "$@"
}

# Stages once per run (per bats invocation); droplets are never changed by launches.
droplet_for() {
    local fixture=$1 kind=$2
    local dir="$BATS_RUN_TMPDIR/droplets"
    DROPLET="$dir/$fixture-$kind"
    [ -f "$DROPLET/staging_info.yml" ] && return 0
    mkdir -p "$dir" "$LIFECYCLE_CACHE"
    if ! "$LIFECYCLE_SUPPORT/cf-stage" --app "$LIFECYCLE_REPO/tests/fixtures/$fixture" \
        --droplet "$DROPLET" --app-name "$fixture" \
        --buildpack "$LIFECYCLE_BP" \
        --buildpack "$LIFECYCLE_SUPPORT/final-buildpacks/$kind" \
        --cache-root "$LIFECYCLE_CACHE/$fixture-$kind" >"$dir/$fixture-$kind.log" 2>&1; then
        cat "$dir/$fixture-$kind.log" >&2
        return 1
    fi
}

launch_instance() {
    local name=$1
    shift
    INSTANCE_ROOT="$BATS_TEST_TMPDIR/$name"
    INSTANCE_LOG="$BATS_TEST_TMPDIR/$name.log"
    # Not through in_ns: a backgrounded function is a subshell, and $! must be the app.
    ip netns exec "$LIFECYCLE_NS" "$LIFECYCLE_SUPPORT/cf-launch" --droplet "$DROPLET" \
        --root "$INSTANCE_ROOT" "$@" >"$INSTANCE_LOG" 2>&1 </dev/null &
    INSTANCE_PID=$!
}

# The probe's cookie file holds what the node's cookie must be.
probe_cookie() {
    rm -f "$PROBE_HOME/.erlang.cookie"
    printf '%s' "$1" >"$PROBE_HOME/.erlang.cookie"
    chmod 0400 "$PROBE_HOME/.erlang.cookie"
}

# probe_rpc NODE MOD FUN ARGS: a hidden BEAM that does not listen (so it takes no port),
# dials NODE (epmd-less on PROBE_PORT, default 9001; through epmd when PROBE_EPMD=true) and
# prints the result of the call, or "no_connection".
probe_rpc() {
    local flags=(-start_epmd false -erl_epmd_port "${PROBE_PORT:-9001}" -dist_listen false)
    [ "${PROBE_EPMD-}" != true ] || flags=()
    in_ns env -i PATH=/usr/bin:/bin HOME="$PROBE_HOME" PROBE_NODE="$1" PROBE_CALL="{$2, $3, $4}" \
        timeout 20 erl -noshell -hidden -name "probe$$-$RANDOM@127.0.0.1" "${flags[@]}" -eval '
            Node = list_to_atom(os:getenv("PROBE_NODE")),
            {ok, Tokens, _} = erl_scan:string(os:getenv("PROBE_CALL") ++ "."),
            {ok, {M, F, A}} = erl_parse:parse_term(Tokens),
            case net_kernel:connect_node(Node) of
                true -> io:format("~p~n", [rpc:call(Node, M, F, A, 10000)]);
                _ -> io:format("no_connection~n")
            end,
            halt().'
}

# Polls (bounded) until the probe reaches NODE with the given cookie.
wait_for_node() {
    local node=$1 deadline=$((SECONDS + NODE_WAIT_SECONDS)) out
    [ -z "${2-}" ] || probe_cookie "$2"
    while [ "$SECONDS" -lt "$deadline" ]; do
        out=$(probe_rpc "$node" erlang node '[]' 2>&1 || true)
        [ "$out" = "'$node'" ] && return 0
        if ! kill -0 "$INSTANCE_PID" 2>/dev/null; then
            echo "the instance exited; its output:" >&2
            cat "$INSTANCE_LOG" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "node $node did not answer within ${NODE_WAIT_SECONDS}s (last probe: $out); output:" >&2
    cat "$INSTANCE_LOG" >&2
    return 1
}

# Polls (bounded) until CMD succeeds.
wait_until() {
    local seconds=$1 deadline
    shift
    deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# The BEAM of this instance: the app process (the exec chain keeps the launcher's pid) or,
# for start commands that fork, the beam.smp whose HOME is this instance's app dir.
instance_beam_pid() {
    local pid
    for pid in $(ip netns pids "$LIFECYCLE_NS"); do
        [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "" ] || continue
        case "$(readlink "/proc/$pid/exe")" in
            */beam.smp) ;;
            *) continue ;;
        esac
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "HOME=$INSTANCE_ROOT/app"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# Which processes listen on TCP port $1 in the namespace (ss -ltnp users field).
listeners_on_port() {
    in_ns ss -Hltnp "sport = :$1"
}

# No process of the namespace has the cookie anywhere on its command line.
cookie_not_in_any_cmdline() {
    local cookie=$1 pid
    for pid in $(ip netns pids "$LIFECYCLE_NS"); do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$cookie"; then
            echo "cookie found in the command line of $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
            return 1
        fi
    done
}

http_get() {
    in_ns curl -fsS --max-time 5 "http://127.0.0.1:$1/"
}

# An interactive `cf ssh` on a terminal, as `cf ssh` allocates one: script(1) runs the
# session, the test types into a FIFO and reads the transcript (TERMINAL_LOG).
ssh_terminal_start() { # instance options...
    TERMINAL_LOG="$BATS_TEST_TMPDIR/terminal.log"
    mkfifo "$BATS_TEST_TMPDIR/terminal.in"
    in_ns timeout 120 script -qec "$(printf '%q ' "$LIFECYCLE_SUPPORT/cf-launch" \
        --droplet "$DROPLET" --root "$INSTANCE_ROOT" "$@" --ssh '')" /dev/null \
        <"$BATS_TEST_TMPDIR/terminal.in" >"$TERMINAL_LOG" 2>&1 &
    TERMINAL_PID=$!
    exec {TERMINAL_IN}>"$BATS_TEST_TMPDIR/terminal.in"
    # The client's terminal type, and a prompt the echo of this line does not contain.
    printf '%s\n' "export TERM=xterm PS1='ssh''> '" >&"$TERMINAL_IN"
}

terminal_shows() { # COUNT TEXT
    [ "$(grep -oF -- "$2" "$TERMINAL_LOG" | wc -l)" -ge "$1" ]
}

# Types INPUT once TEXT shows COUNT times in the transcript (bounded wait).
ssh_terminal_type_after() { # COUNT TEXT INPUT
    wait_until 30 terminal_shows "$1" "$2" || { cat "$TERMINAL_LOG" >&2; return 1; }
    printf '%s' "$3" >&"$TERMINAL_IN"
}

# Ends the session (`exit` after COUNT prompts) and puts the transcript in output.
ssh_terminal_end() { # COUNT
    ssh_terminal_type_after "$1" 'ssh> ' $'exit\n'
    wait "$TERMINAL_PID"
    exec {TERMINAL_IN}>&-
    # shellcheck disable=SC2034 # bats' output, read by the test
    output=$(cat "$TERMINAL_LOG")
}

# The droplet's cookie file, as staging wrote it.
droplet_cookie() {
    cat "$DROPLET/app/.erlang.cookie"
}

# A `cf ssh` shell in the instance (same instance options as its launch); an empty command
# is an interactive `cf ssh` that reads its commands from stdin.
ssh_run() {
    local cmd=$1
    shift
    in_ns timeout 60 "$LIFECYCLE_SUPPORT/cf-launch" --droplet "$DROPLET" --root "$INSTANCE_ROOT" \
        "$@" --ssh "$cmd"
}
