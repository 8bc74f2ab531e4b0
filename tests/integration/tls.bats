#!/usr/bin/env bats
# shellcheck disable=SC2016 # Erlang code in single quotes expands nothing, by design
# The agent with TLS distribution, on loopback: real BEAMs run -proto_dist inet_tls with the
# optfile the launch step renders (build/tests/tls-optfile) and Diego-like identities
# (tests/support/instance-identity, IP SAN 127.0.0.N); the agent finds the TLS identity record
# in its run dir, as prepare writes it, and must speak TLS to its node and to the peers it
# probes. Static discovery: no registry.

load agent_helper

IDENTITY=$REPO_ROOT/tests/support/instance-identity
TLS_OPTFILE=$REPO_ROOT/${ECB_BUILD_DIR:-build}/tests/tls-optfile
TLS_NODE_RPC=$REPO_ROOT/${ECB_BUILD_DIR:-build}/tests/tls-node-rpc
APP=6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9
OTHER_APP=99999999-8888-4777-8666-555544443333

# Each node keeps $SANDBOX/viewN (its sorted nodes(), one a line) and hiddenN (the hidden
# nodes, the agent's C nodes among them) up to date. When $SANDBOX/reloadN appears, it drops
# its hidden connections and removes the file (the rendered optfile reads the identity and CA
# files afresh for every connection).
node_code() {
    local n=$1
    printf '%s' "
Dir = \"$SANDBOX\",
Write = fun(Name, Nodes) ->
    Tmp = filename:join(Dir, Name ++ \".tmp\"),
    ok = file:write_file(Tmp, [[atom_to_list(N), \$\\n] || N <- lists:sort(Nodes)]),
    ok = file:rename(Tmp, filename:join(Dir, Name))
end,
spawn(fun() ->
    ok = net_kernel:monitor_nodes(true, [{node_type, all}]),
    Loop = fun L() ->
        Write(\"view$n\", nodes()), Write(\"hidden$n\", nodes(hidden)),
        receive _ -> L() end
    end,
    Loop()
end),
spawn(fun() ->
    Reload = filename:join(Dir, \"reload$n\"),
    Loop = fun L() ->
        case filelib:is_file(Reload) of
            true ->
                [erlang:disconnect_node(N) || N <- nodes(hidden)],
                ok = file:delete(Reload);
            false -> ok
        end,
        timer:sleep(100),
        L()
    end,
    Loop()
end)."
}

# identity DIR N [ARGS...]: a Diego-like identity for 127.0.0.N in DIR, of this app unless
# ARGS say otherwise (--app, --ca), from CA a.
identity() {
    local dir=$1 n=$2
    shift 2
    "$IDENTITY" issue --ca "$SANDBOX/ca-a" --out "$dir" --ip "127.0.0.$n" --app "$APP" "$@"
}

# start_tls_beam N TRUST [--app GUID]: node chat@127.0.0.N over TLS with the identity in
# $SANDBOX/node-idN, trusting the CAs in the file TRUST, accepting this app (or GUID).
start_tls_beam() {
    local n=$1 trust=$2 app=${4:-$APP}
    "$TLS_OPTFILE" --cert "$SANDBOX/node-id$n/instance.crt" --key "$SANDBOX/node-id$n/instance.key" \
        --ca "$trust" --app "$app" >"$SANDBOX/ssl_dist$n.opts"
    start_beam "$n" -proto_dist inet_tls -ssl_dist_optfile "$SANDBOX/ssl_dist$n.opts" \
        -eval "$(node_code "$n")"
    wait_until 10 test -f "$SANDBOX/view$n"
}

# record N: the TLS identity record of instance N's run dir, as prepare writes it, for the
# agent's identity in $SANDBOX/agent-idN; and the node's name.
record() {
    local n=$1
    mkdir -p "$SANDBOX/run$n"
    printf '%s@127.0.0.%s\n' "$CLUSTER" "$n" >"$SANDBOX/run$n/node_name"
    printf 'certfile %s\nkeyfile %s\ncafile %s\napp %s\n' "$SANDBOX/agent-id$n/instance.crt" \
        "$SANDBOX/agent-id$n/instance.key" "$SANDBOX/trusted.pem" "$APP" >"$SANDBOX/run$n/tls_identity"
}

view_is() {
    local n=$1 expected
    shift
    expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    [[ -f $SANDBOX/view$n && $(cat "$SANDBOX/view$n") == "$expected" ]]
}

agent_cnodes() { grep -c '^erlang-cluster-agent-node-' "$SANDBOX/hidden$1" || true; }
agent_cnode() { grep '^erlang-cluster-agent-node-' "$SANDBOX/hidden$1"; }
has_agent_cnode() { (($(agent_cnodes "$1") == 1)); }

# utc_expiry CERT: the certificate's notAfter as status prints it.
utc_expiry() {
    date -u -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}

status_has() {
    "$AGENT" status --run-dir "$SANDBOX/run$1" | grep -qF -- "$2"
}

setup() {
    agent_setup
    [[ -x $TLS_OPTFILE && -x $TLS_NODE_RPC ]] ||
        { echo "build the test drivers first: make integration-drivers" >&2; return 1; }
    # As on Diego, the issuers are intermediates, trusted as they are (not through the root).
    "$IDENTITY" ca "$SANDBOX/root" --name "Foundation Root CA"
    "$IDENTITY" ca "$SANDBOX/ca-a" --under "$SANDBOX/root" --name "Instance Identity CA A"
    "$IDENTITY" ca "$SANDBOX/ca-b" --under "$SANDBOX/root" --name "Instance Identity CA B"
    cat "$SANDBOX/ca-a/ca.crt" "$SANDBOX/ca-b/ca.crt" >"$SANDBOX/trusted.pem"
}

teardown() {
    agent_teardown
}

@test "the agent speaks TLS to its node, meshes it with a static peer, and status says so" {
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/node-id2" 2
    identity "$SANDBOX/agent-id1" 1 --minutes 600
    start_tls_beam 1 "$SANDBOX/trusted.pem"
    start_tls_beam 2 "$SANDBOX/trusted.pem"
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    wait_until 20 view_is 1 "$CLUSTER@127.0.0.2"
    view_is 2 "$CLUSTER@127.0.0.1"
    log_has 1 "distribution: TLS with the instance identity (app $APP, certificate $SANDBOX/agent-id1/instance.crt)"
    # Every distribution connection of these nodes is TLS; the agent's C node is one of them.
    has_agent_cnode 1
    local until
    until=$(utc_expiry "$SANDBOX/agent-id1/instance.crt")
    wait_until 5 status_has 1 "distribution: TLS (instance identity, app $APP, certificate valid until $until)"
    status_has 1 "$CLUSTER@127.0.0.2"
    # status reads the certificate file as it is now: a rotation shows at once.
    "$IDENTITY" rotate --ca "$SANDBOX/ca-a" --out "$SANDBOX/agent-id1" --ip 127.0.0.1 --app "$APP" --minutes 30
    local rotated
    rotated=$(utc_expiry "$SANDBOX/agent-id1/instance.crt")
    [ "$rotated" != "$until" ]
    status_has 1 "certificate valid until $rotated)"
}

@test "without a record the agent says it speaks clear text" {
    start_beam 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    wait_until 20 log_has 1 "distribution: clear text"
    wait_until 10 status_has 1 "distribution: clear text"
}

@test "an unreadable record: one line, and the node is not dialled in clear text" {
    identity "$SANDBOX/node-id1" 1
    start_tls_beam 1 "$SANDBOX/trusted.pem"
    mkdir -p "$SANDBOX/run1"
    printf 'certfile relative/path\n' >"$SANDBOX/run1/tls_identity"
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    local rc=0
    wait "${AGENT_PIDS[1]}" || rc=$?
    [ "$rc" -eq 1 ]
    [ "$(grep -c 'TLS identity record' "$SANDBOX/agent1.log")" -eq 1 ]
    grep -q "stays unclustered (the agent does not dial a TLS node in clear text)" "$SANDBOX/agent1.log"
    [ "$(agent_cnodes 1)" -eq 0 ]
}

# intruder_gets_in N: a clear-text node holding the cookie reaches node N (erl_call dials in
# clear text and reads $HOME/.erlang.cookie).
intruder_gets_in() {
    erl_call -address "127.0.0.$1:$DIST_PORT" -r -timeout 3 -a 'erlang node' 2>/dev/null |
        grep -qF "'$CLUSTER@127.0.0.$1'"
}

@test "a node that runs clear text despite its TLS flags is cut off, reported, and dials no peer" {
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/agent-id1" 1
    "$TLS_OPTFILE" --cert "$SANDBOX/node-id1/instance.crt" --key "$SANDBOX/node-id1/instance.key" \
        --ca "$SANDBOX/trusted.pem" --app "$APP" >"$SANDBOX/ssl_dist1.opts"
    # Our TLS flags plus a second -proto_dist, as an app's own ERL_AFLAGS would add: OTP 25
    # then runs plain TCP.
    start_beam 1 -proto_dist inet_tls -ssl_dist_optfile "$SANDBOX/ssl_dist1.opts" \
        -proto_dist inet_tcp -eval "$(node_code 1)"
    start_beam 2 -eval "$(node_code 2)"
    intruder_gets_in 1
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    wait_for_exit "${AGENT_PIDS[1]}" 30
    local rc=0
    wait "${AGENT_PIDS[1]}" || rc=$?
    [ "$rc" -eq 1 ]
    [ "$(grep -c 'distribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true' "$SANDBOX/agent1.log")" -eq 1 ]
    log_has 1 "-proto_dist inet_tls inet_tcp"
    log_has 1 "stopped its distribution; this instance stays unclustered"
    log_has 1 "ERL_AFLAGS, ERL_ZFLAGS, ERL_FLAGS, ELIXIR_ERL_OPTIONS"
    status_has 1 "distribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true"
    status_has 1 "last error:   app node $CLUSTER@127.0.0.1 speaks no TLS"
    # The node still runs, reachable by no one: the intruder holding the cookie fails now.
    kill -0 "${BEAM_PIDS[1]}"
    refute intruder_gets_in 1
    refute port_open 127.0.0.1 "$DIST_PORT"
    # No peer was dialled: the clear-text peer never saw node 1.
    view_is 2
}

@test "a clear-text node that closes the agent's TLS hello at once is caught, not taken for a TLS refusal" {
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/agent-id1" 1
    "$TLS_OPTFILE" --cert "$SANDBOX/node-id1/instance.crt" --key "$SANDBOX/node-id1/instance.key" \
        --ca "$SANDBOX/trusted.pem" --app "$APP" >"$SANDBOX/ssl_dist1.opts"
    # A second -proto_dist (plain TCP then) and a short net_setuptime, both an app's own flags
    # could carry: the node closes the agent's TLS hello after 200 ms instead of letting it
    # time out.
    start_beam 1 -proto_dist inet_tls -ssl_dist_optfile "$SANDBOX/ssl_dist1.opts" \
        -proto_dist inet_tcp -kernel net_setuptime 0.2 -eval "$(node_code 1)"
    start_beam 2 -eval "$(node_code 2)"
    # (A loaded machine may not finish a handshake in 200 ms: another try then.)
    wait_until 20 intruder_gets_in 1
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    wait_for_exit "${AGENT_PIDS[1]}" 60
    local rc=0
    wait "${AGENT_PIDS[1]}" || rc=$?
    [ "$rc" -eq 1 ]
    [ "$(grep -c 'distribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true' "$SANDBOX/agent1.log")" -eq 1 ]
    log_has 1 "speaks no TLS and accepted a clear-text handshake with the cookie"
    log_has 1 "stopped its distribution; this instance stays unclustered"
    refute log_has 1 "refuses the agent at the TLS layer"
    status_has 1 "distribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true"
    # The node still runs, reachable by no one, and no peer was dialled.
    kill -0 "${BEAM_PIDS[1]}"
    refute intruder_gets_in 1
    refute port_open 127.0.0.1 "$DIST_PORT"
    view_is 2
}

@test "a TLS node passes the proof quietly, and a reconnection is proved again" {
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/agent-id1" 1
    start_tls_beam 1 "$SANDBOX/trusted.pem"
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    wait_until 20 log_has 1 "app node $CLUSTER@127.0.0.1 is up"
    wait_until 10 has_agent_cnode 1
    local previous
    previous=$(agent_cnode 1)
    touch "$SANDBOX/reload1"
    changed() { has_agent_cnode 1 && [[ $(agent_cnode 1) != "$previous" ]]; }
    wait_until 30 changed
    wait_until 10 eval '(($(grep -c "TLS proved: a clear-text handshake was refused" "$SANDBOX/agent1.log") >= 2))'
    # The proof says nothing above debug, and the node is still served over TLS.
    refute grep -E "(INFO|WARN|ERROR): .*(TLS proof|TLS proved|CLEAR TEXT)" "$SANDBOX/agent1.log"
    status_has 1 "distribution: TLS (instance identity, app $APP"
    refute intruder_gets_in 1
    kill -0 "${AGENT_PIDS[1]}"
}

@test "after a rotation the agent's next connection presents the new certificate" {
    # Node 1 trusts CA a alone; the agent's first certificate is from CA a.
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/agent-id1" 1
    cp "$SANDBOX/ca-a/ca.crt" "$SANDBOX/trust1.pem"
    start_tls_beam 1 "$SANDBOX/trust1.pem"
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
    wait_until 20 has_agent_cnode 1
    local first
    first=$(agent_cnode 1)
    # Rotated to a certificate from CA b, and node 1 now trusts CA b alone: only the new
    # certificate can connect. Node 1 then drops the agent's connection.
    "$IDENTITY" rotate --ca "$SANDBOX/ca-b" --out "$SANDBOX/agent-id1" --ip 127.0.0.1 --app "$APP"
    cp "$SANDBOX/ca-b/ca.crt" "$SANDBOX/trust1.pem.tmp"
    mv "$SANDBOX/trust1.pem.tmp" "$SANDBOX/trust1.pem"
    touch "$SANDBOX/reload1"
    reconnected() { has_agent_cnode 1 && [[ $(agent_cnode 1) != "$first" ]]; }
    wait_until 10 reconnected
    kill -0 "${AGENT_PIDS[1]}"
    refute grep -q "is gone" "$SANDBOX/agent1.log"
    # The old certificate (CA a's, as node 1's own) is refused by node 1 now: the agent's
    # connection can only have been made with the new one.
    run "$TLS_NODE_RPC" --cert "$SANDBOX/node-id1/instance.crt" --key "$SANDBOX/node-id1/instance.key" \
        --ca "$SANDBOX/trusted.pem" --app "$APP" --node "$CLUSTER@127.0.0.1" --port "$DIST_PORT" \
        --cookie-file "$HOME/.erlang.cookie"
    [ "$status" -eq 1 ]
    [[ $output == "refused: TLS: the node refused the connection (our certificate?)"* ]]
}

@test "a peer of another app is reported as refused at the TLS layer, not as another cookie" {
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/node-id3" 3 --app "$OTHER_APP"
    identity "$SANDBOX/agent-id1" 1
    start_tls_beam 1 "$SANDBOX/trusted.pem"
    start_tls_beam 3 "$SANDBOX/trusted.pem" --app "$OTHER_APP"
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.3"
    wait_until 30 log_has 1 "$CLUSTER@127.0.0.3 refused at the TLS layer: TLS: the node's certificate is not one of app $APP"
    refute log_has 1 "a different cookie"
    view_is 1
    view_is 3
}

@test "a TLS peer with another cookie is reported as such" {
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/node-id3" 3
    identity "$SANDBOX/agent-id1" 1
    start_tls_beam 1 "$SANDBOX/trusted.pem"
    "$TLS_OPTFILE" --cert "$SANDBOX/node-id3/instance.crt" --key "$SANDBOX/node-id3/instance.key" \
        --ca "$SANDBOX/trusted.pem" --app "$APP" >"$SANDBOX/ssl_dist3.opts"
    start_beam 3 -setcookie other-generation-cookie -proto_dist inet_tls \
        -ssl_dist_optfile "$SANDBOX/ssl_dist3.opts"
    record 1
    start_agent 1 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.3"
    wait_until 30 log_has 1 "$CLUSTER@127.0.0.3 refused the handshake: a different cookie"
    refute log_has 1 "refused at the TLS layer"
}

# A node whose rpc server answers every call after a burst of other messages: its TLS sender
# packs queued messages into one record, so the answer arrives decrypted behind them, with
# nothing left on the socket for poll() to see.
@test "an answer TLS has already decrypted is read without waiting on the socket" {
    identity "$SANDBOX/node-id1" 1
    start_beam_tls_with_bursty_rex 1
    run "$TLS_NODE_RPC" --cert "$SANDBOX/node-id1/instance.crt" --key "$SANDBOX/node-id1/instance.key" \
        --ca "$SANDBOX/trusted.pem" --app "$APP" --node "$CLUSTER@127.0.0.1" --port "$DIST_PORT" \
        --cookie-file "$HOME/.erlang.cookie"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "nodes 0" ]
}

start_beam_tls_with_bursty_rex() {
    local n=$1
    "$TLS_OPTFILE" --cert "$SANDBOX/node-id$n/instance.crt" --key "$SANDBOX/node-id$n/instance.key" \
        --ca "$SANDBOX/trusted.pem" --app "$APP" >"$SANDBOX/ssl_dist$n.opts"
    start_beam "$n" -proto_dist inet_tls -ssl_dist_optfile "$SANDBOX/ssl_dist$n.opts" -eval '
      Serve = fun Loop() ->
        receive {From, {call, M, F, A, _}} when is_pid(From) ->
          [From ! {burst, I, lists:duplicate(64, $x)} || I <- lists:seq(1, 200)],
          From ! {rex, apply(M, F, A)}
        end,
        Loop()
      end,
      true = unregister(rex),
      true = register(rex, spawn(Serve)).'
}

@test "many TLS connections, reconnections and refused probes leak no memory" {
    # As agent.bats's long run: valgrind on the shipped build, LeakSanitizer on a sanitizer
    # build (it reports at exit and makes the exit status non-zero).
    if objdump -p "$AGENT" | grep -q 'NEEDED.*libasan'; then
        leak_check=(env ASAN_OPTIONS=detect_leaks=1:exitcode=99 "LSAN_OPTIONS=log_path=$SANDBOX/valgrind.log")
    else
        command -v valgrind >/dev/null || { echo "valgrind is required (tests/support/install-deps)" >&2; false; }
        leak_check=(valgrind --leak-check=full '--show-leak-kinds=definite,indirect'
            '--errors-for-leak-kinds=definite,indirect' --error-exitcode=99 --log-file="$SANDBOX/valgrind.log")
    fi
    identity "$SANDBOX/node-id1" 1
    identity "$SANDBOX/node-id3" 3 --app "$OTHER_APP"
    identity "$SANDBOX/agent-id1" 1
    start_tls_beam 1 "$SANDBOX/trusted.pem"
    start_tls_beam 3 "$SANDBOX/trusted.pem" --app "$OTHER_APP"
    record 1
    env CF_INSTANCE_INTERNAL_IP=127.0.0.1 CF_INSTANCE_GUID=guid-1 \
        VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" \
        ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.3" \
        ERLANG_CLUSTER_POLL_INTERVAL=2 ERLANG_CLUSTER_LOG_LEVEL=debug \
        "${leak_check[@]}" "$AGENT" run --run-dir "$SANDBOX/run1" --node-wait 60 >"$SANDBOX/agent1.log" 2>&1 &
    AGENT_PIDS[1]=$!
    wait_until 60 has_agent_cnode 1
    local previous
    for _ in $(seq 1 25); do
        wait_until 30 has_agent_cnode 1
        previous=$(agent_cnode 1)
        echo "$previous" >>"$SANDBOX/agent-names"
        touch "$SANDBOX/reload1"
        changed() { has_agent_cnode 1 && [[ $(agent_cnode 1) != "$previous" ]]; }
        wait_until 30 changed
    done
    # 25 reconnections, and the node met at most the fixed set of eight agent names (each an
    # atom it keeps).
    (($(sort -u "$SANDBOX/agent-names" | wc -l) <= 8))
    # The refusing peer was probed over TLS along the way (its probes follow the peer backoff,
    # and under valgrind a handshake can outlast a probe's timeout: give it a few more).
    wait_until 150 log_has 1 "$CLUSTER@127.0.0.3 refused at the TLS layer" ||
        { grep -F "127.0.0.3" "$SANDBOX/agent1.log" >&2; false; }
    kill -TERM "${AGENT_PIDS[1]}"
    local rc=0
    wait "${AGENT_PIDS[1]}" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$SANDBOX"/valgrind.log* >&2; false; }
    [ "${leak_check[0]}" = env ] || grep -q "definitely lost: 0 bytes" "$SANDBOX/valgrind.log" ||
        grep -q "All heap blocks were freed" "$SANDBOX/valgrind.log"
}
