# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# Shared by the e2e suites: a local foundation (tests/support/foundation.bash) with the
# registry double in its switch namespace and app instances started from one staged droplet
# by the local launcher, each in its own namespace with its own CF_INSTANCE_* identity.
#
#   e2e_setup_file / e2e_teardown_file   bring the foundation up / down (call from
#                                        setup_file / teardown_file)
#   e2e_stage_app NAME SOURCE [opts]     stage SOURCE as app NAME with the built buildpack
#                                        + the compile-only final buildpack, once
#   e2e_stage_sample_app [opts]          the same for tests/fixtures/elixir-app
#   e2e_start_registry [server.js opts]  the registry double at $FOUNDATION_SWITCH_IP:8761
#   e2e_start_instance N [opts]          launch instance N of app $E2E_APP (index N, IP
#                                        10.a.b.(10+N)); opts go to cf-launch; with
#                                        E2E_IDENTITY_CA set, the instance gets an identity
#                                        from that CA, as on Diego (tls_helper.bash)
#   e2e_ssh N COMMAND                    `cf ssh -i N -c COMMAND` into instance N's current run
#   e2e_ensure_instances N...            start the listed instances that are not running
#   e2e_stop_instance N [SIGNAL]         signal instance N's launcher process (default TERM)
#   e2e_beam_pid N                       the PID of instance N's BEAM
#   e2e_wait_exit N SECONDS              bounded wait for instance N's app process to exit
#   e2e_destroy_container N              SIGKILL what is left in instance N, remove it
#   e2e_remove_instances N...            teardown: destroy those of the listed instances that
#                                        are still there; fails if one cannot be removed
#   e2e_registered_ips                   the addresses the registry double lists
#   e2e_view N                           instance N's {"current_node","connected_nodes"}
#   e2e_full_mesh N...                   every listed instance sees exactly the others
#   e2e_wait_full_mesh SECONDS N...      wait until every listed instance sees exactly the
#                                        others; prints the time taken
#   e2e_watch_mesh SECONDS N...          the full mesh holds in every look for SECONDS
#   e2e_report TEXT                      a "# TEXT" line in the TAP output

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The buildpack as users install it: the packaged zip, unpacked (set in e2e_setup_file).
E2E_BUILDPACK=${E2E_BUILDPACK:-}
E2E_FINAL_BUILDPACK=${E2E_FINAL_BUILDPACK:-$E2E_REPO/tests/support/final-buildpacks/compile-only}
E2E_APP_NAME=${E2E_APP_NAME:-cluster-app}
E2E_HTTP_PORT=8080
E2E_DIST_PORT=9001   # the buildpack's default ERLANG_CLUSTER_DIST_PORT
E2E_REGISTRY_PORT=8761

# shellcheck source=../support/foundation.bash
source "$E2E_REPO/tests/support/foundation.bash"
# shellcheck source=../support/registry/registry.bash
source "$E2E_REPO/tests/support/registry/registry.bash"

e2e_report() {
    printf '# %s\n' "$*" >&3
}

e2e_fail() {
    printf 'e2e: %s\n' "$*" >&2
    return 1
}

e2e_setup_file() {
    local missing=() f
    if [[ -z $E2E_BUILDPACK ]]; then
        E2E_BUILDPACK=$("$E2E_REPO/tests/support/unpacked-buildpack") || return 1
        export E2E_BUILDPACK
    fi
    for f in "$E2E_BUILDPACK/bin/supply" "$E2E_BUILDPACK/bin/erlang-cluster-agent" \
             "$E2E_REPO/tests/support/cf-stage" "$E2E_REPO/tests/support/cf-launch"; do
        [[ -x $f ]] || missing+=("$f")
    done
    if ((${#missing[@]})); then
        e2e_fail "missing ${missing[*]}: run 'make' first"
        return 1
    fi
    foundation_sweep
    foundation_up
    export E2E_DIR=${E2E_DIR:-$BATS_FILE_TMPDIR}
    mkdir -p "$E2E_DIR/instances"
}

e2e_teardown_file() {
    foundation_down
}

# e2e_stage_app NAME SOURCE [cf-stage options]: stage the app in SOURCE as CF app NAME with
# the built buildpack and the compile-only final buildpack, once per suite, with the
# registry's binding when e2e_start_registry ran first (as on CF, where bound services are
# visible at staging). The droplet goes to $E2E_DIR/droplets/NAME, the output beside it in
# NAME.staging.log. Each app has its own build cache, as on CF (the platform keeps one per app).
e2e_stage_app() {
    local name=$1 source=$2
    shift 2
    local droplet=$E2E_DIR/droplets/$name log=$E2E_DIR/droplets/$name.staging.log
    if [[ -f $droplet/staging_info.yml ]]; then
        return 0
    fi
    mkdir -p "$E2E_DIR/droplets"
    local services=(--services '{}')
    [[ -f $E2E_DIR/vcap_services.json ]] && services=(--services-file "$E2E_DIR/vcap_services.json")
    if ! "$E2E_REPO/tests/support/cf-stage" --app "$source" \
            --droplet "$droplet" --app-name "$name" "${services[@]}" \
            --buildpack "$E2E_BUILDPACK" --buildpack "$E2E_FINAL_BUILDPACK" \
            --cache-root "$E2E_DIR/cache/$name" "$@" >"$log" 2>&1 3>&-; then
        cat "$log" >&2
        e2e_fail "staging $source as $name failed (log above)"
        return 1
    fi
}

# e2e_stage_sample_app [cf-stage options]: stage tests/fixtures/elixir-app as $E2E_APP_NAME;
# its droplet is $E2E_DROPLET.
e2e_stage_sample_app() {
    e2e_stage_app "$E2E_APP_NAME" "$E2E_REPO/tests/fixtures/elixir-app" "$@" || return 1
    export E2E_DROPLET=$E2E_DIR/droplets/$E2E_APP_NAME
}

# e2e_start_registry [server.js options]: start the registry double inside the switch
# namespace on a fixed port (so a restart keeps the URL), with OAuth2 on and a client secret
# made for this suite. Writes the matching VCAP_SERVICES to $E2E_DIR/vcap_services.json.
e2e_start_registry() {
    local secret_file=$E2E_DIR/registry-client-secret
    if [[ ! -s $secret_file ]]; then
        (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$secret_file")
    fi
    REGISTRY_DOUBLE_CLIENT_ID=e2e-client REGISTRY_DOUBLE_CLIENT_SECRET=$(cat "$secret_file") \
    REGISTRY_EXEC="ip netns exec $FOUNDATION_SWITCH_NS" \
        registry_start "$E2E_DIR/registry" --host "$FOUNDATION_SWITCH_IP" \
            --port "$E2E_REGISTRY_PORT" "$@" 3>&- || return 1
    export REGISTRY_EXEC="ip netns exec $FOUNDATION_SWITCH_NS"
    local base=http://$FOUNDATION_SWITCH_IP:$E2E_REGISTRY_PORT
    # The secret reaches jq through a file, never its command line.
    (umask 077 && jq -n --arg uri "$base" --arg token "$base/oauth/token" \
        --rawfile secret "$secret_file" '{
        "p-service-registry": [{
            name: "service-registry", instance_name: "service-registry",
            binding_name: null, label: "p-service-registry", plan: "standard",
            tags: ["eureka", "discovery", "registry", "spring-cloud"],
            credentials: {uri: $uri, client_id: "e2e-client", client_secret: $secret,
                          access_token_uri: $token}}]}' >"$E2E_DIR/vcap_services.json")
}

# e2e_instance_root N: the "/home/vcap" of the current run of instance N.
e2e_instance_root() {
    cat "$E2E_DIR/instances/$1.root"
}

# e2e_start_instance N [cf-launch options]: launch instance N of app $E2E_APP (default
# $E2E_APP_NAME; staged before with e2e_stage_app) inside its own namespace (created if
# needed) with CF_INSTANCE_INDEX N, its own INSTANCE_GUID and the registry's VCAP_SERVICES.
# Each start gets a fresh root, as a new container would.
e2e_start_instance() {
    local n=$1
    shift
    local app=${E2E_APP:-$E2E_APP_NAME} ns ip root guid run=0 pid
    if [[ ! -f $E2E_DIR/droplets/$app/staging_info.yml ]]; then
        e2e_fail "app $app is not staged: call e2e_stage_app first"
        return 1
    fi
    ns=$(foundation_ns "$n") || return 1
    if [[ ! -e /run/netns/$ns ]]; then
        foundation_add_instance "$n" >/dev/null || return 1
    fi
    ip=$(foundation_instance_ip "$n")
    while [[ -e $E2E_DIR/instances/$n.$run ]]; do
        run=$((run + 1))
    done
    root=$E2E_DIR/instances/$n.$run
    guid=$(cat /proc/sys/kernel/random/uuid)
    printf '%s\n' "$root" >"$E2E_DIR/instances/$n.root"
    printf '%s\n' "${E2E_VIEW:-http}" >"$E2E_DIR/instances/$n.view-via"
    local services=(--services '{}') identity=()
    [[ -f $E2E_DIR/vcap_services.json ]] && services=(--services-file "$E2E_DIR/vcap_services.json")
    [[ -z ${E2E_IDENTITY_CA:-} ]] ||
        identity=(--identity-ca "$E2E_IDENTITY_CA" --identity-minutes "${E2E_IDENTITY_MINUTES:-1440}")
    local launch=(--droplet "$E2E_DIR/droplets/$app" --root "$root" --ip "$ip" --index "$n"
        --guid "$guid" --port "$E2E_HTTP_PORT" --app-name "$app" "${services[@]}" "$@")
    # What a later `cf ssh` into this run needs: the same instance options.
    printf '%s\0' "${launch[@]}" >"$E2E_DIR/instances/$n.launch"
    pid=$(foundation_spawn "$n" "$root.log" "$E2E_REPO/tests/support/cf-launch" \
        "${launch[@]}" "${identity[@]}") || return 1
    printf '%s\n' "$pid" >"$E2E_DIR/instances/$n.pid"
}

# e2e_ssh N COMMAND: `cf ssh -c COMMAND` into instance N's current run, as the lifecycle's
# shell runs it (cf-launch --ssh with the instance's launch options); bounded to 60 s.
e2e_ssh() {
    local n=$1 command=$2 launch=()
    mapfile -d '' launch <"$E2E_DIR/instances/$n.launch" || return 1
    foundation_exec "$n" timeout 60 "$E2E_REPO/tests/support/cf-launch" "${launch[@]}" \
        --ssh "$command"
}

# e2e_beam_pid N: the PID of the BEAM running in instance N.
e2e_beam_pid() {
    local pid
    for pid in $(ip netns pids "$(foundation_ns "$1")"); do
        if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == beam.smp ]]; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    e2e_fail "no BEAM is running in instance $1"
}

# e2e_instance_running N: instance N was started and its app process is still alive.
e2e_instance_running() {
    local pid
    pid=$(cat "$E2E_DIR/instances/$1.pid" 2>/dev/null) || return 1
    [[ -e /run/netns/$(foundation_ns "$1") ]] && kill -0 "$pid" 2>/dev/null
}

# e2e_ensure_instances N...: start those of the listed instances that are not running, so a
# test can also run on its own (bats -f).
e2e_ensure_instances() {
    local n
    for n in "$@"; do
        e2e_instance_running "$n" || e2e_start_instance "$n" || return 1
    done
}

# e2e_stop_instance N [SIGNAL]: send SIGNAL (default TERM) to instance N's app process.
e2e_stop_instance() {
    local pid
    pid=$(cat "$E2E_DIR/instances/$1.pid") || return 1
    kill -"${2:-TERM}" "$pid"
}

# e2e_wait_exit N SECONDS: bounded wait for instance N's app process to exit.
e2e_wait_exit() {
    local pid
    pid=$(cat "$E2E_DIR/instances/$1.pid") || return 1
    foundation_wait "$2" "instance $1's app process $pid to exit" foundation_process_gone "$pid"
}

# e2e_destroy_container N: what the platform does once an instance's app process has exited:
# every process left in the container is killed at once (no SIGTERM, no grace period) and
# the container goes away.
e2e_destroy_container() {
    local ns pids
    ns=$(foundation_ns "$1") || return 1
    pids=$(ip netns pids "$ns")
    # One may exit between the listing and the kill (kill then fails for it alone): then the
    # wait asserts that none is left.
    # shellcheck disable=SC2086 # one PID per word
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null ||
        foundation_wait 5 "the processes of instance $1 to die" foundation_instance_empty "$1" ||
        return 1
    foundation_remove_instance "$1"
}

# e2e_remove_instances N...: a teardown's cleanup. Destroys those of the listed instances
# that are still there (a case may have removed one, or failed before starting it), every one
# of them even when one fails; fails if any could not be removed.
e2e_remove_instances() {
    local n status=0
    for n in "$@"; do
        [[ -e /run/netns/$(foundation_ns "$n") ]] || continue
        e2e_destroy_container "$n" || status=1
    done
    return "$status"
}

# e2e_registered_ips: the ipAddr of every instance the registry double lists now, sorted.
e2e_registered_ips() {
    registry_admin GET /state | jq -r '.instances[].ipAddr' | sort
}

# e2e_watch_mesh SECONDS N...: look at the listed instances' views about once a second for
# SECONDS; every look must be a full mesh. A look in which an instance did not answer (a slow
# endpoint is not a disconnection) is not counted, but at least half the looks must count.
# Prints the number of looks counted.
e2e_watch_mesh() {
    local window=$1 start looks=0 tries=0 status
    shift
    start=$(foundation_now)
    while awk -v e="$(foundation_elapsed "$start")" -v w="$window" 'BEGIN { exit !(e < w) }'; do
        tries=$((tries + 1))
        status=0
        e2e_full_mesh "$@" || status=$?
        case $status in
            0) looks=$((looks + 1)) ;;
            2) ;;
            *)
                e2e_fail "the mesh of instances $* broke $(foundation_elapsed "$start") s into the watch: $(for n in "$@"; do printf '[%s] ' "$(cat "$E2E_DIR/instances/$n.view" 2>/dev/null)"; done)"
                return 1
                ;;
        esac
        sleep 1 # the watch samples the mesh once a second; each look is asserted above
    done
    if ((looks * 2 < tries)); then
        e2e_fail "only $looks of $tries looks at instances $* got an answer from every instance"
        return 1
    fi
    printf '%s\n' "$looks"
}

# e2e_view N: instance N's {"current_node", "connected_nodes"}. By default its answer to
# GET / on its HTTP port, asked from the switch namespace as the platform's router would; for
# an instance started with E2E_VIEW=rpc (an app without that endpoint), e2e_rpc_view.
e2e_view() {
    if [[ $(cat "$E2E_DIR/instances/$1.view-via" 2>/dev/null) == rpc ]]; then
        e2e_rpc_view "$1"
        return
    fi
    foundation_exec switch curl -sS --fail --max-time 2 \
        "http://$(foundation_instance_ip "$1"):$E2E_HTTP_PORT/"
}

# e2e_rpc_view N: the same view taken by an rpc from a short-lived hidden BEAM inside instance
# N's namespace that does not listen (-dist_listen false), with the droplet's cookie file
# (HOME = the app dir), as an operator's `cf ssh` session would; when the instance runs TLS
# distribution, with the flags the launch step gives guest BEAMs (guest.args).
e2e_rpc_view() {
    local n=$1 root ip node guest=()
    root=$(e2e_instance_root "$n") || return 1
    ip=$(foundation_instance_ip "$n")
    node=$(cat "$root/tmp/erlang-cluster/node_name" 2>/dev/null) || return 1
    guest=(-dist_listen false -start_epmd false -erl_epmd_port "$E2E_DIST_PORT")
    # (Alone: a flag given twice, e.g. -erl_epmd_port, fails the dial.)
    [[ ! -f $root/tmp/erlang-cluster/tls_identity ]] ||
        guest=(-args_file "$root/tmp/erlang-cluster/guest.args")
    # shellcheck disable=SC2016 # Erlang code, not shell
    foundation_exec "$n" env HOME="$root/app" E2E_NODE="$node" erl -noshell -noinput \
        -name "e2e_probe_$RANDOM$BASHPID@$ip" -hidden "${guest[@]}" -eval '
            Node = list_to_atom(os:getenv("E2E_NODE")),
            case {rpc:call(Node, erlang, node, [], 5000), rpc:call(Node, erlang, nodes, [], 5000)} of
                {Self, Nodes} when is_atom(Self), is_list(Nodes) ->
                    Quoted = [[$", atom_to_list(N), $"] || N <- Nodes],
                    io:format("{\"current_node\": \"~s\", \"connected_nodes\": [~s]}~n",
                              [Self, lists:join(", ", Quoted)]),
                    halt(0);
                Error ->
                    io:format(standard_error, "rpc to ~s failed: ~p~n", [Node, Error]),
                    halt(1)
            end.'
}

# e2e_full_mesh N...: every listed instance answers, is named <basename>@<its IP>, and its
# connected_nodes are exactly the other listed instances' node names. Fails with status 1
# when an instance's answer is wrong, else with 2 when some instance did not answer (its name
# is then taken to be the others' basename @ its IP, so the rest are still judged).
e2e_full_mesh() {
    local n view ip basename='' silent=0
    local -A node_of=()
    for n in "$@"; do
        rm -f "$E2E_DIR/instances/$n.view"
        if ! view=$(e2e_view "$n" 2>/dev/null) ||
           ! node_of[$n]=$(jq -er '.current_node' <<<"$view"); then
            unset "node_of[$n]"
            silent=1
            continue
        fi
        ip=$(foundation_instance_ip "$n")
        [[ ${node_of[$n]} == *"@$ip" ]] || return 1
        basename=${node_of[$n]%@*}
        printf '%s\n' "$view" >"$E2E_DIR/instances/$n.view"
    done
    [[ -n $basename ]] || return 2
    for n in "$@"; do
        [[ -n ${node_of[$n]:-} ]] || node_of[$n]=$basename@$(foundation_instance_ip "$n")
    done
    local expected actual
    for n in "$@"; do
        [[ -f $E2E_DIR/instances/$n.view ]] || continue
        expected=$(for m in "$@"; do [[ $m == "$n" ]] || printf '%s\n' "${node_of[$m]}"; done | sort)
        actual=$(jq -r '.connected_nodes[]' "$E2E_DIR/instances/$n.view" | sort)
        [[ $actual == "$expected" ]] || return 1
    done
    return $((silent * 2))
}

# e2e_wait_full_mesh SECONDS N...: bounded wait for e2e_full_mesh; on timeout shows each
# instance's last view. Prints the seconds it took.
e2e_wait_full_mesh() {
    local limit=$1 start n
    shift
    start=$(foundation_now)
    if ! foundation_wait "$limit" "a full mesh of instances $*" e2e_full_mesh "$@"; then
        for n in "$@"; do
            printf 'instance %s: %s\n' "$n" "$(e2e_view "$n" 2>&1)" >&2
        done
        return 1
    fi
    foundation_elapsed "$start"
}

# --- Apps with an internal route, the DNS server, the agent's own view ---
#
#   e2e_stage_routed_app ROUTE [opts]    e2e_stage_sample_app with that VCAP_APPLICATION
#   e2e_start_routed_instance N [opts]   e2e_start_instance with the same route
#   e2e_ensure_routed_instances N...     start those not running, with the route
#   e2e_start_dns_server                 dnsmasq in the switch namespace, serving the records
#                                        of e2e_dns_publish; every instance resolves through it
#   e2e_stop_dns_server [SIGNAL]         stop it (default TERM) and wait for it to exit
#   e2e_dns_server_pid                   its PID
#   e2e_dns_publish NAME N...            NAME resolves to the addresses of instance slots
#                                        N... (running or not), nothing else
#   e2e_dns_answer N NAME                the A records of NAME as instance N resolves it
#   e2e_agent_status N                   instance N's heartbeat agent status.json
#   e2e_agent_status_matches N FILTER    that status satisfies the jq FILTER
#   e2e_agent_log N                      the path of instance N's log (app and agent output)
#   e2e_peer_dials N NODE                connection attempts instance N's agent made to NODE
#                                        since it was last connected (from its status)
#   e2e_instance_age N                   seconds since instance N's current run was launched
#   e2e_backoff_dial_limit SECONDS       the most dials of a dead peer backoff allows in SECONDS

# e2e_stage_routed_app ROUTE [cf-stage options]: stage the sample app (e2e_stage_sample_app)
# with ROUTE as its only route; later e2e_start_routed_instance calls use the same route.
e2e_stage_routed_app() {
    local route=$1
    shift
    printf '%s\n' "$route" >"$E2E_DIR/route"
    e2e_stage_sample_app --route "$route" "$@"
}

# e2e_start_routed_instance N [cf-launch options]: e2e_start_instance N for an app staged
# with e2e_stage_routed_app, its VCAP_APPLICATION carrying the same route.
e2e_start_routed_instance() {
    local n=$1 route
    shift
    route=$(cat "$E2E_DIR/route") || {
        e2e_fail "no route recorded: call e2e_stage_routed_app first"
        return 1
    }
    e2e_start_instance "$n" --route "$route" "$@"
}

# e2e_ensure_routed_instances N...: e2e_ensure_instances for a routed app.
e2e_ensure_routed_instances() {
    local n
    for n in "$@"; do
        e2e_instance_running "$n" || e2e_start_routed_instance "$n" || return 1
    done
}

e2e_dns_server_pid() {
    cat "$E2E_DIR/dns/pid" 2>/dev/null
}

_e2e_dns_server_running() {
    local pid
    pid=$(e2e_dns_server_pid) && [[ -n $pid ]] && ! foundation_process_gone "$pid"
}

_e2e_dns_server_listening() {
    foundation_exec switch ss -Hlun "src $FOUNDATION_SWITCH_IP:53" | grep -q .
}

# e2e_start_dns_server: start dnsmasq inside the switch namespace on $FOUNDATION_SWITCH_IP:53
# (no upstream, no /etc/hosts; records only from $E2E_DIR/dns/hosts, which e2e_dns_publish
# rewrites) and make every instance resolve through it, as the platform's DNS is each
# container's resolver. When it is already running it is only resumed (it may have been
# stopped with SIGSTOP by a test that failed half way).
e2e_start_dns_server() {
    mkdir -p "$E2E_DIR/dns"
    [[ -f $E2E_DIR/dns/hosts ]] || : >"$E2E_DIR/dns/hosts"
    if _e2e_dns_server_running; then
        kill -CONT "$(e2e_dns_server_pid)"
        return 0
    fi
    local pid
    pid=$(foundation_spawn switch "$E2E_DIR/dns/dnsmasq.log" dnsmasq --keep-in-foreground \
        --no-resolv --no-hosts --addn-hosts="$E2E_DIR/dns/hosts" \
        --listen-address="$FOUNDATION_SWITCH_IP" --bind-interfaces --pid-file= \
        --user=root) || return 1
    printf '%s\n' "$pid" >"$E2E_DIR/dns/pid"
    foundation_wait 10 "dnsmasq to listen on $FOUNDATION_SWITCH_IP:53" \
        _e2e_dns_server_listening || return 1
    foundation_set_resolver "$FOUNDATION_SWITCH_IP"
}

# e2e_stop_dns_server [SIGNAL]: send SIGNAL (default TERM) to dnsmasq and wait for it to exit.
e2e_stop_dns_server() {
    local pid
    pid=$(e2e_dns_server_pid) || return 0
    # It may have exited already; the wait below asserts that it is gone.
    kill -"${1:-TERM}" "$pid" 2>/dev/null || true
    foundation_wait 10 "dnsmasq ($pid) to exit" foundation_process_gone "$pid"
}

# e2e_dns_answer N NAME: the addresses of NAME's A records, sorted, as instance N resolves it
# (through its resolv.conf); fails when the name does not resolve.
e2e_dns_answer() {
    foundation_exec "$1" getent ahostsv4 "$2" | awk '$2 == "STREAM" { print $1 }' | sort
}

_e2e_dns_serves() {
    local n=$1 name=$2 expected=$3 answer
    answer=$(e2e_dns_answer "$n" "$name" 2>/dev/null) || answer=
    [[ $answer == "$expected" ]]
}

# e2e_dns_publish NAME N...: make NAME resolve to the addresses of instance slots N... and
# nothing else (none: NXDOMAIN), as the platform's DNS does when instances start and stop:
# rewrites the records file (atomically) and has dnsmasq reload it (SIGHUP). When the server
# runs and some instance exists, waits until that instance gets the new answer.
e2e_dns_publish() {
    local name=$1 n expected='' probe
    shift
    mkdir -p "$E2E_DIR/dns"
    for n in "$@"; do
        printf '%s %s\n' "$(foundation_instance_ip "$n")" "$name"
    done >"$E2E_DIR/dns/hosts.new"
    mv -f "$E2E_DIR/dns/hosts.new" "$E2E_DIR/dns/hosts"
    _e2e_dns_server_running || return 0
    kill -HUP "$(e2e_dns_server_pid)"
    probe=$(foundation_instances | head -n 1)
    [[ -n $probe ]] || return 0
    expected=$(for n in "$@"; do foundation_instance_ip "$n"; done | sort)
    foundation_wait 10 "instance $probe to resolve $name to: ${expected//$'\n'/ }" \
        _e2e_dns_serves "$probe" "$name" "$expected" || {
        e2e_fail "instance $probe resolves $name to: $(e2e_dns_answer "$probe" "$name" 2>&1 | tr '\n' ' ')"
        return 1
    }
}

# e2e_agent_status N: the heartbeat agent's status.json of instance N's current run.
e2e_agent_status() {
    local root
    root=$(e2e_instance_root "$1") || return 1
    cat "$root/tmp/erlang-cluster/status.json"
}

# e2e_agent_status_matches N FILTER: instance N's agent status satisfies the jq FILTER.
e2e_agent_status_matches() {
    e2e_agent_status "$1" | jq -e "$2" >/dev/null
}

# e2e_agent_log N: the log of instance N's current run (the app's and its heartbeat agent's
# output, as the platform collects it).
e2e_agent_log() {
    local root
    root=$(e2e_instance_root "$1") || return 1
    printf '%s\n' "$root.log"
}

# e2e_peer_dials N NODE: how many connection attempts instance N's agent has made to NODE
# since NODE was last connected (0 when the agent does not know NODE).
e2e_peer_dials() {
    e2e_agent_status "$1" |
        jq -er --arg node "$2" '[.peers[] | select(.name == $node) | .failed_attempts] | add // 0'
}

# e2e_instance_age N: seconds since instance N's current run was launched.
e2e_instance_age() {
    local pid
    pid=$(cat "$E2E_DIR/instances/$1.pid") || return 1
    ps -o etimes= -p "$pid" | tr -d ' '
}

# e2e_backoff_dial_limit SECONDS: the most dials of one unreachable peer that per-peer
# exponential backoff (1 s, doubling) allows in SECONDS: attempts at 0, 1, 3, 7, 15, ... s,
# so 1 + log2(SECONDS + 1), plus 2 for looks that fall either side of a boundary. Dialling at
# every look (once a second) would be about SECONDS.
e2e_backoff_dial_limit() {
    awk -v s="$1" 'BEGIN { print int(log(s + 1) / log(2)) + 3 }'
}
