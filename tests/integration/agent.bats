#!/usr/bin/env bats
# The heartbeat agent end to end: the registry double, real BEAM nodes on 127.0.0.N, and
# the agent binary, as the launch wrapper starts it in each instance.

load agent_helper

setup() {
  agent_setup
}

teardown() {
  agent_teardown
}

start_registry() {
  registry_start "$SANDBOX/registry" --host 127.0.0.1 "$@"
  VCAP=$(vcap_services "$REGISTRY_HTTP" "$REGISTRY_TOKEN_URL")
}

@test "two instances register and form a mesh through the registry" {
  start_registry
  start_beam 2
  start_beam 3
  start_agent 2
  start_agent 3
  wait_until 20 full_mesh 2 3
  wait_until 10 registered 2
  wait_until 10 registered 3
  log_has 2 "registered with the eureka registry as 127.0.0.2:guid-2"
  wait_until 5 log_has 2 "peer joined: $CLUSTER@127.0.0.3"
  # Every Eureka call carried a valid bearer token and was accepted (200 or 204), but for
  # 404 to a discovery made before any instance was registered: the agents discover while
  # their app nodes start, and Eureka answers 404 for an app with no instances yet.
  run bash -c "$(declare -f registry_admin); REGISTRY_ADMIN=$REGISTRY_ADMIN registry_admin GET '/requests?since=0' \
    | jq -r '.requests[] | select(.path|startswith(\"/eureka\")) | \"\\(.auth) \\(.tokenValid) \\(.method) \\(.status)\"' | sort -u"
  [ "$status" -eq 0 ]
  [ "$(grep -vxF 'bearer true GET 404' <<<"$output" | cut -d' ' -f1,2,4 | sort -u)" = "$(printf 'bearer true 200\nbearer true 204')" ]
}

@test "the registration is complete and lets peers filter and connect" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  run bash -c "$(declare -f registry_admin); REGISTRY_ADMIN=$REGISTRY_ADMIN registry_admin GET '/state?app=CHAT' | jq -c '.instances[0]'"
  [ "$status" -eq 0 ]
  inst=$output
  [ "$(jq -r .hostName <<<"$inst")" = 127.0.0.2 ]
  [ "$(jq -r .ipAddr <<<"$inst")" = 127.0.0.2 ]
  [ "$(jq -r .app <<<"$inst")" = CHAT ]
  [ "$(jq -r .status <<<"$inst")" = UP ]
  [ "$(jq -r '.port["$"]' <<<"$inst")" = "$DIST_PORT" ]
  [ "$(jq -r '.dataCenterInfo.name' <<<"$inst")" = MyOwn ]
  [ "$(jq -r '.metadata.erlangNodeName' <<<"$inst")" = "$CLUSTER@127.0.0.2" ]
  [ "$(jq -r '.metadata.erlangCluster' <<<"$inst")" = "$CLUSTER" ]
  [ "$(jq -r '.metadata.erlangDistMode' <<<"$inst")" = epmd-less ]
  [ "$(jq -r '.metadata.cfAppGuid' <<<"$inst")" = app-guid ]
  [ "$(jq -r '.metadata.cfInstanceIndex' <<<"$inst")" = 2 ]
  [ "$(jq -r '.metadata.instanceId' <<<"$inst")" = guid-2 ]
}

@test "a third-party Eureka client (eureka-js-client) reads back what the agents registered" {
  start_registry
  start_beam 2
  start_beam 3
  start_agent 2
  start_agent 3
  wait_until 20 registered 2
  wait_until 20 registered 3
  run env TOKEN_URL="$REGISTRY_TOKEN_URL" \
    node "$BATS_TEST_DIRNAME/../support/registry/js-client-view.js" "$REGISTRY_EUREKA" CHAT
  [ "$status" -eq 0 ]
  [ "$(jq 'length' <<<"$output")" -eq 2 ]
  [ "$(jq -r '[.[] | .metadata.erlangNodeName] | sort | join(",")' <<<"$output")" = \
    "$CLUSTER@127.0.0.2,$CLUSTER@127.0.0.3" ]
  [ "$(jq -r '[.[] | .instanceId] | sort | join(",")' <<<"$output")" = "127.0.0.2:guid-2,127.0.0.3:guid-3" ]
  [ "$(jq -r '[.[] | "\(.status) \(.ipAddr == .hostName)"] | unique | join(",")' <<<"$output")" = "UP true" ]
  [ "$(jq -r '[.[] | .port["$"] | tostring] | unique | join(",")' <<<"$output")" = "$DIST_PORT" ]
}

@test "instances mesh through an old registry that answers single instances as objects" {
  start_registry --single-object
  start_beam 2
  start_beam 3
  start_agent 2
  wait_until 20 registered 2
  # Alone, the answer is the bare object of its own instance: a good answer, no peers.
  discovered() { jq -e '.last_discovery_at != null' "$SANDBOX/run2/status.json" >/dev/null; }
  wait_until 10 discovered
  start_agent 3
  wait_until 20 full_mesh 2 3
  wait_until 10 log_has 2 "peer joined: $CLUSTER@127.0.0.3"
  wait_until 10 log_has 3 "peer joined: $CLUSTER@127.0.0.2"
  refute log_has 2 "registry unreachable"
}

@test "three instances form a full mesh" {
  start_registry
  for n in 2 3 4; do start_beam "$n"; done
  for n in 2 3 4; do start_agent "$n"; done
  wait_until 30 full_mesh 2 3 4
}

@test "no secret reaches the log" {
  start_registry
  start_beam 2
  start_beam 3
  start_agent 2
  start_agent 3
  wait_until 20 full_mesh 2 3
  kill -TERM "${AGENT_PIDS[2]}"
  wait_for_exit "${AGENT_PIDS[2]}" 3
  refute grep -qF -- "$COOKIE" "$SANDBOX/agent2.log"
  refute grep -qF -- "$CLIENT_SECRET" "$SANDBOX/agent2.log"
  refute grep -qi -- "bearer " "$SANDBOX/agent2.log"
  # nor the process arguments
  refute grep -qF -- "$COOKIE" "/proc/${AGENT_PIDS[3]}/cmdline"
}

@test "a renewal answered 404 makes the agent register again" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  registry_admin POST /drop-leases >/dev/null
  wait_until 10 registered 2
  log_has 2 "renewal answered 404"
  [ "$(grep -c "registered with the eureka registry" "$SANDBOX/agent2.log")" -ge 2 ]
}

@test "an expired token mid-run is replaced and the call retried" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  seq=$(last_seq)
  registry_admin POST /expire-tokens >/dev/null
  # A 401 on a Eureka call, then a new token, then accepted calls again.
  got_401_then_recovered() {
    local log
    log=$(requests_since "$seq")
    jq -se 'map(select(.status == 401)) | length > 0' <<<"$log" >/dev/null &&
      jq -se '(map(select(.status == 401)) | first | .seq) as $s
              | map(select(.seq > $s and .path == "/oauth/token" and .status == 200)) | length > 0' <<<"$log" >/dev/null &&
      jq -se '(map(select(.path == "/oauth/token" and .seq > '"$seq"')) | last | .seq) as $t
              | map(select(.seq > $t and (.path|startswith("/eureka")) and .status < 300 and .tokenValid)) | length > 0' <<<"$log" >/dev/null
  }
  wait_until 15 got_401_then_recovered
  refute log_has 2 "registry unreachable"
  registered 2
}

@test "short-lived tokens are renewed before they expire" {
  start_registry --token-lifetime 3
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  three_tokens() {
    [ "$(requests_since 0 | jq -s 'map(select(.path == "/oauth/token" and .status == 200)) | length')" -ge 3 ]
  }
  wait_until 20 three_tokens
  [ "$(requests_since 0 | jq -s 'map(select((.path|startswith("/eureka")) and .status == 401)) | length')" -eq 0 ]
}

@test "OAuth2 credentials over plain http:// are warned about once, naming the binding" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  log_has 2 'WARN: registry binding "registry": the OAuth2 client secret and access tokens go over plain http://'
  [ "$(grep -c 'plain http://' "$SANDBOX/agent2.log")" -eq 1 ]
}

@test "a registry bound without OAuth keys is used without a token" {
  start_registry --auth off
  VCAP=$(vcap_services "$REGISTRY_HTTP")
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  [ "$(requests_since 0 | jq -s 'map(select(.path == "/oauth/token")) | length')" -eq 0 ]
  [ "$(requests_since 0 | jq -rs 'map(.auth) | unique | join(",")')" = none ]
  refute log_has 2 'plain http://' # no credentials to carry
}

@test "HTTPS to the registry works with the platform's CA certificates" {
  "$REPO_ROOT/tests/support/registry/make-certs.sh" "$SANDBOX/tls" >/dev/null 2>&1
  mkdir -p "$SANDBOX/cf-certs"
  cp "$SANDBOX/tls/ca.pem" "$SANDBOX/cf-certs/trusted-ca-1.crt"
  start_registry --tls-dir "$SANDBOX/tls"
  VCAP=$(vcap_services "$REGISTRY_HTTPS" "$REGISTRY_TOKEN_URL_HTTPS")
  start_beam 2
  start_agent 2 CF_SYSTEM_CERT_PATH="$SANDBOX/cf-certs"
  wait_until 20 registered 2
  [ "$(requests_since 0 | jq -rs 'map(select(.path|startswith("/eureka")) | .listener) | unique | join(",")')" = https ]
}

@test "a registry certificate from an unknown CA is refused with the reason" {
  "$REPO_ROOT/tests/support/registry/make-certs.sh" "$SANDBOX/tls" >/dev/null 2>&1
  "$REPO_ROOT/tests/support/registry/make-certs.sh" "$SANDBOX/other" >/dev/null 2>&1
  mkdir -p "$SANDBOX/cf-certs"
  cp "$SANDBOX/other/ca.pem" "$SANDBOX/cf-certs/trusted-ca-1.crt"
  start_registry --tls-dir "$SANDBOX/tls"
  VCAP=$(vcap_services "$REGISTRY_HTTPS" "$REGISTRY_TOKEN_URL_HTTPS")
  start_beam 2
  start_agent 2 CF_SYSTEM_CERT_PATH="$SANDBOX/cf-certs"
  wait_until 20 log_has 2 "TLS certificate not trusted"
  grep "TLS certificate not trusted" "$SANDBOX/agent2.log" | grep -q "https://127.0.0.1:"
  [ "$(requests_since 0 | jq -s 'map(select(.listener == "https")) | length')" -eq 0 ]
  not_registered 2
}

@test "SIGTERM deregisters within one second" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  start_ns=$(date +%s%N)
  kill -TERM "${AGENT_PIDS[2]}"
  wait_for_exit "${AGENT_PIDS[2]}" 3
  elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
  echo "agent exited ${elapsed_ms} ms after SIGTERM" >&3
  [ "$elapsed_ms" -lt 1000 ]
  not_registered 2
  [ "$(requests_since 0 | jq -s 'map(select(.method == "DELETE" and .status == 200)) | length')" -eq 1 ]
  log_has 2 "deregistered from the eureka registry (SIGTERM)"
}

@test "SIGTERM deregisters within one second while an rpc to a stalled app node waits" {
  start_registry
  start_beam_with_rex 2 none
  start_agent 2
  wait_until 20 registered 2
  # The agent's nodes() call has reached the node, which will never answer it.
  wait_until 10 rex_calls_at_least 2 1
  start_ns=$(date +%s%N)
  kill -TERM "${AGENT_PIDS[2]}"
  wait_for_exit "${AGENT_PIDS[2]}" 3
  elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
  echo "agent exited ${elapsed_ms} ms after SIGTERM" >&3
  [ "$elapsed_ms" -lt 1000 ]
  not_registered 2
  log_has 2 "deregistered from the eureka registry (SIGTERM)"
}

@test "an rpc answer that does not decode closes the connection, and the agent connects afresh" {
  start_registry
  start_beam_with_rex 2 not_a_list
  start_agent 2
  wait_until 20 log_has 2 "answered something other than a list"
  # Each connection has a fresh C node name: a second caller means the first was closed.
  wait_until 10 rex_callers_at_least 2 2
  kill -0 "${AGENT_PIDS[2]}"
}

@test "the agent deregisters and exits when the app node dies" {
  start_registry
  start_beam 2
  start_beam 3
  start_agent 2
  start_agent 3
  wait_until 20 full_mesh 2 3
  # the survivor's agent has seen the peer, so it can tell when it goes
  wait_until 10 log_has 3 "peer joined: $CLUSTER@127.0.0.2"
  kill -KILL "${BEAM_PIDS[2]}"
  wait_for_exit "${AGENT_PIDS[2]}" 5
  not_registered 2
  log_has 2 "app node $CLUSTER@127.0.0.2 is gone"
  log_has 2 "deregistered"
  # The survivor notices, keeps running and stays registered.
  wait_until 10 log_has 3 "peer lost: $CLUSTER@127.0.0.2"
  kill -0 "${AGENT_PIDS[3]}"
  registered 3
}

@test "a peer that drops its connection is connected again" {
  start_registry
  # Without auto-connect no message between the nodes (global's, say) can bring the
  # connection back: only an agent's explicit connect can.
  start_beam 2 -kernel dist_auto_connect never
  start_beam 3 -kernel dist_auto_connect never
  start_agent 2
  start_agent 3
  wait_until 20 full_mesh 2 3
  # Both agents have seen the connection: one that never saw it up would dial the peer again
  # as a newcomer, without a loss to report.
  wait_until 10 log_has 2 "peer joined: $CLUSTER@127.0.0.3"
  wait_until 10 log_has 3 "peer joined: $CLUSTER@127.0.0.2"
  erl_call -address "127.0.0.2:$DIST_PORT" -r -timeout 5 -a "erlang disconnect_node ['$CLUSTER@127.0.0.3']" >/dev/null
  wait_until 15 full_mesh 2 3
  # so one of them saw the loss
  log_has 2 "peer lost: $CLUSTER@127.0.0.3" || log_has 3 "peer lost: $CLUSTER@127.0.0.2"
}

@test "a dead instance left in the registry is retried with growing backoff, not every second" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  # An instance of the cluster whose node does not exist (as a dead one stays listed).
  body=$(jq -nc --arg p "$DIST_PORT" '{instance:{instanceId:"127.0.0.9:dead",hostName:"127.0.0.9",app:"CHAT",
    ipAddr:"127.0.0.9",status:"UP",port:{"$":($p|tonumber),"@enabled":"true"},
    dataCenterInfo:{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",name:"MyOwn"},
    metadata:{erlangNodeName:"chat@127.0.0.9",erlangCluster:"chat"}}}')
  token=$(curl -sS --max-time 5 -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$REGISTRY_TOKEN_URL" | jq -r .access_token)
  curl -sS --fail --max-time 5 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data "$body" "$REGISTRY_EUREKA/apps/CHAT"
  # Each attempt is the agent's own handshake; a peer that never completes it is never
  # dialled by the app node.
  wait_until 15 bash -c "[ \$(grep -c 'checking $CLUSTER@127.0.0.9 before the app node may connect to it' '$SANDBOX/agent2.log') -ge 4 ]"
  # Backoff 1, 2, 4, 8 s...: about 5 attempts in 20 s, not 20.
  started=$SECONDS
  wait_until 30 bash -c "[ \$(grep -c 'checking $CLUSTER@127.0.0.9 before the app node may connect to it' '$SANDBOX/agent2.log') -ge 5 ]"
  [ "$((SECONDS - started))" -ge 4 ]
  refute grep -q "asking $CLUSTER@127.0.0.2 to connect to $CLUSTER@127.0.0.9" "$SANDBOX/agent2.log"
  run "$AGENT" status --run-dir "$SANDBOX/run2"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$CLUSTER@127.0.0.9"*"not connected ("*"attempts, retrying every"* ]]
}

@test "the name claim is handed to guest flags once the app node is up" {
  start_registry
  mkdir -p "$SANDBOX/run2"
  echo "-name $CLUSTER@127.0.0.2" >"$SANDBOX/run2/node.args"
  echo "-dist_listen false" >"$SANDBOX/run2/guest.args"
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  [ "$(cat "$SANDBOX/run2/node.args")" = "-dist_listen false" ]
  [ "$(cat "$SANDBOX/run2/guest.args")" = "-dist_listen false" ]
}

@test "status prints the running agent's view" {
  start_registry
  start_beam 2
  start_beam 3
  start_agent 2
  start_agent 3
  wait_until 20 full_mesh 2 3
  meshed() { "$AGENT" status --run-dir "$SANDBOX/run2" | grep -q "1 connected of 1 wanted"; }
  wait_until 10 meshed
  run "$AGENT" status --run-dir "$SANDBOX/run2"
  [ "$status" -eq 0 ]
  [[ "$output" == *"agent:        running"* ]]
  [[ "$output" == *"mode:         eureka"* ]]
  [[ "$output" == *"registration: registered as 127.0.0.2:guid-2"* ]]
  [[ "$output" == *"$CLUSTER@127.0.0.3"*"connected"* ]]
  run "$AGENT" status --run-dir "$SANDBOX/run2" --json
  [ "$(jq -r .peers_connected <<<"$output")" = 1 ]
}

@test "status without a running agent says so" {
  run "$AGENT" status --run-dir "$SANDBOX/nowhere"
  [ "$status" -eq 1 ]
  [[ "$output" == *"no agent status here"* ]]
}

@test "a second agent in the same container leaves the first alone" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  run env CF_INSTANCE_INTERNAL_IP=127.0.0.2 CF_INSTANCE_GUID=guid-2 VCAP_SERVICES="$VCAP" \
    ERLANG_CLUSTER_PEER_NETWORK=127.0.0.0/8 VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" \
    "$AGENT" run --run-dir "$SANDBOX/run2"
  [ "$status" -eq 0 ]
  [[ "$output" == *"another agent already runs"* ]]
  kill -0 "${AGENT_PIDS[2]}"
}

@test "static peers mesh without a registry" {
  start_beam 2
  start_beam 3
  VCAP=
  start_agent 2 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS=127.0.0.2,127.0.0.3
  start_agent 3 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.2"
  wait_until 20 full_mesh 2 3
}

@test "the agent gives up when the app node never comes up, and says so" {
  start_registry
  mkdir -p "$SANDBOX/run2"
  env CF_INSTANCE_INTERNAL_IP=127.0.0.2 CF_INSTANCE_GUID=guid-2 VCAP_SERVICES="$VCAP" \
    ERLANG_CLUSTER_PEER_NETWORK=127.0.0.0/8 VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" \
    "$AGENT" run --run-dir "$SANDBOX/run2" --node-wait 2 >"$SANDBOX/agent2.log" 2>&1 && rc=0 || rc=$?
  [ "$rc" -eq 1 ]
  log_has 2 "did not come up within 2 s"
  not_registered 2
}

@test "run holds an existing run dir to prepare's checks: its own directory, mode 0700" {
  run_agent_in() {
    env CF_INSTANCE_INTERNAL_IP=127.0.0.2 CF_INSTANCE_GUID=guid-2 \
      VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DISCOVERY=none \
      ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" "$AGENT" run --run-dir "$1" --node-wait 1
  }
  mkdir -p "$SANDBOX/elsewhere" "$SANDBOX/theirs"
  ln -s "$SANDBOX/elsewhere" "$SANDBOX/linked"
  run run_agent_in "$SANDBOX/linked"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the run dir $SANDBOX/linked is not a directory owned by this user"* ]]
  [ ! -e "$SANDBOX/elsewhere/agent.lock" ]
  chown nobody "$SANDBOX/theirs"
  run run_agent_in "$SANDBOX/theirs"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the run dir $SANDBOX/theirs is not a directory owned by this user"* ]]
  [ ! -e "$SANDBOX/theirs/agent.lock" ]
  # A directory of ours with a wider mode is narrowed, as prepare does; the agent then goes on
  # (and gives up on the app node that is not there).
  mkdir -m 0755 "$SANDBOX/wide"
  run run_agent_in "$SANDBOX/wide"
  [ "$status" -eq 1 ]
  [[ "$output" == *"did not come up within 1 s"* ]]
  [ "$(stat -c %a "$SANDBOX/wide")" = 700 ]
}

@test "while the start command runs (a long pre-step) the agent waits past --node-wait, and stops once it ended" {
  start_registry
  mkdir -p "$SANDBOX/run2"
  # The launcher's shell running a migration: claim_owner records it as prepare does.
  sleep 4 &
  local owner=$! stat
  stat=$(cat "/proc/$owner/stat")
  stat=${stat##*) }
  printf '%s %s\n' "$owner" "$(cut -d' ' -f20 <<<"$stat")" >"$SANDBOX/run2/claim_owner"
  env CF_INSTANCE_INTERNAL_IP=127.0.0.2 CF_INSTANCE_GUID=guid-2 VCAP_SERVICES="$VCAP" \
    VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" \
    timeout 30 "$AGENT" run --run-dir "$SANDBOX/run2" --node-wait 1 >"$SANDBOX/agent2.log" 2>&1 && rc=0 || rc=$?
  [ "$rc" -eq 0 ]
  log_has 2 "is not up after 1 s, but the start command still runs"
  log_has 2 "the start command ended before the app node came up"
  run grep -c "did not come up within" "$SANDBOX/agent2.log"
  [ "$output" = 0 ]
  not_registered 2
}

@test "a wrong cookie is reported clearly" {
  start_registry
  start_beam 2
  printf 'another-cookie' >"$SANDBOX/wrong.cookie"
  mkdir -p "$SANDBOX/run2"
  env CF_INSTANCE_INTERNAL_IP=127.0.0.2 CF_INSTANCE_GUID=guid-2 VCAP_SERVICES="$VCAP" \
    ERLANG_CLUSTER_PEER_NETWORK=127.0.0.0/8 VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" \
    "$AGENT" run --run-dir "$SANDBOX/run2" --node-wait 2 --cookie-file "$SANDBOX/wrong.cookie" \
    >"$SANDBOX/agent2.log" 2>&1 && rc=0 || rc=$?
  [ "$rc" -eq 1 ]
  log_has 2 "wrong cookie"
  refute grep -qF another-cookie "$SANDBOX/agent2.log"
}

@test "--help lists every ERLANG_CLUSTER_ variable the configuration reads" {
  run "$AGENT" --help
  [ "$status" -eq 0 ]
  vars=$(grep -ho '"ERLANG_CLUSTER_[A-Z_]*"' "$REPO_ROOT"/src/common/config*.c | tr -d '"' | sort -u)
  [ "$(wc -l <<<"$vars")" -ge 17 ]
  for v in $vars; do
    [[ "$output" == *"$v "* ]] || { echo "missing $v" >&2; false; }
  done
}

@test "--help gives each setting the default the buildpack's manifest.yml has" {
  run "$AGENT" --help
  [ "$status" -eq 0 ]
  defaults=$(sed -n '/^defaults:/,/^[^ ]/s/^  \(ERLANG_CLUSTER_[A-Z_]*\): "\{0,1\}\([^"]*\)"\{0,1\}$/\1 \2/p' \
    "$REPO_ROOT/manifest.yml")
  [ "$(wc -l <<<"$defaults")" -ge 10 ]
  while read -r var value; do
    grep -E "^  $var +.*\(default $value\)$" <<<"$output" >/dev/null ||
      { echo "$var: --help does not say (default $value)" >&2; false; }
  done <<<"$defaults"
}

@test "a long run through re-registrations, token renewals and reconnects leaks no memory" {
  # The shipped build runs under valgrind; a sanitizer build (make test-sanitize) cannot, and
  # checks itself: LeakSanitizer reports at exit and makes the exit status non-zero.
  if objdump -p "$AGENT" | grep -q 'NEEDED.*libasan'; then
    leak_check=(env ASAN_OPTIONS=detect_leaks=1:exitcode=99 "LSAN_OPTIONS=log_path=$SANDBOX/valgrind.log")
  else
    command -v valgrind >/dev/null || { echo "valgrind is required (tests/support/install-deps)" >&2; false; }
    leak_check=(valgrind --leak-check=full '--show-leak-kinds=definite,indirect'
      '--errors-for-leak-kinds=definite,indirect' --error-exitcode=99 --log-file="$SANDBOX/valgrind.log")
  fi
  start_registry --token-lifetime 3
  start_beam 2
  start_beam 3
  mkdir -p "$SANDBOX/run2"
  env CF_INSTANCE_INTERNAL_IP=127.0.0.2 CF_INSTANCE_GUID=guid-2 VCAP_SERVICES="$VCAP" \
    ERLANG_CLUSTER_PEER_NETWORK=127.0.0.0/8 VCAP_APPLICATION='{"application_name":"chat","name":"chat"}' ERLANG_CLUSTER_DIST_PORT="$DIST_PORT" \
    ERLANG_CLUSTER_HEARTBEAT_INTERVAL=1 ERLANG_CLUSTER_LOG_LEVEL=debug \
    "${leak_check[@]}" "$AGENT" run --run-dir "$SANDBOX/run2" >"$SANDBOX/agent2.log" 2>&1 &
  AGENT_PIDS[2]=$!
  start_agent 3
  wait_until 60 full_mesh 2 3
  wait_until 30 registered 2
  for round in 1 2 3 4 5; do
    target=$(($(grep -c "lease renewed" "$SANDBOX/agent2.log" || true) + 4))
    wait_until 30 bash -c "[ \$(grep -c 'lease renewed' '$SANDBOX/agent2.log') -ge $target ]"
    registry_admin POST /drop-leases >/dev/null
    erl_call -address "127.0.0.2:$DIST_PORT" -r -timeout 5 -a "erlang disconnect_node ['$CLUSTER@127.0.0.3']" >/dev/null
    wait_until 30 full_mesh 2 3
    echo "round $round done" >&3
  done
  [ "$(grep -c "registered with the eureka registry" "$SANDBOX/agent2.log")" -ge 5 ]
  [ "$(requests_since 0 | jq -s 'map(select(.path == "/oauth/token" and .status == 200)) | length')" -ge 3 ]
  kill -TERM "${AGENT_PIDS[2]}"
  rc=0
  wait "${AGENT_PIDS[2]}" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$SANDBOX"/valgrind.log* >&2; false; }
  [ "${leak_check[0]}" = env ] || grep -q "definitely lost: 0 bytes" "$SANDBOX/valgrind.log" ||
    grep -q "All heap blocks were freed" "$SANDBOX/valgrind.log"
}

@test "in epmd mode the agent finds the app node through epmd" {
  epmd_port=$((40000 + RANDOM % 20000))
  start_epmd "$epmd_port"
  start_registry
  ERL_EPMD_PORT=$epmd_port erl -noshell -noinput -name "$CLUSTER@127.0.0.2" \
    -kernel inet_dist_listen_min "$DIST_PORT" inet_dist_listen_max "$DIST_PORT" \
    -kernel inet_dist_use_interface "{127,0,0,2}" >"$SANDBOX/beam2.log" 2>&1 &
  BEAM_PIDS[2]=$!
  start_agent 2 ERL_EPMD_PORT="$epmd_port" ERLANG_CLUSTER_EPMD=true
  wait_until 20 registered 2
  [ "$(registry_admin GET '/state?app=CHAT' | jq -r '.instances[0].metadata.erlangDistMode')" = epmd ]
  "$AGENT" status --run-dir "$SANDBOX/run2" | grep -q "node:         $CLUSTER@127.0.0.2 (up)"
  kill -TERM "${AGENT_PIDS[2]}"
  wait_for_exit "${AGENT_PIDS[2]}" 3
}

# rejections N: how many handshakes node N's BEAM has refused. It logs a report for each one,
# and early in its life sometimes prints the same report twice (once more with CRLF line ends,
# the same microsecond timestamp), so the distinct reports are counted, not the lines.
rejections() {
  grep -B1 'rejected. Invalid challenge reply' "$SANDBOX/beam$1.log" | tr -d '\r' |
    grep '^=ERROR REPORT====' | sort -u | wc -l
}

@test "a peer with another cookie is reported once, shown in status and not dialled again soon" {
  start_beam 2
  # Node 3: same cluster name and port, another cookie (another droplet generation).
  erl -noshell -noinput -name "$CLUSTER@127.0.0.3" -setcookie other-generation-cookie \
    -erl_epmd_port "$DIST_PORT" -start_epmd false -kernel inet_dist_use_interface '{127,0,0,3}' \
    >"$SANDBOX/beam3.log" 2>&1 &
  BEAM_PIDS[3]=$!
  wait_until 20 port_open 127.0.0.3 "$DIST_PORT"
  VCAP=
  start_agent 2 ERLANG_CLUSTER_DISCOVERY=static ERLANG_CLUSTER_PEERS="$CLUSTER@127.0.0.3"
  wait_until 20 log_has 2 "$CLUSTER@127.0.0.3 refused the handshake: a different cookie"
  refused_in_status() {
    "$AGENT" status --run-dir "$SANDBOX/run2" | grep -qF "$CLUSTER@127.0.0.3 refused the handshake: a different cookie; retrying every 600 s"
  }
  wait_until 5 refused_in_status
  # The app node's connect_node and the agent's own probe: two refusals, then quiet.
  [ "$(rejections 3)" -le 2 ]
  local until=$((SECONDS + 8))
  while ((SECONDS < until)); do
    [ "$(rejections 3)" -le 2 ]
    sleep 0.5 # sampling the peer's log over the window
  done
  [ "$(grep -c 'refused the handshake' "$SANDBOX/agent2.log")" -eq 1 ]
  run "$AGENT" status --run-dir "$SANDBOX/run2" --json
  [ "$(jq -r '.peers[] | select(.name == "chat@127.0.0.3") | .cookie_refused' <<<"$output")" = true ]
  refute connected 2 3
}

@test "an app node under another name and cookie is dialled rarely, and the agent says why once" {
  # As a release that sets its own RELEASE_NODE and RELEASE_COOKIE runs it: on our port,
  # under its own name and cookie.
  erl -noshell -noinput -name "app@127.0.0.2" -setcookie release-cookie \
    -erl_epmd_port "$DIST_PORT" -start_epmd false -kernel inet_dist_use_interface '{127,0,0,2}' \
    >"$SANDBOX/beam2.log" 2>&1 &
  BEAM_PIDS[2]=$!
  wait_until 20 port_open 127.0.0.2 "$DIST_PORT"
  VCAP=
  start_agent 2 ERLANG_CLUSTER_DISCOVERY=none
  wait_until 10 log_has 2 "the app's node runs as app@127.0.0.2 with another cookie"
  # Each attempt is a report in the app's log: a few in 20 s, not thousands.
  local until=$((SECONDS + 20))
  while ((SECONDS < until)); do
    [ "$(rejections 2)" -le 5 ]
    sleep 0.5 # sampling the node's log over the window
  done
  [ "$(rejections 2)" -ge 2 ] # it does keep trying
  [ "$(grep -c 'refuses the agent' "$SANDBOX/agent2.log")" -eq 1 ]
  log_has 2 "RELEASE_NODE / RELEASE_COOKIE"
  log_has 2 "ERLANG_CLUSTER_START_STYLE=mix-release"
  run "$AGENT" status --run-dir "$SANDBOX/run2"
  [[ "$output" == *"agent:        refused-by-node"* ]]
  [[ "$output" == *"last error:   app node $CLUSTER@127.0.0.2 refuses the agent: the app's node runs as app@127.0.0.2 with another cookie"* ]]
  # The refusing node goes, the app's own node comes: the agent is back to its fast wait,
  # not asleep in its backoff.
  kill -KILL "${BEAM_PIDS[2]}"
  port_closed() { ! port_open 127.0.0.2 "$DIST_PORT"; }
  wait_until 10 port_closed
  start_beam 2
  wait_until 3 log_has 2 "app node $CLUSTER@127.0.0.2 is up"
}

@test "status drops a start-up error once the app node is up" {
  VCAP=
  start_agent 2 ERLANG_CLUSTER_DISCOVERY=none
  has_startup_error() { "$AGENT" status --run-dir "$SANDBOX/run2" 2>/dev/null | grep -q "last error:.*cannot connect to app node"; }
  wait_until 10 has_startup_error
  start_beam 2
  node_up() { "$AGENT" status --run-dir "$SANDBOX/run2" | grep -q "(up)"; }
  wait_until 20 node_up
  run "$AGENT" status --run-dir "$SANDBOX/run2"
  [ "$status" -eq 0 ]
  [[ "$output" != *"last error"* ]]
  run "$AGENT" status --run-dir "$SANDBOX/run2" --json
  [ "$(jq -r .last_error <<<"$output")" = null ]
}

@test "peers are discovered while the app node starts, so they are dialled as soon as it is up" {
  start_registry
  start_beam 2
  start_agent 2
  wait_until 20 registered 2
  start_agent 3
  # Node 3 is not up yet: its agent already knows node 2, and has not registered itself.
  knows_peer_before_up() {
    jq -e --arg peer "$CLUSTER@127.0.0.2" '.node_up == false and any(.peers[]; .name == $peer and .wanted)' \
      "$SANDBOX/run3/status.json" >/dev/null 2>&1
  }
  wait_until 10 knows_peer_before_up
  not_registered 3
  start_beam 3
  wait_until 20 full_mesh 2 3
  wait_until 10 registered 3
}
