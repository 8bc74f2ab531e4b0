# shellcheck shell=bash
# Helpers for agent.bats: a throwaway sandbox per test, the registry double, real BEAM nodes
# on loopback addresses 127.0.0.N (epmd-less, all on one per-test port) and agents started
# as the launch wrapper would start them. Every wait is a bounded poll, never a fixed sleep.

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
AGENT=${AGENT:-$REPO_ROOT/${ECB_BUILD_DIR:-build}/buildpack/bin/erlang-cluster-agent}
# shellcheck source=../support/registry/registry.bash
source "$REPO_ROOT/tests/support/registry/registry.bash"

declare -gA BEAM_PIDS=()
declare -gA AGENT_PIDS=()

agent_setup() {
  [[ -x "$AGENT" ]] || {
    echo "agent binary $AGENT missing: run make first" >&2
    return 1
  }
  SANDBOX=$BATS_TEST_TMPDIR
  export HOME=$SANDBOX/home
  mkdir -p "$HOME"
  # A fresh cookie per test, in the file the app node and the agent read (never on argv).
  COOKIE=cookie-$RANDOM$RANDOM$RANDOM
  printf '%s' "$COOKIE" >"$HOME/.erlang.cookie"
  chmod 400 "$HOME/.erlang.cookie"
  DIST_PORT=$((20000 + RANDOM % 20000))
  CLUSTER=chat
  CLIENT_ID=test-client
  CLIENT_SECRET=secret-$RANDOM$RANDOM
  export REGISTRY_DOUBLE_CLIENT_ID=$CLIENT_ID REGISTRY_DOUBLE_CLIENT_SECRET=$CLIENT_SECRET
  BEAM_PIDS=()
  AGENT_PIDS=()
  EPMD_PID=
}

agent_teardown() {
  local i
  for i in "${!AGENT_PIDS[@]}"; do
    kill -TERM "${AGENT_PIDS[$i]}" 2>/dev/null || true
  done
  for i in "${!AGENT_PIDS[@]}"; do
    wait_for_exit "${AGENT_PIDS[$i]}" 3 || kill -KILL "${AGENT_PIDS[$i]}" 2>/dev/null || true
  done
  for i in "${!BEAM_PIDS[@]}"; do
    kill -KILL "${BEAM_PIDS[$i]}" 2>/dev/null || true
  done
  if [[ -n "${EPMD_PID:-}" ]]; then
    kill -KILL "$EPMD_PID" 2>/dev/null || true
  fi
  registry_stop
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_until() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${limit}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.1
  done
}

# wait_for_exit PID SECONDS: true once PID is gone.
wait_for_exit() {
  local pid=$1 limit=$2
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.02
  done
}

port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# start_beam N [ERL_ARG...]: an app node app-like `chat@127.0.0.N`, epmd-less on DIST_PORT.
start_beam() {
  local n=$1 ip=127.0.0.$1
  erl -noshell -noinput -name "$CLUSTER@$ip" -erl_epmd_port "$DIST_PORT" -start_epmd false \
    -kernel inet_dist_use_interface "{127,0,0,$n}" "${@:2}" >"$SANDBOX/beam$n.log" 2>&1 &
  BEAM_PIDS[$n]=$!
  wait_until 20 port_open "$ip" "$DIST_PORT"
}

# start_beam_with_rex N ANSWER: an app node whose rpc server (the registered `rex`, which
# the agent's rpc calls go to) is replaced: every call's caller node is appended to
# $SANDBOX/rex$N.calls, and the call is answered {rex, ANSWER}, or never when ANSWER is
# `none` (a stalled node).
start_beam_with_rex() {
  local n=$1 answer=$2
  local calls=$SANDBOX/rex$n.calls
  start_beam "$n" -eval "
    Calls = \"$calls\",
    Serve = fun Loop() ->
      receive {From, {call, _, _, _, _}} when is_pid(From) ->
        ok = file:write_file(Calls, [atom_to_list(node(From)), \"\\n\"], [append]),
        case $answer of none -> ok; Answer -> From ! {rex, Answer} end
      end,
      Loop()
    end,
    true = unregister(rex),
    true = register(rex, spawn(Serve))."
}

# rex_calls_at_least N COUNT: the replaced rpc server of node N received COUNT calls.
rex_calls_at_least() {
  [[ -f $SANDBOX/rex$1.calls ]] && (($(wc -l <"$SANDBOX/rex$1.calls") >= $2))
}

# rex_callers_at_least N COUNT: COUNT different C nodes called it (each connection of the
# agent has a fresh name).
rex_callers_at_least() {
  [[ -f $SANDBOX/rex$1.calls ]] && (($(sort -u "$SANDBOX/rex$1.calls" | wc -l) >= $2))
}

# start_epmd PORT: a private epmd on 127.0.0.1-2 (ERL_EPMD_PORT=PORT points BEAMs and ei at it).
start_epmd() {
  epmd -port "$1" -address 127.0.0.1,127.0.0.2 >"$SANDBOX/epmd.log" 2>&1 &
  EPMD_PID=$!
  wait_until 10 port_open 127.0.0.2 "$1"
}

# nodes_of N: the node's nodes(), asked independently of the agent (erl_call reads the cookie
# from $HOME/.erlang.cookie).
nodes_of() {
  erl_call -address "127.0.0.$1:$DIST_PORT" -r -timeout 5 -a 'erlang nodes' 2>/dev/null
}

# connected N M: node N lists node M.
connected() {
  nodes_of "$1" | grep -q "'$CLUSTER@127.0.0.$2'"
}

# full_mesh N...: every listed node lists every other.
full_mesh() {
  local a b
  for a in "$@"; do
    for b in "$@"; do
      [[ "$a" == "$b" ]] || connected "$a" "$b" || return 1
    done
  done
}

# vcap_services URI [TOKEN_URL]: a Spring Cloud Services style binding of the double.
vcap_services() {
  local uri=$1 token_url=${2:-}
  if [[ -n "$token_url" ]]; then
    jq -nc --arg u "$uri" --arg t "$token_url" --arg id "$CLIENT_ID" --arg s "$CLIENT_SECRET" \
      '{"p.service-registry":[{name:"registry",label:"p.service-registry",tags:["eureka","discovery"],
        credentials:{uri:$u,client_id:$id,client_secret:$s,access_token_uri:$t}}]}'
  else
    jq -nc --arg u "$uri" \
      '{"user-provided":[{name:"registry",label:"user-provided",tags:["eureka"],credentials:{uri:$u}}]}'
  fi
}

# start_agent N [VAR=value...]: the agent of instance N, with VCAP_SERVICES from $VCAP
# (unless overridden), fast timers and the loopback peer network (the default excludes
# loopback; tests run instances at 127.0.0.N). Its run dir is $SANDBOX/run$N, its log agent$N.log.
start_agent() {
  local n=$1
  shift
  mkdir -p "$SANDBOX/run$n"
  env CF_INSTANCE_INTERNAL_IP="127.0.0.$n" CF_INSTANCE_GUID="guid-$n" CF_INSTANCE_INDEX="$n" \
    VCAP_APPLICATION="{\"application_name\":\"$CLUSTER\",\"application_id\":\"app-guid\",\"name\":\"$CLUSTER\"}" \
    VCAP_SERVICES="${VCAP:-}" \
    ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" ERLANG_CLUSTER_HEARTBEAT_INTERVAL=1 \
    ERLANG_CLUSTER_POLL_INTERVAL=2 ERLANG_CLUSTER_LOG_LEVEL=debug \
    ERLANG_CLUSTER_PEER_NETWORK=127.0.0.0/8 "$@" \
    "$AGENT" run --run-dir "$SANDBOX/run$n" --node-wait 30 >"$SANDBOX/agent$n.log" 2>&1 &
  AGENT_PIDS[$n]=$!
}

# The double's live instances of the cluster, one instanceId a line.
registered_ids() {
  registry_admin GET "/state?app=${CLUSTER^^}" | jq -r '.instances[].instanceId' | sort
}

registered() {
  registered_ids | grep -qx "127.0.0.$1:guid-$1"
}

not_registered() {
  ! registered "$1"
}

# requests_since SEQ: the double's request log after SEQ, one compact JSON object a line.
requests_since() {
  registry_admin GET "/requests?since=$1" | jq -c '.requests[]'
}

last_seq() {
  registry_admin GET "/requests?since=0" | jq '[.requests[].seq] | max // 0'
}

log_has() {
  grep -q -- "$2" "$SANDBOX/agent$1.log"
}

# refute COMMAND...: fails when COMMAND succeeds (a bare `!` does not fail a bats test).
refute() {
  if "$@"; then
    echo "expected to fail: $*" >&2
    return 1
  fi
}
