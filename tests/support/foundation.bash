# shellcheck shell=bash
# A local stand-in for a Cloud Foundry foundation's container network, built from network
# namespaces: one "switch" namespace holding a bridge (and the services every instance talks
# to: the registry double, a DNS server), and one namespace per app instance with its own
# address on the bridge's /24. Every instance can use the same distribution port, exactly as
# CF containers do. Nothing on the host's own interfaces, routes or sysctls changes: the bridge
# and every veth end live inside the namespaces, and instances have no route off the /24.
#
# Source this file, then:
#   foundation_up                    create the switch (needs root)
#   foundation_add_instance N        create instance N (prints its IP, 10.a.b.(10+N))
#   foundation_exec TARGET CMD...    run CMD inside TARGET ("switch" or an instance number)
#   foundation_spawn TARGET LOG CMD...  start CMD in the background there, print its PID
#   foundation_cut N / foundation_heal N   partition instance N from the bridge and back
#   foundation_remove_instance N     kill what runs in instance N and delete it
#   foundation_down                  remove everything this run created
#   foundation_sweep                 remove what crashed earlier runs left behind
#   foundation_set_resolver IP       instances resolve names through the DNS server at IP
#   foundation_clear_resolver        back to the host's resolver configuration
#   foundation_cleanup_on_exit       (scripts) run foundation_down on EXIT, INT and TERM
# and the small helpers: foundation_ns TARGET (namespace name), foundation_instance_ip N,
# foundation_instances (numbers of existing instances), foundation_wait SECONDS WHAT CMD...
# (bounded poll), foundation_now / foundation_elapsed START (timings),
# foundation_process_gone PID.
#
# Names: every namespace is "ecb-<run id>-sw" or "ecb-<run id>-i<N>", the run id being six
# random hex digits; interface names (br0, v<N>, eth0) only have to be unique inside their
# namespace. A state directory per run (/run/ecb-foundation/<run id>) records the owning
# process, so foundation_sweep can tell a crashed run from one still going, and a small
# watcher process removes the run's namespaces if its owner dies without cleaning up
# (kill -9, a crashed test runner).
#
# State is passed in exported variables so that bats tests (separate processes) and
# $(...) subshells see it: FOUNDATION_ID, FOUNDATION_SUBNET (three octets), FOUNDATION_SWITCH_NS,
# FOUNDATION_SWITCH_IP.
#
# Settings: FOUNDATION_SUBNET (e.g. 10.213.37) picks the /24; FOUNDATION_STATE_ROOT moves the
# state directories; FOUNDATION_NO_WATCHER=1 skips the watcher.

FOUNDATION_LIB=$(readlink -f "${BASH_SOURCE[0]}")
FOUNDATION_NS_PREFIX=ecb-
: "${FOUNDATION_STATE_ROOT:=/run/ecb-foundation}"
export FOUNDATION_STATE_ROOT

# Candidate /24s, tried in order when FOUNDATION_SUBNET is not set. Any of them that the host
# already routes or uses is skipped.
FOUNDATION_SUBNET_CANDIDATES=(10.213.37 10.213.73 10.231.37 10.231.73 10.199.91)

_foundation_err() {
    printf 'foundation: %s\n' "$*" >&2
}

# foundation_now: seconds since the epoch with microseconds, for deadlines and timings.
foundation_now() {
    printf '%s\n' "$EPOCHREALTIME"
}

# foundation_elapsed START: seconds (one decimal) since START (a foundation_now value).
foundation_elapsed() {
    local start=$1 now=$EPOCHREALTIME
    local start_us=$(( ${start%.*} * 1000000 + 10#${start#*.} ))
    local now_us=$(( ${now%.*} * 1000000 + 10#${now#*.} ))
    local tenths=$(( (now_us - start_us) / 100000 ))
    printf '%d.%d\n' $(( tenths / 10 )) $(( tenths % 10 ))
}

# foundation_wait SECONDS DESCRIPTION CMD...: run CMD until it succeeds, at most SECONDS
# seconds, pausing briefly between attempts. On timeout prints what it waited for and fails.
foundation_wait() {
    local limit=$1 what=$2
    shift 2
    local start=$EPOCHREALTIME
    local deadline_us=$(( ${start%.*} * 1000000 + 10#${start#*.} + limit * 1000000 ))
    local now
    while :; do
        if "$@"; then
            return 0
        fi
        now=$EPOCHREALTIME
        if (( ${now%.*} * 1000000 + 10#${now#*.} >= deadline_us )); then
            _foundation_err "timed out after ${limit}s waiting for: $what"
            return 1
        fi
        sleep 0.1
    done
}

# foundation_process_gone PID: the process has exited (a zombie waiting for its parent to
# reap it counts as exited).
foundation_process_gone() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ ${stat%% *} == Z ]]
}

_foundation_require_root() {
    if [[ $EUID -ne 0 ]]; then
        _foundation_err "needs root to create network namespaces (running as uid $EUID): run the tests as root, e.g. with sudo"
        return 1
    fi
    if ! command -v ip >/dev/null 2>&1; then
        _foundation_err "the 'ip' command is missing: install iproute2"
        return 1
    fi
}

_foundation_require_up() {
    if [[ -z ${FOUNDATION_ID:-} || ! -d $FOUNDATION_STATE_ROOT/${FOUNDATION_ID:-none} ]]; then
        _foundation_err "no foundation is up in this environment: call foundation_up first"
        return 1
    fi
}

_foundation_check_index() {
    if [[ ! $1 =~ ^[0-9]+$ ]] || (( 10#$1 > 240 )); then
        _foundation_err "instance number '$1' is not valid: expected an integer from 0 to 240"
        return 1
    fi
}

# foundation_ns TARGET: the namespace name of "switch" or instance number TARGET.
foundation_ns() {
    _foundation_require_up || return 1
    case $1 in
        switch) printf '%s\n' "$FOUNDATION_SWITCH_NS" ;;
        *)
            _foundation_check_index "$1" || return 1
            printf '%s%s-i%d\n' "$FOUNDATION_NS_PREFIX" "$FOUNDATION_ID" "$((10#$1))"
            ;;
    esac
}

# foundation_instance_ip N: the address instance N has (or will have).
foundation_instance_ip() {
    _foundation_require_up || return 1
    _foundation_check_index "$1" || return 1
    printf '%s.%d\n' "$FOUNDATION_SUBNET" "$((10 + 10#$1))"
}

# foundation_instances: the numbers of the instances that exist now, one per line, ascending.
foundation_instances() {
    _foundation_require_up || return 1
    local prefix="$FOUNDATION_NS_PREFIX$FOUNDATION_ID-i" name
    ip netns list 2>/dev/null | while read -r name _; do
        if [[ $name == "$prefix"* ]]; then
            printf '%s\n' "${name#"$prefix"}"
        fi
    done | sort -n
}

_foundation_ip_to_int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    printf '%d\n' $(( (a << 24) | (b << 16) | (c << 8) | d ))
}

# _foundation_subnet_in_use SUBNET: true when any host route (other than a default route) or
# host address overlaps SUBNET.0/24.
_foundation_subnet_in_use() {
    local subnet=$1 lo hi prefix net len n_lo n_hi
    lo=$(_foundation_ip_to_int "$subnet.0")
    hi=$(( lo + 255 ))
    while read -r prefix; do
        [[ $prefix == default || -z $prefix ]] && continue
        net=${prefix%/*}
        len=${prefix#*/}
        [[ $prefix == */* ]] || len=32
        [[ $net =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || continue
        (( len == 0 )) && continue
        n_lo=$(( $(_foundation_ip_to_int "$net") & ((0xffffffff << (32 - len)) & 0xffffffff) ))
        n_hi=$(( n_lo + (1 << (32 - len)) - 1 ))
        if (( n_lo <= hi && lo <= n_hi )); then
            return 0
        fi
    done < <(
        ip -4 -o route show table all 2>/dev/null | awk '{ if ($1 ~ /^(local|broadcast|unicast|unreachable|blackhole|prohibit|throw|multicast)$/) print $2; else print $1 }'
        ip -4 -o addr show 2>/dev/null | awk '{ print $4 }'
    )
    return 1
}

_foundation_pick_subnet() {
    local candidate
    if [[ -n ${FOUNDATION_SUBNET:-} ]]; then
        local octet valid=1
        [[ $FOUNDATION_SUBNET =~ ^(10\.[0-9]{1,3}|192\.168|172\.(1[6-9]|2[0-9]|3[01]))\.[0-9]{1,3}$ ]] || valid=0
        for octet in ${FOUNDATION_SUBNET//./ }; do
            (( valid && 10#$octet > 255 )) && valid=0
        done
        if (( ! valid )); then
            _foundation_err "FOUNDATION_SUBNET='$FOUNDATION_SUBNET' is not valid: expected the first three octets of a private /24, e.g. 10.213.37"
            return 1
        fi
        if _foundation_subnet_in_use "$FOUNDATION_SUBNET"; then
            _foundation_err "FOUNDATION_SUBNET=$FOUNDATION_SUBNET.0/24 overlaps a route or address of this host: choose another private /24"
            return 1
        fi
        printf '%s\n' "$FOUNDATION_SUBNET"
        return 0
    fi
    for candidate in "${FOUNDATION_SUBNET_CANDIDATES[@]}"; do
        if ! _foundation_subnet_in_use "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    _foundation_err "every candidate /24 (${FOUNDATION_SUBNET_CANDIDATES[*]}) overlaps a route of this host: set FOUNDATION_SUBNET to a free private /24, e.g. FOUNDATION_SUBNET=10.250.1"
    return 1
}

# _foundation_proc_start PID: the process's start time in clock ticks since boot (field 22 of
# /proc/PID/stat), which with the PID identifies a process even after PID reuse.
_foundation_proc_start() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086 # split the fields on purpose
    set -- $stat
    printf '%s\n' "${20}"
}

# _foundation_run_alive ID: true while the process that created run ID is still running.
_foundation_run_alive() {
    local owner pid start
    owner=$(cat "$FOUNDATION_STATE_ROOT/$1/owner" 2>/dev/null) || return 1
    read -r pid start <<<"$owner"
    [[ -n $pid && $(_foundation_proc_start "$pid" 2>/dev/null) == "$start" ]]
}

# _foundation_kill_ns NS: stop every process in namespace NS (TERM, then KILL), bounded.
_foundation_kill_ns() {
    local ns=$1 pids
    pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086 # one PID per word
    kill -TERM $pids 2>/dev/null || true
    if ! foundation_wait 5 "processes in $ns to exit after SIGTERM" _foundation_ns_empty "$ns" 2>/dev/null; then
        pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
        # shellcheck disable=SC2086
        [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
        foundation_wait 5 "processes in $ns to exit after SIGKILL" _foundation_ns_empty "$ns" || return 1
    fi
}

_foundation_ns_empty() {
    [[ -z $(ip netns pids "$1" 2>/dev/null) ]]
}

# foundation_instance_empty N: no process runs in instance N.
foundation_instance_empty() {
    local ns
    ns=$(foundation_ns "$1") || return 1
    _foundation_ns_empty "$ns"
}

# _foundation_delete_ns NS: kill its processes, delete it and its /etc/netns overlay.
_foundation_delete_ns() {
    local ns=$1 status=0
    _foundation_kill_ns "$ns" || status=1
    # An instance's end of its veth pair goes first: deleting it removes the switch's end
    # (v<N>) at once, where the namespace's own teardown does so a moment later, and an
    # instance N made right after would find v<N> still there ("File exists").
    if [[ -e /run/netns/$ns ]] && ip -n "$ns" link show eth0 >/dev/null 2>&1 &&
        ! ip -n "$ns" link del eth0 2>/dev/null; then
        _foundation_err "could not delete the link of network namespace $ns"
        status=1
    fi
    if [[ -e /run/netns/$ns ]] && ! ip netns delete "$ns" 2>/dev/null; then
        _foundation_err "could not delete network namespace $ns"
        status=1
    fi
    rm -rf "/etc/netns/$ns"
    return "$status"
}

# _foundation_destroy ID: remove every namespace and the state of run ID. Switch last, so
# services there outlive the instances that talk to them.
_foundation_destroy() {
    local id=$1 name status=0 instances=() switch=
    while read -r name _; do
        case $name in
            "$FOUNDATION_NS_PREFIX$id"-sw) switch=$name ;;
            "$FOUNDATION_NS_PREFIX$id"-i*) instances+=("$name") ;;
        esac
    done < <(ip netns list 2>/dev/null)
    for name in "${instances[@]}"; do
        _foundation_delete_ns "$name" || status=1
    done
    if [[ -n $switch ]]; then
        _foundation_delete_ns "$switch" || status=1
    fi
    rm -rf "${FOUNDATION_STATE_ROOT:?}/$id"
    return "$status"
}

_foundation_start_watcher() {
    local id=$1 owner_pid=$2
    # The watcher outlives a killed owner: it waits for the owner's PID to go away, then
    # destroys the run if the owner did not. Detached from every inherited descriptor so
    # it never holds a test runner's pipes open.
    # shellcheck disable=SC2016 # expanded by the watcher's own shell
    setsid bash -c '
        source "$1" || exit 1
        printf "%s\n" "$$" >"$FOUNDATION_STATE_ROOT/$2/watcher"
        tail --pid="$3" -f /dev/null &
        tail_pid=$!
        trap "kill \$tail_pid 2>/dev/null; wait \$tail_pid; exit 0" TERM
        wait "$tail_pid"
        if [[ -d $FOUNDATION_STATE_ROOT/$2 ]] && ! _foundation_run_alive "$2"; then
            _foundation_destroy "$2"
        fi
    ' foundation-watcher "$FOUNDATION_LIB" "$id" "$owner_pid" </dev/null >/dev/null 2>&1 3>&- &
}

# foundation_up: create this run's switch namespace with its bridge and address.
foundation_up() {
    _foundation_require_root || return 1
    if [[ -n ${FOUNDATION_ID:-} && -d $FOUNDATION_STATE_ROOT/$FOUNDATION_ID ]]; then
        _foundation_err "a foundation ($FOUNDATION_ID) is already up in this environment: call foundation_down first"
        return 1
    fi
    local subnet id ns out owner_start
    subnet=$(_foundation_pick_subnet) || return 1
    id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    if ! mkdir -p "$FOUNDATION_STATE_ROOT" || ! mkdir -m 0700 "$FOUNDATION_STATE_ROOT/$id"; then
        _foundation_err "could not create the state directory $FOUNDATION_STATE_ROOT/$id"
        return 1
    fi
    owner_start=$(_foundation_proc_start "$$")
    printf '%s %s\n' "$$" "$owner_start" >"$FOUNDATION_STATE_ROOT/$id/owner"
    printf '%s\n' "$subnet" >"$FOUNDATION_STATE_ROOT/$id/subnet"

    export FOUNDATION_ID=$id
    export FOUNDATION_SUBNET=$subnet
    export FOUNDATION_SWITCH_NS=$FOUNDATION_NS_PREFIX$id-sw
    export FOUNDATION_SWITCH_IP=$subnet.1
    ns=$FOUNDATION_SWITCH_NS

    if ! out=$(ip netns add "$ns" 2>&1); then
        _foundation_err "'ip netns add $ns' failed: $out (network namespaces need root and a kernel with CONFIG_NET_NS; in a container, run it privileged)"
        _foundation_destroy "$id"
        unset FOUNDATION_ID FOUNDATION_SUBNET FOUNDATION_SWITCH_NS FOUNDATION_SWITCH_IP
        return 1
    fi
    if ! out=$({
        ip -n "$ns" link set lo up &&
        # A fixed MAC: a bridge left to pick one takes its lowest port's, so it would change
        # as instances come and go, and every instance's ARP entry for the switch (the
        # registry, the DNS server) would go stale until it expired.
        ip -n "$ns" link add br0 address 02:ec:b0:00:00:01 type bridge &&
        ip -n "$ns" addr add "$FOUNDATION_SWITCH_IP/24" dev br0 &&
        ip -n "$ns" link set br0 up &&
        _foundation_static_neighbours "$ns" br0
    } 2>&1); then
        _foundation_err "could not set up the bridge in $ns: $out"
        _foundation_destroy "$id"
        unset FOUNDATION_ID FOUNDATION_SUBNET FOUNDATION_SWITCH_NS FOUNDATION_SWITCH_IP
        return 1
    fi
    if [[ ${FOUNDATION_NO_WATCHER:-0} != 1 ]]; then
        _foundation_start_watcher "$id" "$$"
    fi
}

# _foundation_mac N: the fixed MAC of instance N's eth0 (N 0..240).
_foundation_mac() {
    printf '02:ec:b1:00:00:%02x\n' "$1"
}

# _foundation_static_neighbours NS DEV: in namespace NS, permanent neighbour entries on DEV
# for the switch and every instance slot (each eth0 has a fixed MAC). The kernel's neighbour
# table is one for all namespaces and holds 1024 learned entries (gc_thresh3): a large mesh
# running beside (65 instances need about 4200) would leave a new instance unable to resolve
# anyone. Permanent entries do not count against that limit, and with them nothing here
# needs ARP.
_foundation_static_neighbours() {
    local ns=$1 dev=$2 n
    {
        [[ $dev == br0 ]] ||
            printf 'neigh replace %s lladdr 02:ec:b0:00:00:01 dev %s nud permanent\n' \
                "$FOUNDATION_SWITCH_IP" "$dev"
        # Builtins only (no subshell per line): this runs at every foundation_up and
        # foundation_add_instance. The MAC is _foundation_mac's.
        for ((n = 0; n <= 240; n++)); do
            printf 'neigh replace %s.%d lladdr 02:ec:b1:00:00:%02x dev %s nud permanent\n' \
                "$FOUNDATION_SUBNET" "$((10 + n))" "$n" "$dev"
        done
    } | ip -n "$ns" -batch -
}

# foundation_add_instance N: create instance N's namespace, wired to the bridge, with
# address 10.a.b.(10+N)/24 and loopback up. Prints the address.
foundation_add_instance() {
    _foundation_require_up || return 1
    _foundation_check_index "${1:-}" || return 1
    local n=$((10#$1)) ns ip out
    ns=$(foundation_ns "$n")
    ip=$(foundation_instance_ip "$n")
    if [[ -e /run/netns/$ns ]]; then
        _foundation_err "instance $n already exists ($ns)"
        return 1
    fi
    if ! out=$(ip netns add "$ns" 2>&1); then
        _foundation_err "'ip netns add $ns' failed: $out"
        return 1
    fi
    if ! out=$({
        ip -n "$ns" link set lo up &&
        ip -n "$FOUNDATION_SWITCH_NS" link add "v$n" type veth peer name eth0 \
            address "$(_foundation_mac "$n")" netns "$ns" &&
        ip -n "$FOUNDATION_SWITCH_NS" link set "v$n" master br0 &&
        ip -n "$FOUNDATION_SWITCH_NS" link set "v$n" up &&
        ip -n "$ns" addr add "$ip/24" dev eth0 &&
        ip -n "$ns" link set eth0 up &&
        _foundation_static_neighbours "$ns" eth0
    } 2>&1); then
        _foundation_err "could not wire instance $n ($ns): $out"
        _foundation_delete_ns "$ns"
        return 1
    fi
    if [[ -s $FOUNDATION_STATE_ROOT/$FOUNDATION_ID/resolver ]]; then
        _foundation_write_resolv_conf "$ns" || return 1
    fi
    printf '%s\n' "$ip"
}

# foundation_remove_instance N: stop everything running in instance N and delete it.
foundation_remove_instance() {
    local ns
    ns=$(foundation_ns "${1:-}") || return 1
    if [[ ! -e /run/netns/$ns ]]; then
        _foundation_err "instance $1 does not exist"
        return 1
    fi
    _foundation_delete_ns "$ns"
}

# foundation_exec TARGET CMD...: run CMD in the namespace of "switch" or instance TARGET.
foundation_exec() {
    local ns
    ns=$(foundation_ns "${1:-}") || return 1
    shift
    ip netns exec "$ns" "$@"
}

# foundation_spawn TARGET LOG CMD...: start CMD in the background inside TARGET, output to
# LOG, no inherited descriptors beyond those; prints its PID. foundation_down and
# foundation_remove_instance stop it with everything else in that namespace.
foundation_spawn() {
    local ns log=${2:-}
    ns=$(foundation_ns "${1:-}") || return 1
    if [[ -z $log || $# -lt 3 ]]; then
        _foundation_err "usage: foundation_spawn TARGET LOG CMD..."
        return 1
    fi
    shift 2
    ip netns exec "$ns" "$@" </dev/null >>"$log" 2>&1 3>&- &
    printf '%s\n' "$!"
}

# foundation_cut N: partition instance N by taking its bridge port down. Its connections stay
# open but no packet passes, like a network fault between cells; nothing is reset.
foundation_cut() {
    _foundation_require_up || return 1
    _foundation_check_index "${1:-}" || return 1
    local out
    if ! out=$(ip -n "$FOUNDATION_SWITCH_NS" link set "v$((10#$1))" down 2>&1); then
        _foundation_err "could not cut instance $1: $out"
        return 1
    fi
}

# foundation_heal N: undo foundation_cut.
foundation_heal() {
    _foundation_require_up || return 1
    _foundation_check_index "${1:-}" || return 1
    local out
    if ! out=$(ip -n "$FOUNDATION_SWITCH_NS" link set "v$((10#$1))" up 2>&1); then
        _foundation_err "could not heal instance $1: $out"
        return 1
    fi
}

# foundation_set_resolver IP: make every instance (now and later) resolve names through the
# DNS server at IP (a /etc/netns/<ns>/resolv.conf overlay, which "ip netns exec" mounts).
foundation_set_resolver() {
    _foundation_require_up || return 1
    if [[ ! ${1:-} =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        _foundation_err "resolver '${1:-}' is not valid: expected an IPv4 address such as $FOUNDATION_SWITCH_IP"
        return 1
    fi
    printf '%s\n' "$1" >"$FOUNDATION_STATE_ROOT/$FOUNDATION_ID/resolver"
    local n ns
    for n in $(foundation_instances); do
        ns=$(foundation_ns "$n")
        _foundation_write_resolv_conf "$ns" || return 1
    done
}

# foundation_clear_resolver: undo foundation_set_resolver (instances use the host's resolver
# configuration again).
foundation_clear_resolver() {
    _foundation_require_up || return 1
    rm -f "$FOUNDATION_STATE_ROOT/$FOUNDATION_ID/resolver"
    local n
    for n in $(foundation_instances); do
        rm -rf "/etc/netns/$(foundation_ns "$n")"
    done
}

_foundation_write_resolv_conf() {
    local ns=$1 resolver
    resolver=$(cat "$FOUNDATION_STATE_ROOT/$FOUNDATION_ID/resolver")
    if ! mkdir -p "/etc/netns/$ns" ||
       ! printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$resolver" >"/etc/netns/$ns/resolv.conf"; then
        _foundation_err "could not write /etc/netns/$ns/resolv.conf"
        return 1
    fi
}

# foundation_down: stop every process in this run's namespaces and remove them, its state and
# its watcher. Safe to call twice and when foundation_up failed half way.
foundation_down() {
    [[ -n ${FOUNDATION_ID:-} ]] || return 0
    local id=$FOUNDATION_ID status=0 watcher
    watcher=$(cat "$FOUNDATION_STATE_ROOT/$id/watcher" 2>/dev/null) || watcher=
    _foundation_destroy "$id" || status=1
    if [[ -n $watcher ]]; then
        kill "$watcher" 2>/dev/null || true
    fi
    unset FOUNDATION_ID FOUNDATION_SUBNET FOUNDATION_SWITCH_NS FOUNDATION_SWITCH_IP
    return "$status"
}

# foundation_sweep: remove namespaces and state left by earlier runs whose owner is gone.
# Runs that are still going are left alone.
foundation_sweep() {
    _foundation_require_root || return 1
    local name id status=0
    local -A seen=()
    while read -r name _; do
        [[ $name =~ ^${FOUNDATION_NS_PREFIX}([0-9a-f]{6})-(sw|i[0-9]+)$ ]] || continue
        seen[${BASH_REMATCH[1]}]=1
    done < <(ip netns list 2>/dev/null)
    if [[ -d $FOUNDATION_STATE_ROOT ]]; then
        for name in "$FOUNDATION_STATE_ROOT"/*; do
            [[ -d $name ]] && seen[${name##*/}]=1
        done
    fi
    for id in "${!seen[@]}"; do
        if ! _foundation_run_alive "$id"; then
            printf 'foundation: removing leftovers of run %s\n' "$id" >&2
            _foundation_destroy "$id" || status=1
        fi
    done
    return "$status"
}

# foundation_cleanup_on_exit: for scripts (not bats, which has its own traps): tear the
# foundation down when the script ends, fails or is interrupted.
foundation_cleanup_on_exit() {
    trap 'foundation_down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
