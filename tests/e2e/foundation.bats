#!/usr/bin/env bats
# shellcheck disable=SC2016 # the bash -c scripts expand their own arguments
# shellcheck source-path=SCRIPTDIR
# The local foundation (tests/support/foundation.bash) proven with plain BEAM nodes and no
# buildpack code: one namespace per instance, every node epmd-less on the same port, the cookie
# only in a 0400 file, partitions that behave like a silent network fault, and nothing left
# behind however a run ends.

FOUNDATION=${BATS_TEST_DIRNAME}/../support/foundation.bash
DIST_PORT=9001
NET_TICKTIME=4

# Each node reports its own view: a process in the node rewrites $HOME/view (sorted node
# names, one per line) atomically on every nodeup/nodedown.
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

# start_node N: a BEAM named nN@<instance IP> inside instance N, cookie from its HOME.
start_node() {
    local n=$1 home
    home=$(node_home "$n")
    mkdir -p "$home"
    rm -f "$home/view" "$home/.erlang.cookie"
    cp "$BATS_FILE_TMPDIR/cookie" "$home/.erlang.cookie"
    chmod 0400 "$home/.erlang.cookie"
    foundation_spawn "$n" "$home/log" env HOME="$home" \
        erl -noshell -noinput -name "$(node_name "$n")" \
            -start_epmd false -erl_epmd_port "$DIST_PORT" \
            -kernel net_ticktime "$NET_TICKTIME" -eval "$VIEW_WRITER" >"$home/pid"
}

# probe N ERLANG: evaluate ERLANG in a short-lived hidden BEAM inside instance N that does
# not listen (so it never takes the node's port), with the node's HOME and so its cookie.
probe() {
    local n=$1 code=$2
    foundation_exec "$n" env HOME="$(node_home "$n")" \
        erl -noshell -noinput -name "probe$RANDOM$BASHPID@$(foundation_instance_ip "$n")" -hidden \
            -dist_listen false -start_epmd false -erl_epmd_port "$DIST_PORT" \
            -kernel net_ticktime "$NET_TICKTIME" -eval "$code"
}

# connect FROM TO: ask node FROM, through a probe in its namespace, to connect to node TO.
connect() {
    local result
    result=$(probe "$1" "io:format(\"~p~n\", [rpc:call('$(node_name "$1")', net_kernel, connect_node, ['$(node_name "$2")'], 5000)]), halt().")
    [[ $result == true ]]
}

# view_is N NODE...: node N's own view is exactly NODE... (in any order).
view_is() {
    local n=$1 expected
    shift
    expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    [[ -f $(node_home "$n")/view && $(cat "$(node_home "$n")/view") == "$expected" ]]
}

# full_mesh N...: every listed node sees exactly the other listed nodes.
full_mesh() {
    local n m others
    for n in "$@"; do
        others=()
        for m in "$@"; do
            [[ $m == "$n" ]] || others+=("$(node_name "$m")")
        done
        view_is "$n" "${others[@]}" || return 1
    done
}

node_ready() { [[ -f $(node_home "$1")/view ]]; }

host_network_snapshot() {
    ip -o addr show
    ip -o link show | awk '{ print $2 }'
    ip route show table all
    sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding
}

report() { printf '# %s\n' "$*" >&3; }

# Namespaces and state of run ID that still exist.
run_leftovers() {
    ip netns list | awk -v p="ecb-$1-" 'index($1, p) == 1 { print $1 }'
    [[ ! -d $FOUNDATION_STATE_ROOT/$1 ]] || echo "$FOUNDATION_STATE_ROOT/$1"
}
run_gone() { [[ -z $(run_leftovers "$1") ]]; }

setup_file() {
    # shellcheck source=../support/foundation.bash
    source "$FOUNDATION"
    foundation_sweep
    host_network_snapshot >"$BATS_FILE_TMPDIR/host-before"
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$BATS_FILE_TMPDIR/cookie"
    foundation_up
    local n
    for n in 1 2 3; do
        foundation_add_instance "$n" >/dev/null
        start_node "$n"
    done
    for n in 1 2 3; do
        foundation_wait 20 "node $n to start" node_ready "$n"
    done
}

teardown_file() {
    # shellcheck source=../support/foundation.bash
    source "$FOUNDATION"
    foundation_down
}

setup() {
    # shellcheck source=../support/foundation.bash
    source "$FOUNDATION"
}

@test "refuses with a clear message when not run as root" {
    # The library's text goes in as the script, so nobody needs no access to the checkout.
    cd /
    run runuser -u nobody -- bash -c "$(cat "$FOUNDATION")"$'\n''foundation_up'
    [ "$status" -ne 0 ]
    [[ $output == *"needs root"* ]]
}

@test "rejects a FOUNDATION_SUBNET that is not a private /24 prefix" {
    run bash -c 'unset FOUNDATION_ID; source "$1" && FOUNDATION_SUBNET=8.8.8 foundation_up' _ "$FOUNDATION"
    [ "$status" -ne 0 ]
    [[ $output == *"FOUNDATION_SUBNET='8.8.8' is not valid"*"e.g. 10.213.37"* ]]
}

@test "picks another /24 when the current one is routed, and refuses a routed FOUNDATION_SUBNET" {
    # Inside instance 1 this suite's /24 is a connected route, as a clashing host route would be.
    run foundation_exec 1 bash -c '
        unset FOUNDATION_ID FOUNDATION_SUBNET
        source "$1"
        foundation_up && echo "subnet $FOUNDATION_SUBNET" && foundation_down' _ "$FOUNDATION"
    [ "$status" -eq 0 ]
    [[ $output == "subnet "* ]]
    [ "${output#subnet }" != "$FOUNDATION_SUBNET" ]
    run foundation_exec 1 bash -c '
        unset FOUNDATION_ID
        source "$1"
        foundation_up' _ "$FOUNDATION"
    [ "$status" -ne 0 ]
    [[ $output == *"FOUNDATION_SUBNET=$FOUNDATION_SUBNET.0/24 overlaps a route or address of this host"* ]]
}

@test "each instance has its own address on the bridge and no route to the host" {
    local ip
    ip=$(foundation_instance_ip 2)
    run foundation_exec 2 ip -4 -o addr show dev eth0
    [[ $output == *" $ip/24 "* ]]
    # The switch answers (a reset from its stack proves the path); the host is unreachable.
    run foundation_exec 2 bash -c "exec 9<>/dev/tcp/$FOUNDATION_SWITCH_IP/1"
    [[ $output == *"Connection refused"* ]]
    local host_ip
    host_ip=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
    if [[ -n $host_ip ]]; then
        run foundation_exec 2 bash -c "exec 9<>/dev/tcp/$host_ip/22"
        [[ $output == *"Network is unreachable"* ]]
    fi
}

@test "instances, also later ones, resolve names through a DNS server in the switch namespace" {
    local hosts=$BATS_TEST_TMPDIR/hosts
    printf '%s peers.apps.internal\n' "$(foundation_instance_ip 1)" "$(foundation_instance_ip 2)" >"$hosts"
    foundation_spawn switch "$BATS_TEST_TMPDIR/dnsmasq.log" dnsmasq --keep-in-foreground \
        --no-resolv --no-hosts --addn-hosts="$hosts" --listen-address="$FOUNDATION_SWITCH_IP" \
        --bind-interfaces --pid-file= --user=root >"$BATS_TEST_TMPDIR/dnsmasq.pid"
    foundation_set_resolver "$FOUNDATION_SWITCH_IP"
    foundation_add_instance 8 >/dev/null
    local expected n
    expected=$(printf '%s\n' "$(foundation_instance_ip 1)" "$(foundation_instance_ip 2)" | sort)
    for n in 1 8; do
        foundation_wait 5 "instance $n to resolve peers.apps.internal" \
            foundation_exec "$n" getent ahostsv4 peers.apps.internal >/dev/null
        run foundation_exec "$n" getent ahostsv4 peers.apps.internal
        [ "$(awk '$2 == "STREAM" { print $1 }' <<<"$output" | sort)" = "$expected" ]
    done
    kill "$(cat "$BATS_TEST_TMPDIR/dnsmasq.pid")"
    foundation_remove_instance 8
    foundation_clear_resolver
    [ ! -e "/etc/netns/$(foundation_ns 1)" ]
}

@test "the host's addresses, links, routes and forwarding are unchanged while it is up" {
    host_network_snapshot >"$BATS_TEST_TMPDIR/host-now"
    diff "$BATS_FILE_TMPDIR/host-before" "$BATS_TEST_TMPDIR/host-now"
}

@test "three epmd-less nodes on one port form a full mesh from every node's own view" {
    local start
    start=$(foundation_now)
    connect 1 2
    connect 1 3
    foundation_wait 10 "full mesh of nodes 1 2 3" full_mesh 1 2 3
    report "full mesh of 3 nodes after connecting from one node: $(foundation_elapsed "$start") s"
}

@test "the cookie is in no node's command line and its file is 0400" {
    local cookie n pid
    cookie=$(cat "$BATS_FILE_TMPDIR/cookie")
    for n in 1 2 3; do
        [ "$(stat -c %a "$(node_home "$n")/.erlang.cookie")" = 400 ]
        for pid in $(ip netns pids "$(foundation_ns "$n")"); do
            run grep -cF "$cookie" "/proc/$pid/cmdline"
            [ "$output" = 0 ]
        done
    done
}

@test "a cut instance is dropped within net_ticktime and rejoins after heal and a reconnect" {
    connect 1 2
    connect 1 3
    foundation_wait 10 "full mesh of nodes 1 2 3" full_mesh 1 2 3

    local start dropped isolated
    start=$(foundation_now)
    foundation_cut 3
    # net_ticktime T: a silent peer is declared down T/2 to 5T/4 after the cut.
    foundation_wait $((NET_TICKTIME * 2)) "nodes 1 and 2 to drop node 3" full_mesh 1 2
    dropped=$(foundation_elapsed "$start")
    foundation_wait $((NET_TICKTIME * 2)) "node 3 to drop nodes 1 and 2" view_is 3
    isolated=$(foundation_elapsed "$start")
    report "net_ticktime ${NET_TICKTIME} s: nodes 1,2 dropped the cut node after ${dropped} s, it dropped them after ${isolated} s"
    # Not at once (the cut must be silent, not a reset) and not later than the tick bound
    # (plus 2 s for a loaded machine).
    awk -v d="$dropped" -v i="$isolated" -v t="$NET_TICKTIME" \
        'BEGIN { exit !(d >= t / 2 && d <= t * 1.25 + 2 && i <= t * 1.25 + 2) }'

    start=$(foundation_now)
    foundation_heal 3
    foundation_wait 10 "node 1 to reconnect to node 3" connect 1 3
    foundation_wait 10 "full mesh of nodes 1 2 3 after heal" full_mesh 1 2 3
    report "full mesh again $(foundation_elapsed "$start") s after heal"
}

@test "removing an instance stops its processes and deletes its namespace" {
    local ns pid
    foundation_add_instance 7 >/dev/null
    ns=$(foundation_ns 7)
    pid=$(foundation_spawn 7 "$BATS_TEST_TMPDIR/log" sleep 300)
    foundation_remove_instance 7
    [ ! -e "/run/netns/$ns" ]
    foundation_process_gone "$pid"
    run foundation_instances
    [ "$output" = "$(printf '1\n2\n3')" ]
}

@test "teardown stops every process, even one ignoring SIGTERM, and removes every namespace" {
    run bash -c '
        set -euo pipefail
        unset FOUNDATION_ID
        source "$1"
        foundation_up
        foundation_add_instance 0 >/dev/null
        foundation_add_instance 1 >/dev/null
        echo "id $FOUNDATION_ID"
        echo "pid $(foundation_spawn switch /dev/null sleep 300)"
        echo "pid $(foundation_spawn 0 /dev/null erl -noshell -noinput -start_epmd false)"
        echo "pid $(foundation_spawn 1 /dev/null bash -c "trap \"\" TERM; while :; do sleep 0.2; done")"
        foundation_down
        echo down
    ' _ "$FOUNDATION"
    [ "$status" -eq 0 ]
    [[ $output == *down ]]
    local id pid
    id=$(awk '$1 == "id" { print $2 }' <<<"$output")
    [ -n "$id" ]
    run_gone "$id"
    local pids
    pids=$(awk '$1 == "pid" { print $2 }' <<<"$output")
    [ "$(wc -w <<<"$pids")" -eq 3 ]
    for pid in $pids; do
        foundation_process_gone "$pid"
    done
}

@test "a script interrupted with SIGINT or SIGTERM leaves nothing behind" {
    local signal id
    for signal in INT TERM; do
        rm -f "$BATS_TEST_TMPDIR/id"
        env --default-signal=INT bash -c '
            set -euo pipefail
            unset FOUNDATION_ID
            source "$1"
            foundation_cleanup_on_exit
            foundation_up
            foundation_add_instance 0 >/dev/null
            foundation_spawn 0 /dev/null sleep 300 >/dev/null
            echo "$FOUNDATION_ID" >"$2"
            wait
        ' _ "$FOUNDATION" "$BATS_TEST_TMPDIR/id" </dev/null >/dev/null 2>&1 3>&- &
        local script=$!
        foundation_wait 10 "the script to bring its foundation up" test -s "$BATS_TEST_TMPDIR/id"
        id=$(cat "$BATS_TEST_TMPDIR/id")
        kill -"$signal" "$script"
        foundation_wait 10 "the script to exit after SIG$signal" bash -c "! kill -0 $script 2>/dev/null"
        run_gone "$id"
    done
}

@test "a run whose owner is killed with SIGKILL is removed by its watcher" {
    rm -f "$BATS_TEST_TMPDIR/id"
    bash -c '
        set -euo pipefail
        unset FOUNDATION_ID
        source "$1"
        foundation_up
        foundation_add_instance 0 >/dev/null
        foundation_spawn 0 /dev/null sleep 300 >/dev/null
        echo "$FOUNDATION_ID" >"$2"
        exec sleep 300 # a long-lived owner for the watcher to outlive, killed by the test; not a wait
    ' _ "$FOUNDATION" "$BATS_TEST_TMPDIR/id" </dev/null >/dev/null 2>&1 3>&- &
    local owner=$! id
    foundation_wait 10 "the owner to bring its foundation up" test -s "$BATS_TEST_TMPDIR/id"
    id=$(cat "$BATS_TEST_TMPDIR/id")
    kill -KILL "$owner"
    foundation_wait 15 "the watcher to remove run $id" run_gone "$id"
}

@test "sweep removes the leftovers of a dead run and leaves a live run alone" {
    local id
    id=$(FOUNDATION_NO_WATCHER=1 bash -c '
        set -euo pipefail
        unset FOUNDATION_ID
        source "$1"
        foundation_up
        foundation_add_instance 0 >/dev/null
        foundation_spawn 0 /dev/null sleep 300 >/dev/null
        echo "$FOUNDATION_ID"
    ' _ "$FOUNDATION" 3>&-)
    [ -n "$(run_leftovers "$id")" ]
    foundation_sweep
    run_gone "$id"
    # This suite's own run is alive and must still be complete.
    [ -e "/run/netns/$FOUNDATION_SWITCH_NS" ]
    [ -d "$FOUNDATION_STATE_ROOT/$FOUNDATION_ID" ]
    run foundation_instances
    [ "$output" = "$(printf '1\n2\n3')" ]
}
