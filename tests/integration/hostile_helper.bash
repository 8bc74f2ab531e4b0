# shellcheck shell=bash
# Helpers for hostile.bats. One cluster serves the whole file (set up once, to keep the suite
# fast): the registry double on 127.0.0.1, a second double on 127.0.0.15 that stands for
# "another host" (it must never get a request), two app nodes on 127.0.0.12 and .13 with
# their agents, and a recorder inside app node 12 that notes every net_kernel:connect_node
# call, whoever makes it. Each test turns a fault on, checks what the agent did, turns it off
# and checks that the agent recovered and that the cluster is as it was (hostile_check_intact).
# shellcheck source=agent_helper.bash
source "$BATS_TEST_DIRNAME/agent_helper.bash"

HOSTILE_A=12 # the agent whose log each test reads
HOSTILE_B=13
ELSEWHERE_IP=127.0.0.15
HOSTILE_PEER_IP=127.0.0.19 # where the hostile instances claim to be; nothing listens there

hostile_setup_file() {
  [[ -x "$AGENT" ]] || {
    echo "agent binary $AGENT missing: run make first" >&2
    return 1
  }
  export SANDBOX=$BATS_FILE_TMPDIR
  export HOME=$SANDBOX/home
  mkdir -p "$HOME"
  export COOKIE=cookie-$RANDOM$RANDOM$RANDOM
  printf '%s' "$COOKIE" >"$HOME/.erlang.cookie"
  chmod 400 "$HOME/.erlang.cookie"
  export DIST_PORT=$((20000 + RANDOM % 20000))
  export CLUSTER=chat CLIENT_ID=test-client CLIENT_SECRET=secret-$RANDOM$RANDOM
  export REGISTRY_DOUBLE_CLIENT_ID=$CLIENT_ID REGISTRY_DOUBLE_CLIENT_SECRET=$CLIENT_SECRET

  registry_start "$SANDBOX/elsewhere" --host "$ELSEWHERE_IP"
  export ELSEWHERE_PID=$REGISTRY_PID ELSEWHERE_HTTP=$REGISTRY_HTTP ELSEWHERE_ADMIN=$REGISTRY_ADMIN
  registry_start "$SANDBOX/registry" --host 127.0.0.1
  export MAIN_REGISTRY_PID=$REGISTRY_PID
  export VCAP
  VCAP=$(vcap_services "$REGISTRY_HTTP" "$REGISTRY_TOKEN_URL")

  start_beam "$HOSTILE_A"
  start_beam "$HOSTILE_B"
  export BEAM_A_PID=${BEAM_PIDS[$HOSTILE_A]} BEAM_B_PID=${BEAM_PIDS[$HOSTILE_B]}
  install_connect_recorder "$HOSTILE_A"
  start_agent "$HOSTILE_A"
  start_agent "$HOSTILE_B"
  export AGENT_A_PID=${AGENT_PIDS[$HOSTILE_A]} AGENT_B_PID=${AGENT_PIDS[$HOSTILE_B]}
  wait_until 30 full_mesh "$HOSTILE_A" "$HOSTILE_B"
  wait_until 10 registered "$HOSTILE_A"
  wait_until 10 registered "$HOSTILE_B"
  wait_until 10 log_has "$HOSTILE_A" "peer joined: $CLUSTER@127.0.0.$HOSTILE_B"
}

hostile_teardown_file() {
  local pid
  for pid in "${AGENT_A_PID:-}" "${AGENT_B_PID:-}"; do
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    wait_for_exit "$pid" 3 || kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${BEAM_A_PID:-}" "${BEAM_B_PID:-}"; do
    [[ -z "$pid" ]] || kill -KILL "$pid" 2>/dev/null || true
  done
  REGISTRY_PID=${MAIN_REGISTRY_PID:-} registry_stop
  REGISTRY_PID=${ELSEWHERE_PID:-} registry_stop
}

# Per test: where the agent's log and the double's request log stand now (again when a test
# checks several faults in turn).
hostile_mark() {
  MARK_LINE=$(wc -l <"$SANDBOX/agent$HOSTILE_A.log")
  MARK_SEQ=$(last_seq)
}

hostile_setup() {
  MAIN_REGISTRY_ADMIN=$REGISTRY_ADMIN
  EXTRA_PIDS=()
  hostile_mark
}

# Per test: faults off whatever happened, and whatever the test started stopped, newest first
# (an agent before its app node).
hostile_teardown() {
  REGISTRY_ADMIN=$MAIN_REGISTRY_ADMIN registry_admin POST /config \
    '{"fault":"none","tokenFault":"none","faultMethods":"all"}' >/dev/null || true
  local i pid
  for ((i = ${#EXTRA_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${EXTRA_PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null || true
    wait_for_exit "$pid" 3 || kill -KILL "$pid" 2>/dev/null || true
  done
}

# The agent's log lines written since the test began; loud_log drops the debug ones.
new_log() {
  tail -n "+$((MARK_LINE + 1))" "$SANDBOX/agent$HOSTILE_A.log"
}

loud_log() {
  new_log | grep -v ': DEBUG: ' || true
}

# loud_count TEXT: how many non-debug lines since the test began contain TEXT.
loud_count() {
  loud_log | grep -cF -- "$1" || true
}

new_log_has() {
  new_log | grep -qF -- "$1"
}

# count_requests JQ-CONDITION: requests to the double since the test began that match.
count_requests() {
  requests_since "$MARK_SEQ" | jq -s "map(select($1)) | length"
}

# at_least N JQ-CONDITION: true once N such requests arrived.
at_least() {
  [ "$(count_requests "$2")" -ge "$1" ]
}

fault() {
  registry_admin POST /config "$1" >/dev/null
}

# install_connect_recorder N: a process in app node N that is told of every call to
# net_kernel:connect_node/1 on that node (call tracing), and keeps the target names.
install_connect_recorder() {
  erl_call -address "127.0.0.$1:$DIST_PORT" -r -timeout 5 -e >/dev/null <<'ERL'
Recorder = spawn(fun() ->
    Loop = fun L(Seen) ->
        receive
            {trace, _, call, {net_kernel, connect_node, [Node]}} -> L([Node | Seen]);
            {get, From} -> From ! {connects, lists:usort(Seen)}, L(Seen);
            _ -> L(Seen)
        end
    end,
    Loop([])
end),
true = register(connect_recorder, Recorder),
erlang:trace_pattern({net_kernel, connect_node, 1}, true, [global]),
erlang:trace(all, true, [call, {tracer, Recorder}]),
ok.
ERL
}

# connect_targets N: every node app node N was ever asked to connect to, one a line
# (erl_call -e prints {ok,Result}).
connect_targets() {
  local out
  out=$(erl_call -address "127.0.0.$1:$DIST_PORT" -r -timeout 5 -e <<'ERL'
connect_recorder ! {get, self()},
receive {connects, Nodes} -> Nodes after 3000 -> recorder_silent end.
ERL
  ) || return 1
  out=$(tr -d ' \n' <<<"$out")
  [[ "$out" == "{ok,["*"]}" ]] || { echo "connect recorder answered: $out" >&2; return 1; }
  out=${out#"{ok,["}
  out=${out%"]}"}
  tr -d "'" <<<"$out" | tr ',' '\n' | sed '/^$/d'
}

# admin_post PATH JSON-FILE: registry_admin POST with a body too large for argv.
admin_post() {
  curl -sS --fail-with-body --max-time 20 -X POST -H 'Content-Type: application/json' \
    --data-binary "@$2" "$REGISTRY_ADMIN$1"
}

# The end of every test: both agents run, app node A is connected to B and only to B, it was
# never asked to connect anywhere but B, the other host got no request at all, credentials
# went only where the binding says, and no secret is in the agents' logs.
hostile_check_intact() {
  kill -0 "$AGENT_A_PID" || { echo "agent $HOSTILE_A died" >&2; return 1; }
  kill -0 "$AGENT_B_PID" || { echo "agent $HOSTILE_B died" >&2; return 1; }
  local nodes targets
  nodes=$(nodes_of "$HOSTILE_A")
  [ "$nodes" = "['$CLUSTER@127.0.0.$HOSTILE_B']" ] || { echo "nodes() of $HOSTILE_A: $nodes" >&2; return 1; }
  targets=$(connect_targets "$HOSTILE_A") || return 1
  [ -z "$targets" ] || [ "$targets" = "$CLUSTER@127.0.0.$HOSTILE_B" ] ||
    { echo "app node $HOSTILE_A was asked to connect to: $targets" >&2; return 1; }
  elsewhere_untouched
  credentials_only_where_bound
  no_secret_in_logs
}

elsewhere_untouched() {
  local n
  n=$(REGISTRY_ADMIN=$ELSEWHERE_ADMIN registry_admin GET '/requests?since=0' | jq '.requests | length')
  [ "$n" -eq 0 ] || { echo "the other host got $n requests" >&2; return 1; }
}

# Basic credentials only to the token endpoint, bearer tokens only to Eureka paths.
credentials_only_where_bound() {
  local wrong
  wrong=$(requests_since 0 | jq -sc 'map(select((.auth == "basic" and .path != "/oauth/token")
      or (.auth == "bearer" and (.path | startswith("/eureka") | not)) or .auth == "other"))')
  [ "$wrong" = "[]" ] || { echo "credentials sent where they do not belong: $wrong" >&2; return 1; }
}

no_secret_in_logs() {
  local log token
  for log in "$SANDBOX"/agent*.log; do
    ! grep -qF -- "$COOKIE" "$log" || { echo "cookie in $log" >&2; return 1; }
    ! grep -qF -- "$CLIENT_SECRET" "$log" || { echo "client_secret in $log" >&2; return 1; }
    for token in $(registry_admin GET /tokens | jq -r '.tokens[]'); do
      ! grep -qF -- "$token" "$log" || { echo "an access token in $log" >&2; return 1; }
    done
  done
}

# Recovery: the agent says the registry works again, and renews and discovers again.
wait_recovered() {
  wait_until 20 new_log_has "registry reachable again"
  local seq
  seq=$(last_seq)
  wait_until 10 bash -c "$(declare -f registry_admin requests_since); REGISTRY_ADMIN=$REGISTRY_ADMIN
    requests_since $seq | jq -se 'map(select(.method == \"GET\" and .status == 200)) | length > 0' >/dev/null"
}

# hostile_instances: the instances of the "hostile names" test, as POST /_double/register
# takes them. Every one claims cluster chat and is UP.
hostile_instances() {
  jq -nc --arg port "$DIST_PORT" --arg ip "$HOSTILE_PEER_IP" --arg other "$ELSEWHERE_IP" "$(
    cat <<'JQ'
def inst($id; $ip; $name; $cluster): {instanceId: $id, hostName: $ip, app: "CHAT", ipAddr: $ip,
  status: "UP", port: {"$": ($port | tonumber), "@enabled": "true"},
  dataCenterInfo: {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", name: "MyOwn"},
  metadata: ({erlangCluster: $cluster} + (if $name == null then {} else {erlangNodeName: $name} end))};
{instances: [
  inst("h-squote"; $ip; "chat'x@" + $ip; "chat"),
  inst("h-dquote"; $ip; "chat\"x@" + $ip; "chat"),
  inst("h-space"; $ip; "chat x@" + $ip; "chat"),
  inst("h-newline"; $ip; "chat@" + $ip + "\nFORGED: WARN: injected"; "chat"),
  inst("h-escape"; $ip; "chat\u001b[2J@" + $ip; "chat"),
  inst("h-nul"; $ip; "chat@" + $ip + "\u0000evil"; "chat"),
  inst("h-otherhost"; $ip; "chat@" + $other; "chat"),
  inst("h-long"; $ip; "chat" + ("a" * 9990) + "@" + $ip; "chat"),
  inst("h-foreign"; $ip; "billing@" + $ip; "billing"),
  inst("h-nameless"; $ip; null; "chat")
]}
JQ
  )"
}

# many_instances COUNT PREFIX NAME-TEMPLATE [IP]: COUNT instances PREFIX-0... at IP (default
# HOSTILE_PEER_IP), node names from NAME-TEMPLATE with {i} replaced by the number.
many_instances() {
  jq -nc --argjson n "$1" --arg prefix "$2" --arg name "$3" --arg port "$DIST_PORT" --arg ip "${4:-$HOSTILE_PEER_IP}" '
    {instances: [range($n) | tostring as $i | {instanceId: ($prefix + "-" + $i), hostName: $ip, app: "CHAT",
      ipAddr: $ip, status: "UP", port: {"$": ($port | tonumber), "@enabled": "true"},
      dataCenterInfo: {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", name: "MyOwn"},
      metadata: {erlangCluster: "chat", erlangNodeName: ($name | gsub("\\{i\\}"; $i))}}]}'
}

# instance_ids: the instanceIds of a register body on stdin, as a deregister body.
instance_ids() {
  jq -c '{ids: [.instances[].instanceId]}'
}

# peak_rss_kb PID: the process's peak resident memory.
peak_rss_kb() {
  awk '/^VmHWM:/ {print $2}' "/proc/$1/status"
}

# flood_config COUNT PER_ANSWER: the double's flood (tests/support/registry/README.md) of
# COUNT made-up members of cluster chat, PER_ANSWER in each answer: a fifth outside the peer
# networks (TEST-NET-2, never dialled by anyone), a fifth under forged names at app node B's
# address (B answers the handshake, but with its own name), the rest at loopback addresses
# where nothing listens.
flood_config() {
  jq -nc --argjson n "$1" --argjson per "$2" --argjson port "$DIST_PORT" \
    --arg b "127.0.0.$HOSTILE_B" '{flood: {app: "CHAT", cluster: "chat", count: $n,
      perAnswer: $per, port: $port,
      addresses: ["127.100.{a}.{b}", "198.51.100.{b}", $b, "127.101.{a}.{b}", "127.102.{a}.{b}"]}}'
}

# flood_served_at_least N: the double has served N distinct made-up members.
flood_served_at_least() {
  [ "$(registry_admin GET /state | jq '.flood.served')" -ge "$1" ]
}

# atom_count N: erlang:system_info(atom_count) of app node N.
atom_count() {
  erl_call -address "127.0.0.$1:$DIST_PORT" -r -timeout 5 -a 'erlang system_info [atom_count]'
}

# The bounds' lines (peer_bounds.c), each of which a flood must bring out exactly once.
# shellcheck disable=SC2034 # read by hostile.bats and bench/hostile-registry
FLOOD_BOUND_LINES=(
  "(bound: ERLANG_CLUSTER_PEER_NETWORK"
  "(bound: 8 names per address)"
  "(bound: 1024 peers per answer)"
  "(bound: 1024 new peers per minute)"
)
