# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# TLS distribution in the e2e suites (load after helper): instance identities as Diego issues
# them, what each app node's connections run over and with which certificate, the agent's
# status, intruders, and a capture of the bridge.
#
#   tls_setup_identity               the foundation's instance identity CA (an intermediate
#                                    under a root, as Diego's) and a sibling CA under the same
#                                    root for intruders; exports TLS_IDENTITY_CA
#   tls_start_instance N [opts]      e2e_start_instance with an identity and
#                                    ERLANG_CLUSTER_TLS=true and $TLS_APP_ENV (cf set-env:
#                                    at run time too)
#   tls_rotate_identity N [opts]     Diego's rotation: a new certificate, same subject and
#                                    SANs, both files replaced by atomic rename; opts go to
#                                    instance-identity (e.g. --minutes 3)
#   tls_current_serial N             the serial of instance N's certificate now (hex)
#   tls_app_guid N                   the app GUID in instance N's certificate (app: OU)
#   tls_node_eval N ERLANG           ERLANG in a short-lived hidden BEAM in instance N started
#                                    as a cf ssh guest's is (guest.args), Node bound to the
#                                    app's node
#   tls_connections N...             one "node peer protocol peer-serial" line per peer of
#                                    each listed instance's node ("clear-text" when not TLS)
#   tls_mesh_over_tls N...           every connection in the mesh of N... is TLS 1.2/1.3 and
#                                    presented the peer's current certificate
#   tls_status N                     instance N's `erlang-cluster-agent status`, run in its
#                                    container as the README shows
#   tls_status_ok N                  that status has the TLS line for this app and the
#                                    expiry of instance N's current certificate
#   tls_intruder_start KIND TARGET   an intruder node in slot $TLS_INTRUDER_SLOT pings
#                                    instance TARGET's node (KIND: clear-text, other-app,
#                                    other-ca, expired, wrong-ip; or app, a valid identity of
#                                    this app, which must be let in)
#   tls_intruder_stop                it is gone
#   tls_capture_start / _stop        tcpdump on the switch's bridge, all TCP to ports
#                                    $E2E_DIST_PORT and $E2E_HTTP_PORT, into $TLS_CAPTURE

TLS_IDENTITY_TOOL=$E2E_REPO/tests/support/instance-identity
TLS_OPTFILE=$E2E_REPO/${ECB_BUILD_DIR:-build}/tests/tls-optfile
TLS_OTHER_APP=99999999-8888-4777-8666-555544443333
TLS_INTRUDER_SLOT=${TLS_INTRUDER_SLOT:-30}
TLS_CAPTURE=${TLS_CAPTURE:-}

tls_setup_identity() {
    local dir=$E2E_DIR/identity
    [[ -x $TLS_OPTFILE ]] ||
        { e2e_fail "missing $TLS_OPTFILE: run 'make integration-drivers' first"; return 1; }
    "$TLS_IDENTITY_TOOL" ca "$dir/root" --name "Foundation Root CA" &&
        "$TLS_IDENTITY_TOOL" ca "$dir/ca" --under "$dir/root" --name "Instance Identity CA" &&
        "$TLS_IDENTITY_TOOL" ca "$dir/other-ca" --under "$dir/root" \
            --name "Another Foundation's Instance Identity CA" || return 1
    # What intruders trust: both CAs, so that a refusal is always the app node's doing.
    cat "$dir/ca/ca.crt" "$dir/other-ca/ca.crt" >"$dir/trusted.pem"
    export TLS_IDENTITY_CA=$dir/ca
}

# (TLS_APP_ENV: more NAME=VALUE words the app has set, e.g. the poll interval.)
tls_start_instance() {
    local n=$1 setting env=()
    shift
    for setting in ERLANG_CLUSTER_TLS=true ${TLS_APP_ENV:-}; do
        env+=(--env "$setting")
    done
    E2E_IDENTITY_CA=$TLS_IDENTITY_CA e2e_start_instance "$n" "${env[@]}" "$@"
}

tls_identity_dir() {
    printf '%s/etc/cf-instance-credentials\n' "$(e2e_instance_root "$1")"
}

# tls_leaf N: instance N's certificate (the first of its chain file), PEM.
tls_leaf() {
    openssl x509 -in "$(tls_identity_dir "$1")/instance.crt"
}

tls_current_serial() {
    tls_leaf "$1" | openssl x509 -noout -serial | sed 's/^serial=0*//'
}

tls_app_guid() {
    tls_leaf "$1" | openssl x509 -noout -subject -nameopt RFC2253 |
        grep -oE 'OU=app:[0-9a-f-]+' | cut -d: -f2
}

tls_rotate_identity() {
    local n=$1 leaf subject sans
    shift
    leaf=$(tls_leaf "$n") || return 1
    subject=$(openssl x509 -noout -subject -nameopt RFC2253 <<<"$leaf")
    sans=$(openssl x509 -noout -ext subjectAltName <<<"$leaf")
    "$TLS_IDENTITY_TOOL" rotate --ca "$TLS_IDENTITY_CA" --out "$(tls_identity_dir "$n")" \
        --ip "$(grep -oE 'IP Address:[0-9.]+' <<<"$sans" | cut -d: -f2)" \
        --instance "$(grep -oE 'CN=[0-9a-f-]+' <<<"$subject" | cut -d= -f2)" \
        --app "$(grep -oE 'OU=app:[0-9a-f-]+' <<<"$subject" | cut -d: -f2)" \
        --space "$(grep -oE 'OU=space:[0-9a-f-]+' <<<"$subject" | cut -d: -f2)" \
        --org "$(grep -oE 'OU=organization:[0-9a-f-]+' <<<"$subject" | cut -d: -f2)" "$@"
}

# tls_rotate_all OPTS -- N...: tls_rotate_identity for each listed instance, side by side
# (as Diego's cells rotate independently).
tls_rotate_all() {
    local opts=() n pids=() status=0 pid
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    for n in "$@"; do
        tls_rotate_identity "$n" "${opts[@]}" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
    return "$status"
}

tls_node_eval() {
    local n=$1 code=$2 root run
    root=$(e2e_instance_root "$n") || return 1
    run=$root/tmp/erlang-cluster
    # guest.args alone: its flags given twice (-erl_epmd_port, -dist_listen) fail the dial.
    # A connection set-up may take more than the default 7 s on a loaded machine.
    foundation_exec "$n" env HOME="$root/app" E2E_NODE="$(cat "$run/node_name")" \
        E2E_NODES="${E2E_NODES:-}" timeout 30 erl -noshell -noinput -args_file "$run/guest.args" \
        -name "tls_probe_$RANDOM$BASHPID@$(foundation_instance_ip "$n")" -hidden \
        -kernel net_setuptime 20 \
        -eval "Node = list_to_atom(os:getenv(\"E2E_NODE\")), $code"
}

# The distribution controller of a TLS connection is its ssl sender process
# (inet_tls_dist, OTP 25), which hands out the connection's sslsocket; the probe asks it and
# the connection's processes directly. Only named functions cross to the app node: a Mix
# release strips its beams, so a fun made here would be a badfun there. Nodes: E2E_NODES.
TLS_CONNECTIONS_ERL='
Show = fun(Target, N, Ctrl) when is_pid(Ctrl) ->
               {ok, S} = tls_sender:dist_tls_socket(Ctrl),
               {ok, [{protocol, P}]} = ssl:connection_information(S, [protocol]),
               {ok, Der} = ssl:peercert(S),
               {_, Tbs, _, _} = public_key:pkix_decode_cert(Der, otp),
               io:format("~s ~s ~s ~.16B~n", [Target, N, P, element(3, Tbs)]);
          (Target, N, _) ->
               io:format("~s ~s clear-text -~n", [Target, N])
       end,
Ask = fun(Target) ->
    case {rpc:call(Target, erlang, system_info, [dist_ctrl], 10000),
          rpc:call(Target, erlang, nodes, [], 10000)} of
        {Ctrls, Visible} when is_list(Ctrls), is_list(Visible) ->
            [Show(Target, N, Ctrl) || {N, Ctrl} <- lists:sort(Ctrls), lists:member(N, Visible)],
            ok;
        Other -> io:format(standard_error, "~s: ~p~n", [Target, Other]), error
    end
end,
Targets = [list_to_atom(T) || T <- string:lexemes(os:getenv("E2E_NODES"), " ")],
halt(case lists:usort([Ask(T) || T <- Targets]) of [ok] -> 0; _ -> 1 end).'

# tls_connections N...: one "node peer protocol peer-serial" line for each node each listed
# instance's app node sees, asked by one guest BEAM in the first instance (a guest holds the
# instance identity, so it reaches every node of the app); protocol "clear-text" when not TLS.
tls_connections() {
    local n nodes=()
    for n in "$@"; do
        nodes+=("$(tls_node_of "$n")") || return 1
    done
    E2E_NODES="${nodes[*]}" tls_node_eval "$1" "$TLS_CONNECTIONS_ERL"
}

# tls_node_of N: instance N's node name.
tls_node_of() {
    cat "$(e2e_instance_root "$1")/tmp/erlang-cluster/node_name"
}

# tls_mesh_over_tls N...: each listed instance's node is connected to the others over TLS
# (1.2 or 1.3), each connection carrying the certificate the peer holds now, and to nothing
# else. Prints what it saw.
tls_mesh_over_tls() {
    local n m seen expected
    seen=$(tls_connections "$@") || return 1
    printf '%s\n' "$seen"
    expected=$(for n in "$@"; do
        for m in "$@"; do
            [[ $m == "$n" ]] ||
                printf '%s %s tls %s\n' "$(tls_node_of "$n")" "$(tls_node_of "$m")" "$(tls_current_serial "$m")"
        done
    done | sort)
    [[ $(awk '{ sub(/^tlsv1\.[23]$/, "tls", $3); print }' <<<"$seen" | sort) == "$expected" ]]
}

tls_status() {
    local root agent
    root=$(e2e_instance_root "$1") || return 1
    agent=$(printf '%s\n' "$root"/deps/*/bin/erlang-cluster-agent | head -n 1)
    foundation_exec "$1" env TMPDIR="$root/tmp" "$agent" status
}

# tls_status_ok N: the status line users read, with this app's GUID and the expiry of the
# certificate instance N holds now (as openssl prints notAfter, or as ISO 8601 UTC).
tls_status_ok() {
    local status line end iso
    status=$(tls_status "$1") || return 1
    line=$(grep -E '^ *distribution: ' <<<"$status") || return 1
    end=$(tls_leaf "$1" | openssl x509 -noout -enddate | cut -d= -f2)
    iso=$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ)
    [[ $line == *"distribution: TLS (instance identity, app $(tls_app_guid "$1"), certificate valid until "* ]] &&
        [[ $line == *"$iso"* || $line == *"$end"* ]]
}

# tls_intruder_identity KIND DIR: the intruder's Diego-like identity for its own address.
tls_intruder_identity() {
    local kind=$1 dir=$2 ca=$TLS_IDENTITY_CA app ip extra=()
    app=$(tls_app_guid 0)
    ip=$(foundation_instance_ip "$TLS_INTRUDER_SLOT")
    case $kind in
        app) ;;
        other-app) app=$TLS_OTHER_APP ;;
        other-ca) ca=$E2E_DIR/identity/other-ca ;;
        expired) extra=(--expired) ;;
        wrong-ip) ip=$FOUNDATION_SUBNET.250 ;;
        *) e2e_fail "unknown intruder identity '$kind'"; return 1 ;;
    esac
    "$TLS_IDENTITY_TOOL" issue --ca "$ca" --out "$dir" --ip "$ip" --app "$app" "${extra[@]}"
}

# tls_intruder_start KIND TARGET: a listening node intruder@<slot IP> with the app's cookie
# in its own namespace pings instance TARGET's node; clear-text speaks plain distribution,
# the others TLS with an identity of that KIND, trusting both CAs and accepting the app.
# Its ping's answer and its nodes() afterwards go to $TLS_INTRUDER_HOME/ping.
tls_intruder_start() {
    local kind=$1 target=$2 ip home flags=() pid
    ip=$(foundation_instance_ip "$TLS_INTRUDER_SLOT")
    [[ -e /run/netns/$(foundation_ns "$TLS_INTRUDER_SLOT") ]] ||
        foundation_add_instance "$TLS_INTRUDER_SLOT" >/dev/null || return 1
    tls_intruder_stop || return 1
    home=$E2E_DIR/intruders/$kind
    export TLS_INTRUDER_HOME=$home
    rm -rf "$home"
    mkdir -p "$home"
    cp "$(e2e_instance_root "$target")/app/.erlang.cookie" "$home/.erlang.cookie"
    if [[ $kind != clear-text ]]; then
        tls_intruder_identity "$kind" "$home/id" || return 1
        "$TLS_OPTFILE" --cert "$home/id/instance.crt" --key "$home/id/instance.key" \
            --ca "$E2E_DIR/identity/trusted.pem" --app "$(tls_app_guid 0)" >"$home/ssl_dist.opts" ||
            return 1
        flags=(-proto_dist inet_tls -ssl_dist_optfile "$home/ssl_dist.opts")
    fi
    pid=$(foundation_spawn "$TLS_INTRUDER_SLOT" "$home/log" env HOME="$home" erl -noshell \
        -noinput -name "intruder@$ip" -start_epmd false -erl_epmd_port "$E2E_DIST_PORT" \
        "${flags[@]}" -eval "
            R = net_adm:ping('$(tls_node_of "$target")'),
            ok = file:write_file(\"$home/ping.tmp\", io_lib:format(\"~p ~p~n\", [R, nodes()])),
            ok = file:rename(\"$home/ping.tmp\", \"$home/ping\").") || return 1
    printf '%s\n' "$pid" >"$home/pid"
    foundation_wait 30 "the $kind intruder's ping" test -f "$home/ping" || {
        cat "$home/log" >&2
        return 1
    }
}

tls_intruder_node() {
    printf 'intruder@%s\n' "$(foundation_instance_ip "$TLS_INTRUDER_SLOT")"
}

# tls_intruder_stop: nothing runs in the intruder's namespace any more (a test that failed
# half way may have left its node there).
tls_intruder_stop() {
    local ns pids
    ns=$(foundation_ns "$TLS_INTRUDER_SLOT") || return 1
    [[ -e /run/netns/$ns ]] || return 0
    pids=$(ip netns pids "$ns")
    # shellcheck disable=SC2086 # one PID per word; one may have exited meanwhile
    [[ -z $pids ]] || kill $pids 2>/dev/null || true
    foundation_wait 10 "the intruder to stop" _tls_ns_empty "$ns"
}

_tls_ns_empty() {
    [[ -z $(ip netns pids "$1") ]]
}

tls_capture_listening() {
    grep -q 'listening on br0' "$TLS_CAPTURE.log"
}

tls_capture_start() {
    export TLS_CAPTURE=$E2E_DIR/bridge.pcap
    rm -f "$TLS_CAPTURE" "$TLS_CAPTURE.log"
    # -U: each packet is written as it comes, so stopping loses nothing; -Z root: the file is
    # in a root-only directory; br0 in promiscuous mode sees the frames it forwards.
    foundation_spawn switch "$TLS_CAPTURE.log" tcpdump -i br0 -nn -U -Z root \
        -w "$TLS_CAPTURE" "tcp port $E2E_DIST_PORT or tcp port $E2E_HTTP_PORT" \
        >"$TLS_CAPTURE.pid" || return 1
    foundation_wait 10 "tcpdump to listen on the bridge" tls_capture_listening || {
        cat "$TLS_CAPTURE.log" >&2
        return 1
    }
}

tls_capture_stop() {
    local pid
    pid=$(cat "$TLS_CAPTURE.pid" 2>/dev/null) || return 0
    kill -INT "$pid" 2>/dev/null || true
    foundation_wait 10 "tcpdump to stop" foundation_process_gone "$pid"
}

# tls_capture_count FILTER: the packets of the capture that match the pcap FILTER.
tls_capture_count() {
    tcpdump -r "$TLS_CAPTURE" -nn "$1" 2>/dev/null | wc -l
}

# tls_capture_part FILTER: the packets matching FILTER, as a pcap file next to the capture
# (its name printed), so that their raw bytes can be searched.
tls_capture_part() {
    local out
    out=$TLS_CAPTURE.$(printf '%s' "$1" | md5sum | cut -c1-8)
    tcpdump -r "$TLS_CAPTURE" -w "$out" "$1" 2>/dev/null || return 1
    printf '%s\n' "$out"
}
