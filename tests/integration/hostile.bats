#!/usr/bin/env bats
# The heartbeat agent against a hostile or broken registry. In every case the agent keeps
# running, says what is wrong in one line (not once per poll), never hands a bad name to
# Erlang, sends credentials only to the hosts of the binding, and recovers once the server
# behaves again. The tests share one cluster (hostile_helper.bash) and run in order; each
# ends by checking that the cluster is as it was.
#
# Chosen behaviour for "a node name whose host is not the instance's ipAddr": refused. Every
# instance this buildpack registers is base@ipAddr; a name pointing elsewhere would make every
# node of the cluster dial an address that registered nothing (see eureka.c).

load hostile_helper

setup_file() {
  hostile_setup_file
}

teardown_file() {
  hostile_teardown_file
}

setup() {
  hostile_setup
}

teardown() {
  hostile_teardown
}

EUREKA_GET='.method == "GET" and (.path | startswith("/eureka/apps/CHAT"))'

@test "an answer far over the size cap is refused in one line, is never held in memory, and renewals go on" {
  rss_before=$(peak_rss_kb "$AGENT_A_PID")
  fault '{"fault":"oversize","faultMethods":["GET"],"oversizeBytes":67108864}'
  wait_until 15 new_log_has "answer larger than 4194304 bytes"
  wait_until 20 at_least 8 "$EUREKA_GET"
  [ "$(loud_count "answer larger than")" -eq 1 ]
  at_least 3 '.method == "PUT" and .status == 200'
  # 64 MiB were offered, eight times over; the agent stopped reading at the cap. (A sanitizer
  # build keeps freed memory in quarantine by design, so its peak says nothing here.)
  if ! objdump -p "$AGENT" | grep -q 'NEEDED.*libasan'; then
    [ $(($(peak_rss_kb "$AGENT_A_PID") - rss_before)) -lt 16384 ]
  fi
  fault '{"fault":"none","faultMethods":"all"}'
  wait_recovered
  hostile_check_intact
}

@test "a server that trickles its answer is cut off by the total timeout, and renewals keep their timer" {
  fault '{"fault":"trickle","faultMethods":["GET"],"trickleIntervalMs":100}'
  wait_until 20 new_log_has "timed out"
  wait_until 30 at_least 4 "$EUREKA_GET and .completed == false"
  own_renewal=".method == \"PUT\" and (.path | endswith(\"127.0.0.$HOSTILE_A:guid-$HOSTILE_A\")) and .status == 200"
  wait_until 30 at_least 3 "$own_renewal"
  [ "$(loud_count "timed out")" -eq 1 ]
  # The server never stops sending; the agent gives up after its 3 s call timeout.
  longest=$(requests_since "$MARK_SEQ" | jq -s "map(select($EUREKA_GET and .completed == false) | .durationMs) | max")
  [ "$longest" -le 4500 ]
  # Renewals of this instance went on meanwhile, never more than a heartbeat + a call apart.
  gaps=$(requests_since "$MARK_SEQ" | jq -s "
    def ms: (.[0:19] + \"Z\" | fromdate) * 1000 + (.[20:23] | tonumber);
    map(select($own_renewal) | .time | ms) | [range(1; length) as \$i | .[\$i] - .[\$i - 1]]")
  [ "$(jq 'length' <<<"$gaps")" -ge 2 ]
  [ "$(jq 'max' <<<"$gaps")" -lt 6000 ]
  [ "$(registry_admin GET '/state?app=CHAT' | jq --arg id "127.0.0.$HOSTILE_A:guid-$HOSTILE_A" \
    '.instances[] | select(.instanceId == $id) | ._lease.expired')" = false ]
  fault '{"fault":"none","faultMethods":"all"}'
  wait_recovered
  hostile_check_intact
}

@test "malformed, garbage and truncated JSON answers are refused in one line each, and the agent recovers" {
  for mode in malformed garbage truncated; do
    hostile_mark
    fault "{\"fault\":\"$mode\",\"faultMethods\":[\"GET\"]}"
    wait_until 15 new_log_has "registry answer is not JSON"
    wait_until 15 at_least 6 "$EUREKA_GET"
    [ "$(loud_count "registry answer is not JSON")" -eq 1 ] || { echo "fault $mode" >&2; false; }
    fault '{"fault":"none","faultMethods":"all"}'
    wait_recovered
  done
  hostile_check_intact
}

@test "instances with quotes, spaces, control characters, another host or 10,000 characters in their names are reported once and never dialled" {
  body=$(hostile_instances)
  registry_admin POST /register "$body" >/dev/null
  ids=$(jq -r '.instances[].instanceId' <<<"$body")
  all_reported() {
    local id
    for id in $ids; do new_log_has "ignoring registry instance $id " || return 1; done
  }
  wait_until 15 all_reported
  wait_until 20 at_least 8 "$EUREKA_GET and .status == 200"
  for id in $ids; do
    [ "$(loud_count "ignoring registry instance $id ")" -eq 1 ] || { echo "$id not reported exactly once" >&2; false; }
  done
  loud_log | grep -F "ignoring registry instance h-otherhost " | grep -q "ipAddr"
  loud_log | grep -F "ignoring registry instance h-nul " | grep -qF "chat@$HOSTILE_PEER_IP?evil"
  # Nothing from a name reached the log as a line or an escape sequence of its own.
  refute grep -q '^FORGED' "$SANDBOX/agent$HOSTILE_A.log"
  refute grep -q $'\e' "$SANDBOX/agent$HOSTILE_A.log"
  registry_admin POST /deregister "$(instance_ids <<<"$body")" >/dev/null
  hostile_check_intact
}

@test "an instance claiming this node's own name is reported once and never dialled" {
  # A stale entry of an earlier container at this address, as CF reuses addresses.
  body=$(many_instances 1 stale "$CLUSTER@127.0.0.$HOSTILE_A" "127.0.0.$HOSTILE_A")
  registry_admin POST /register "$body" >/dev/null
  wait_until 15 new_log_has "claims this node's own name"
  wait_until 20 at_least 8 "$EUREKA_GET and .status == 200"
  [ "$(loud_count "claims this node's own name")" -eq 1 ]
  registered "$HOSTILE_A"
  registry_admin POST /deregister "$(instance_ids <<<"$body")" >/dev/null
  hostile_check_intact
}

@test "10,000 instances overflow the answer cap: one line, the known peer stays, and the agent recovers" {
  many_instances 10000 many "$CLUSTER-{i}@$HOSTILE_PEER_IP" >"$BATS_TEST_TMPDIR/many.json"
  admin_post /register "$BATS_TEST_TMPDIR/many.json" >/dev/null
  wait_until 20 new_log_has "answer larger than 4194304 bytes"
  wait_until 30 at_least 6 "$EUREKA_GET"
  [ "$(loud_count "answer larger than")" -eq 1 ]
  instance_ids <"$BATS_TEST_TMPDIR/many.json" >"$BATS_TEST_TMPDIR/ids.json"
  admin_post /deregister "$BATS_TEST_TMPDIR/ids.json" >/dev/null
  wait_recovered
  hostile_check_intact
}

@test "2,000 instances with invalid names are listed ten at most and summed up once, not once per poll" {
  many_instances 2000 bad "bad name {i}@$HOSTILE_PEER_IP" >"$BATS_TEST_TMPDIR/bad.json"
  admin_post /register "$BATS_TEST_TMPDIR/bad.json" >/dev/null
  wait_until 20 new_log_has "only the first 10 are listed"
  wait_until 30 at_least 8 "$EUREKA_GET and .status == 200"
  [ "$(loud_count "ignoring registry instance ")" -eq 10 ]
  [ "$(loud_count "ignoring 2000 registry instances")" -eq 1 ]
  [ "$(loud_count "only the first 10 are listed")" -eq 1 ]
  instance_ids <"$BATS_TEST_TMPDIR/bad.json" >"$BATS_TEST_TMPDIR/ids.json"
  admin_post /deregister "$BATS_TEST_TMPDIR/ids.json" >/dev/null
  hostile_check_intact
}

@test "a registry listing 100,000 made-up members: no atom and no dial for any, each bound said once, the mesh stays" {
  # The full five-minute run with CPU and memory is bench/hostile-registry (make bench-hostile).
  atoms_a=$(atom_count "$HOSTILE_A")
  atoms_b=$(atom_count "$HOSTILE_B")
  fault "$(flood_config 100000 2500)"
  wait_until 120 flood_served_at_least 100000
  local line
  for line in "${FLOOD_BOUND_LINES[@]}"; do
    [ "$(loud_count "$line")" -eq 1 ] || { echo "not said exactly once: $line" >&2; false; }
  done
  # Forged names at B's address reached B, which gave its own name: refused by the agent.
  # Unverified names are taken in turns, 1,024 new ones a minute: theirs may come in a later
  # minute's turn.
  wait_until 120 new_log_has "'s address calls itself $CLUSTER@127.0.0.$HOSTILE_B"
  kill -0 "$BEAM_A_PID"
  kill -0 "$BEAM_B_PID"
  # At most the agents' eight probe names (plus erl_call's own) in either VM: not one per
  # listed name.
  local grown_a grown_b
  grown_a=$(($(atom_count "$HOSTILE_A") - atoms_a))
  grown_b=$(($(atom_count "$HOSTILE_B") - atoms_b))
  echo "atoms grown: A $grown_a, B $grown_b" >&3
  [ "$grown_a" -le 12 ]
  [ "$grown_b" -le 12 ]
  fault '{"flood":null}'
  hostile_check_intact
}

@test "a redirect to another host is not followed: that host gets no request, least of all credentials" {
  fault "$(jq -nc --arg to "$ELSEWHERE_HTTP" '{fault: "redirect", redirectTo: $to}')"
  wait_until 15 new_log_has "redirects are not followed"
  wait_until 15 at_least 6 '(.path | startswith("/eureka")) and .status == 307'
  [ "$(loud_count "redirects are not followed")" -eq 1 ]
  loud_log | grep -F "redirects are not followed" | grep -qF "redirecting to $ELSEWHERE_HTTP/eureka/apps/CHAT"
  elsewhere_untouched
  fault '{"fault":"none"}'
  wait_recovered
  # The token endpoint redirects: the client secret must not follow.
  hostile_mark
  fault '{"tokenFault":"redirect"}'
  registry_admin POST /expire-tokens >/dev/null
  wait_until 15 new_log_has "token request failed"
  wait_until 15 at_least 3 '.path == "/oauth/token" and .status == 307'
  [ "$(loud_count "redirects are not followed")" -eq 1 ]
  loud_log | grep -F "token request failed" | grep -qF "redirecting to $ELSEWHERE_HTTP/oauth/token"
  fault '{"tokenFault":"none"}'
  wait_recovered
  hostile_check_intact
}

@test "a token endpoint answering 401, 500 or garbage is reported in one line each, and a good token ends it" {
  for mode in 401 500 garbage; do
    case $mode in
      401) expect="token request answered HTTP 401 (client_id/client_secret of the binding rejected)" ;;
      500) expect="token request answered HTTP 500" ;;
      garbage) expect="token endpoint answer is not a JSON object" ;;
    esac
    hostile_mark
    fault "{\"tokenFault\":\"$mode\"}"
    registry_admin POST /expire-tokens >/dev/null
    wait_until 15 new_log_has "$expect"
    wait_until 15 at_least 4 '.path == "/oauth/token"'
    [ "$(loud_count "registry unreachable")" -eq 1 ] || { echo "token fault $mode" >&2; false; }
    [ "$(loud_count "$expect")" -eq 1 ]
    fault '{"tokenFault":"none"}'
    wait_recovered
  done
  hostile_check_intact
}

# tls_case BAD-CERTS GOOD-CERTS TRUST-DIR TEXT: agent 14 (its own app node and registry) is
# bound to an HTTPS registry that presents BAD-CERTS' certificate, trusting TRUST-DIR. It must
# refuse in one line containing TEXT, send nothing through, stay up, and register once the
# registry comes back on the same port with GOOD-CERTS' certificate.
tls_case() {
  local bad=$1 good=$2 trust=$3 text=$4 n=14 port
  registry_start "$SANDBOX/tls-registry-$BATS_TEST_NUMBER" --host 127.0.0.1 --tls-dir "$bad"
  EXTRA_PIDS+=("$REGISTRY_PID")
  port=${REGISTRY_HTTPS##*:}
  start_beam "$n"
  EXTRA_PIDS+=("${BEAM_PIDS[$n]}")
  VCAP=$(vcap_services "$REGISTRY_HTTPS" "$REGISTRY_TOKEN_URL_HTTPS") start_agent "$n" \
    CF_SYSTEM_CERT_PATH="$trust"
  EXTRA_PIDS+=("${AGENT_PIDS[$n]}")
  local log=$SANDBOX/agent$n.log
  wait_until 15 log_has "$n" "TLS certificate not trusted"
  wait_until 15 bash -c "[ \$(grep -c 'DEBUG: .*TLS certificate not trusted' '$log') -ge 3 ]"
  [ "$(grep -v ': DEBUG: ' "$log" | grep -c "TLS certificate not trusted")" -eq 1 ]
  grep -v ': DEBUG: ' "$log" | grep "TLS certificate not trusted" | grep -qF "$text"
  # No request got past the handshake, so no credentials went out.
  [ "$(registry_admin GET '/requests?since=0' | jq '.requests | length')" -eq 0 ]
  kill -0 "${AGENT_PIDS[$n]}"
  registry_stop
  registry_start "$SANDBOX/tls-registry-$BATS_TEST_NUMBER-good" --host 127.0.0.1 \
    --tls-dir "$good" --https-port "$port"
  EXTRA_PIDS+=("$REGISTRY_PID")
  wait_until 20 registered "$n"
  wait_until 10 log_has "$n" "registry reachable again"
  [ "$(requests_since 0 | jq -rs 'map(.listener) | unique | join(",")')" = https ]
  refute grep -qF -- "$CLIENT_SECRET" "$log"
  export REGISTRY_ADMIN=$MAIN_REGISTRY_ADMIN
}

@test "an expired registry certificate is refused in one line, and a valid one ends it" {
  certs=$SANDBOX/certs-$BATS_TEST_NUMBER
  "$REPO_ROOT/tests/support/registry/make-certs.sh" --expired "$certs/expired" >/dev/null 2>&1
  "$REPO_ROOT/tests/support/registry/make-certs.sh" "$certs/good" >/dev/null 2>&1
  mkdir -p "$certs/trust"
  cp "$certs/expired/ca.pem" "$certs/trust/expired-ca.crt"
  cp "$certs/good/ca.pem" "$certs/trust/good-ca.crt"
  tls_case "$certs/expired" "$certs/good" "$certs/trust" "certificate has expired"
  hostile_check_intact
}

@test "a registry certificate from another CA is refused in one line, and the right one ends it" {
  certs=$SANDBOX/certs-$BATS_TEST_NUMBER
  "$REPO_ROOT/tests/support/registry/make-certs.sh" "$certs/other-ca" >/dev/null 2>&1
  "$REPO_ROOT/tests/support/registry/make-certs.sh" "$certs/good" >/dev/null 2>&1
  mkdir -p "$certs/trust"
  cp "$certs/good/ca.pem" "$certs/trust/good-ca.crt"
  tls_case "$certs/other-ca" "$certs/good" "$certs/trust" "https://127.0.0.1:"
  hostile_check_intact
}

# Last in the file: it restarts instance B (its agent and app node), which the later tests'
# checks would not know of.
@test "made-up names a neighbour keeps listed before the real instances do not keep a restarted instance out of the mesh" {
  # 1,100 fixed names, more than the 1,024 an answer passes, listed first in every answer and
  # never answering a handshake (nothing listens at 127.100-101.x.x). The agents verify only
  # real peers, so neither the new agent of B (which takes the listed names in turns) nor A
  # (whose remembered names do not count) is kept from the real instance for long.
  fault "$(jq -nc --argjson port "$DIST_PORT" '{flood: {app: "CHAT", cluster: "chat", count: 1100,
    perAnswer: 1100, port: $port, fixed: true, first: true,
    addresses: ["127.100.{a}.{b}", "127.101.{a}.{b}"]}}')"
  wait_until 20 flood_served_at_least 1100
  kill -TERM "$AGENT_B_PID"
  wait_for_exit "$AGENT_B_PID" 10
  kill -KILL "$BEAM_B_PID"
  wait_for_exit "$BEAM_B_PID" 10
  start_beam "$HOSTILE_B"
  EXTRA_PIDS+=("${BEAM_PIDS[$HOSTILE_B]}")
  start_agent "$HOSTILE_B"
  EXTRA_PIDS+=("${AGENT_PIDS[$HOSTILE_B]}")
  # The rate bound passes 1,024 new names a minute: one turn over all listed names takes
  # at most two minutes' windows.
  wait_until 150 full_mesh "$HOSTILE_A" "$HOSTILE_B"
  # B's new agent had the made-up names in its answers (A may have dialled B first).
  wait_until 30 grep -qF "(bound: 1024 peers per answer)" "$SANDBOX/agent$HOSTILE_B.log"
  [ "$(grep -cF "(bound: 1024 peers per answer)" "$SANDBOX/agent$HOSTILE_B.log")" -eq 1 ]
  [ "$(grep -cF "flood" <<<"$(connect_targets "$HOSTILE_A")")" -eq 0 ]
  AGENT_B_PID=${AGENT_PIDS[$HOSTILE_B]} BEAM_B_PID=${BEAM_PIDS[$HOSTILE_B]}
  fault '{"flood":null}'
  hostile_check_intact
}
