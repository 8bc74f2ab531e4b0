#!/usr/bin/env bats
# shellcheck disable=SC2016 # Erlang code in single quotes expands nothing, by design
# shellcheck source-path=SCRIPTDIR
# TLS distribution with the instance identity, proven with plain epmd-less BEAMs and the
# ssl_dist_optfile the launch step renders (src/launch/tls_options.c, printed by
# build/tests/tls-optfile), no other buildpack code: two instances of one app connect; each
# intruder is refused at the TLS layer and leaves their connection set as it was: a clear-text
# node with the right cookie, a valid certificate of another app, one from another CA, an
# expired one, and one whose IP SAN is not the address it connects from. The checks hold in
# both directions: the app's node also refuses to dial such a node. Each refusal's reason is
# checked in the node's log (the product's apps log at warning level, where these alerts do not
# show: tests/e2e/tls-cluster.bats runs the same intruders against buildpack instances, and
# tests/integration/tls.bats the agent's TLS connection).

FOUNDATION=${BATS_TEST_DIRNAME}/../support/foundation.bash
IDENTITY=${BATS_TEST_DIRNAME}/../support/instance-identity
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
TLS_OPTFILE="$REPO/${ECB_BUILD_DIR:-build}/tests/tls-optfile"
DIST_PORT=9001
APP=6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9
OTHER_APP=99999999-8888-4777-8666-555544443333

# Each node rewrites $HOME/view (its sorted nodes(), one per line) on every nodeup/nodedown.
VIEW_WRITER='
Home = os:getenv("HOME"),
Write = fun(Nodes) ->
    Tmp = filename:join(Home, "view.tmp"),
    ok = file:write_file(Tmp, [[atom_to_list(N), $\n] || N <- lists:sort(Nodes)]),
    ok = file:rename(Tmp, filename:join(Home, "view"))
end,
spawn(fun() ->
    ok = net_kernel:monitor_nodes(true),
    Loop = fun L() -> Write(nodes()), receive _ -> L() end end,
    Loop()
end).'

node_name() { printf 'n%d@%s\n' "$1" "$(foundation_instance_ip "$1")"; }
node_home() { printf '%s/n%d\n' "$BATS_FILE_TMPDIR" "$1"; }

# identity N KIND: a Diego-like identity for instance N in $(node_home N)/id, and the
# optfile the launch step renders for it. KIND: app (this app's), other-app, other-ca,
# expired, wrong-ip. Every node trusts both CAs, so that a refusal is the other side's doing.
identity() {
    local n=$1 kind=$2 home ca=$BATS_FILE_TMPDIR/ca app=$APP ip
    home=$(node_home "$n")
    ip=$(foundation_instance_ip "$n")
    local extra=()
    case $kind in
        app) ;;
        other-app) app=$OTHER_APP ;;
        other-ca) ca=$BATS_FILE_TMPDIR/other-ca ;;
        expired) extra=(--expired) ;;
        wrong-ip) ip=$FOUNDATION_SUBNET.250 ;;
    esac
    mkdir -p "$home"
    cp "$BATS_FILE_TMPDIR/cookie" "$home/.erlang.cookie"
    chmod 0400 "$home/.erlang.cookie"
    "$IDENTITY" issue --ca "$ca" --out "$home/id" --ip "$ip" --app "$app" "${extra[@]}"
    "$TLS_OPTFILE" --cert "$home/id/instance.crt" --key "$home/id/instance.key" \
        --ca "$BATS_FILE_TMPDIR/trusted.pem" --app "$APP" >"$home/ssl_dist.opts"
}

# erl_in N ARGS...: erl inside instance N with its HOME (cookie) and TLS distribution with
# instance N's options (or the file $OPTS names).
erl_in() {
    local n=$1 home
    shift
    home=$(node_home "$n")
    foundation_exec "$n" env HOME="$home" erl -noshell -noinput -start_epmd false \
        -erl_epmd_port "$DIST_PORT" -proto_dist inet_tls \
        -ssl_dist_optfile "${OPTS:-$home/ssl_dist.opts}" "$@"
}

# start_node N: a listening TLS node nN@<instance IP> in instance N, with its view writer.
start_node() {
    local n=$1 home
    home=$(node_home "$n")
    rm -f "$home/view"
    foundation_spawn "$n" "$home/log" env HOME="$home" \
        erl -noshell -noinput -name "$(node_name "$n")" -start_epmd false \
            -erl_epmd_port "$DIST_PORT" -proto_dist inet_tls \
            -ssl_dist_optfile "$home/ssl_dist.opts" -eval "$VIEW_WRITER" >"$home/pid"
}

node_ready() { [[ -f $(node_home "$1")/view ]]; }

# probe N ERLANG: ERLANG in a short-lived hidden, non-listening TLS BEAM in instance N, with
# instance N's identity (or, when the test made one, the options in probe.opts there).
probe() {
    local opts=''
    [[ ! -f $(node_home "$1")/probe.opts ]] || opts=$(node_home "$1")/probe.opts
    OPTS=$opts erl_in "$1" -name "probe$RANDOM$BASHPID@$(foundation_instance_ip "$1")" -hidden \
        -dist_listen false -eval "$2"
}

# dial FROM TO: node FROM's net_kernel:connect_node(TO), asked through a probe.
dial() {
    probe "$1" "io:format(\"~p~n\", [rpc:call('$(node_name "$1")', net_kernel, connect_node, ['$(node_name "$2")'], 10000)]), halt()."
}

view_is() {
    local n=$1 expected
    shift
    expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    [[ -f $(node_home "$n")/view && $(cat "$(node_home "$n")/view") == "$expected" ]]
}

pair_intact() {
    view_is 1 "$(node_name 2)" && view_is 2 "$(node_name 1)"
}

# logged ROLE ERE: node 1's log has a TLS alert it generated as ROLE ("server" or
# "client") whose report matches ERE, case aside (ssl's own refusals are named by the alert's
# description, e.g. "Unknown CA"; ours by the verify_fun's reason). Its logger writes asynchronously: wait for it.
logged() {
    grep -A2 "TLS $1: .* generated" "$(node_home 1)/log" | grep -Eiq "$2"
}

# refused KIND SERVER_ERE CLIENT_ERE: an intruder with identity KIND in instance 3 pings node 1
# and is refused, node 1's TLS server saying why (SERVER_ERE); node 1, asked to dial the
# intruder, is refused too, its TLS client saying why (CLIENT_ERE); the pair is untouched.
refused() {
    local kind=$1 server_reason=$2 client_reason=$3
    identity 3 "$kind"
    start_node 3
    foundation_wait 20 "the $kind intruder to start" node_ready 3
    run erl_in 3 -name "intruder@$(foundation_instance_ip 3)" -dist_listen false \
        -eval "io:format(\"ping ~p~n\", [net_adm:ping('$(node_name 1)')]), halt()."
    # (The intruder's own log of the alert it received may come first.)
    grep -qx 'ping pang' <<<"$output"
    foundation_wait 15 "node 1 to log its TLS server's refusal" logged server "$server_reason"
    run dial 1 3
    [ "$output" = false ]
    foundation_wait 15 "node 1 to log its TLS client's refusal" logged client "$client_reason"
    view_is 3
    pair_intact
}

# stop_intruder: the node in instance 3 is gone, and node 1's log starts afresh, so that
# an earlier intruder's refusal cannot answer for the next one.
stop_intruder() {
    local pidfile
    pidfile=$(node_home 3)/pid
    if [[ -f $pidfile ]]; then
        # It may have exited already; the wait below asserts that it is gone.
        kill "$(cat "$pidfile")" 2>/dev/null || true
        foundation_wait 10 "the intruder to stop" foundation_process_gone "$(cat "$pidfile")"
        rm -f "$pidfile"
    fi
    : >"$(node_home 1)/log"
}

setup_file() {
    # shellcheck source=../support/foundation.bash
    source "$FOUNDATION"
    [[ -x $TLS_OPTFILE ]] ||
        { echo "build the test drivers first: make integration-drivers" >&2; return 1; }
    foundation_sweep
    # As on Diego: the instance identity CA is an intermediate; instances trust it alone (the
    # issuer in their own chain file), not the root. "Another CA" is a sibling under the same
    # root, which trust in the root would accept.
    "$IDENTITY" ca "$BATS_FILE_TMPDIR/root" --name "Foundation Root CA"
    "$IDENTITY" ca "$BATS_FILE_TMPDIR/ca" --under "$BATS_FILE_TMPDIR/root" --name "Instance Identity CA"
    "$IDENTITY" ca "$BATS_FILE_TMPDIR/other-ca" --under "$BATS_FILE_TMPDIR/root" --name "Another Instance Identity CA"
    cat "$BATS_FILE_TMPDIR/ca/ca.crt" "$BATS_FILE_TMPDIR/other-ca/ca.crt" >"$BATS_FILE_TMPDIR/trusted.pem"
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$BATS_FILE_TMPDIR/cookie"
    foundation_up
    local n
    for n in 1 2 3; do
        foundation_add_instance "$n" >/dev/null
    done
    # Nodes 1 and 2 trust only this foundation's CA, as instances do.
    cp "$BATS_FILE_TMPDIR/ca/ca.crt" "$BATS_FILE_TMPDIR/own-ca.pem"
    for n in 1 2; do
        identity "$n" app
        sed -i "s|$BATS_FILE_TMPDIR/trusted.pem|$BATS_FILE_TMPDIR/own-ca.pem|" "$(node_home "$n")/ssl_dist.opts"
        start_node "$n"
    done
    for n in 1 2; do
        foundation_wait 20 "node $n to start" node_ready "$n"
    done
    local result
    result=$(dial 2 1)
    [[ $result == true ]] || { echo "node 2 could not connect to node 1 over TLS: $result" >&2; return 1; }
    foundation_wait 10 "nodes 1 and 2 to see each other" pair_intact
}

teardown_file() {
    # shellcheck source=../support/foundation.bash
    source "$FOUNDATION"
    foundation_down
}

setup() {
    # shellcheck source=../support/foundation.bash
    source "$FOUNDATION"
    stop_intruder
}

@test "two instances of the app connect over TLS with their instance identities" {
    # setup_file had node 2 dial node 1; both see each other.
    pair_intact
    # The connection is TLS: node 1's distribution connection to node 2 runs over ssl.
    run probe 1 "io:format(\"~p~n\", [rpc:call('$(node_name 1)', erlang, apply, [fun() -> {ok, I} = net_kernel:node_info('$(node_name 2)'), element(4, proplists:get_value(address, I)) end, []])]), halt()."
    [ "$output" = tls ]
}

# SOCKETS: an expression that prints every TCP socket of the node it runs in, one per line:
# "listen BUFFER" for its distribution listen socket, "PEER_IP BUFFER" for a connection (ssl's
# connection processes own their sockets).
SOCKETS='[begin
         {ok, [{buffer, B}]} = inet:getopts(P, [buffer]),
         Peer = case inet:peername(P) of {ok, {Ip, _}} -> inet:ntoa(Ip); _ -> "listen" end,
         io:format("~s ~p~n", [Peer, B])
     end || P <- erlang:ports(), erlang:port_info(P, name) =:= {name, "tcp_inet"}]'

# socket_buffers N: $SOCKETS in node N, asked through a probe (whose connection is listed too).
socket_buffers() {
    probe "$1" "rpc:call('$(node_name "$1")', erlang, apply, [fun() -> $SOCKETS end, []]), halt()."
}

@test "a proven peer's socket reads 64 KB at a time; the listen socket and a peer that has not proved itself keep inet's 1460 bytes" {
    pair_intact
    # Instance 3 opens a TCP connection to node 1 and says nothing: a handshake that never
    # gets as far as a certificate.
    local holder
    holder=$(foundation_spawn 3 "$(node_home 1)/holder.log" erl -noshell -noinput -eval "
        {ok, _} = gen_tcp:connect({$(foundation_instance_ip 1 | tr . ,)}, $DIST_PORT, []),
        timer:sleep(60000), halt().")
    holder_connected() { socket_buffers 1 | grep -q "^$(foundation_instance_ip 3) "; }
    foundation_wait 15 "instance 3's silent connection to node 1" holder_connected
    run socket_buffers 1
    echo "$output"
    # Node 2 dialled node 1: node 1 accepted it (the listen socket's options, then ours).
    grep -qx "listen 1460" <<<"$output"
    grep -qx "$(foundation_instance_ip 2) 65536" <<<"$output"
    grep -qx "$(foundation_instance_ip 3) 1460" <<<"$output"
    # Node 2's side of the same connection: it dialled (the client's options, then ours).
    run socket_buffers 2
    echo "$output"
    grep -qx "listen 1460" <<<"$output"
    grep -qx "$(foundation_instance_ip 1) 65536" <<<"$output"
    kill "$holder"
    foundation_wait 10 "the silent connection to go" foundation_process_gone "$holder"
}

@test "an app that sizes its distribution sockets keeps its sizes over TLS" {
    identity 3 app
    # The app's own listen options size its sockets: its connection to node 1 is left as inet
    # makes it, while node 1 (no such options) widens its side.
    run erl_in 3 -name "sized@$(foundation_instance_ip 3)" \
        -kernel inet_dist_listen_options '[{buffer,4096}]' \
        -eval "pong = net_adm:ping('$(node_name 1)'), $SOCKETS, halt()."
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qx "listen 4096" <<<"$output"
    grep -qx "$(foundation_instance_ip 1) 1460" <<<"$output"
}

@test "a clear-text node with the right cookie is refused" {
    foundation_wait 10 "the pair" pair_intact
    run foundation_exec 3 env HOME="$(node_home 1)" erl -noshell -noinput \
        -name "plain@$(foundation_instance_ip 3)" -dist_listen false -start_epmd false \
        -erl_epmd_port "$DIST_PORT" -eval "io:format(\"~p~n\", [net_adm:ping('$(node_name 1)')]), halt()."
    grep -qx pang <<<"$output"
    pair_intact
}

@test "a valid instance certificate of another app is refused" {
    foundation_wait 10 "the pair" pair_intact
    refused other-app peer_is_not_an_allowed_app peer_is_not_an_allowed_app
}

@test "a certificate from another CA is refused" {
    foundation_wait 10 "the pair" pair_intact
    refused other-ca 'unknown ca' 'unknown ca'
}

@test "an expired certificate is refused" {
    foundation_wait 10 "the pair" pair_intact
    refused expired 'certificate expired' 'certificate expired'
}

@test "a certificate whose IP SAN is not the connecting address is refused" {
    foundation_wait 10 "the pair" pair_intact
    refused wrong-ip peer_ip_san_is_not_its_address \
        'peer_ip_san_is_not_its_address|hostname_check_failed'
}

@test "a rotated identity is used from the next connection on; established ones stay" {
    local h2 ip2
    h2=$(node_home 2)
    ip2=$(foundation_instance_ip 2)
    # Probes in instance 2 keep a copy of the first identity, and accept node 2 as another app.
    cp -r "$h2/id" "$h2/probe-id"
    "$TLS_OPTFILE" --cert "$h2/probe-id/instance.crt" --key "$h2/probe-id/instance.key" \
        --ca "$BATS_FILE_TMPDIR/own-ca.pem" --app "$APP" --allow "$OTHER_APP" >"$h2/probe.opts"
    "$IDENTITY" rotate --ca "$BATS_FILE_TMPDIR/ca" --out "$h2/id" --ip "$ip2" --app "$OTHER_APP"
    pair_intact
    # Node 2's next connection presents the new certificate, which node 1 refuses.
    run probe 2 "io:format(\"~p~n\", [rpc:call('$(node_name 2)', erlang, disconnect_node, ['$(node_name 1)'])]), halt()."
    [ "$output" = true ]
    foundation_wait 10 "node 1 to see node 2 gone" view_is 1
    run dial 2 1
    [ "$output" = false ]
    foundation_wait 15 "node 1 to log its refusal" logged server peer_is_not_an_allowed_app
    # Rotated back to this app's: accepted at once, no restart.
    "$IDENTITY" rotate --ca "$BATS_FILE_TMPDIR/ca" --out "$h2/id" --ip "$ip2" --app "$APP"
    run dial 2 1
    [ "$output" = true ]
    foundation_wait 10 "the pair again" pair_intact
    rm "$h2/probe.opts"
}
