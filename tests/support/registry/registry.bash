# shellcheck shell=bash
# Helpers for shell-level tests that need the registry double. Source this file, then:
#   registry_start DIR [server.js options...]   start it, wait (bounded) for the ready line
#   registry_admin METHOD PATH [JSON]           call the admin API, print the JSON answer
#   registry_stop                               SIGTERM it and wait (bounded) for the exit
# registry_start sets REGISTRY_PID, REGISTRY_HTTP, REGISTRY_HTTPS, REGISTRY_EUREKA,
# REGISTRY_EUREKA_HTTPS, REGISTRY_TOKEN_URL, REGISTRY_TOKEN_URL_HTTPS, REGISTRY_ADMIN
# (empty when that listener is off). DIR receives ready.json and stderr.log.
# Set REGISTRY_EXEC to a command prefix (e.g. "ip netns exec ns1") to start it elsewhere;
# REGISTRY_START_TIMEOUT (seconds, default 10) bounds the wait.

REGISTRY_DOUBLE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

registry_start() {
  local dir=$1
  shift
  mkdir -p "$dir"
  : >"$dir/ready.json"
  local -a prefix=()
  if [[ -n "${REGISTRY_EXEC:-}" ]]; then
    read -r -a prefix <<<"$REGISTRY_EXEC"
  fi
  "${prefix[@]}" node "$REGISTRY_DOUBLE_DIR/server.js" "$@" >"$dir/ready.json" 2>"$dir/stderr.log" &
  REGISTRY_PID=$!
  local deadline=$((SECONDS + ${REGISTRY_START_TIMEOUT:-10}))
  until [[ -s "$dir/ready.json" ]] && grep -q '"event":"ready"' "$dir/ready.json"; do
    if ! kill -0 "$REGISTRY_PID" 2>/dev/null; then
      echo "registry double exited before it was ready: $(cat "$dir/stderr.log")" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "registry double not ready within ${REGISTRY_START_TIMEOUT:-10}s: $(cat "$dir/stderr.log")" >&2
      kill -TERM "$REGISTRY_PID" 2>/dev/null || true
      return 1
    fi
    sleep 0.05
  done
  local line
  line=$(head -n 1 "$dir/ready.json")
  REGISTRY_HTTP=$(jq -r '.http // empty' <<<"$line")
  REGISTRY_HTTPS=$(jq -r '.https // empty' <<<"$line")
  REGISTRY_EUREKA=$(jq -r '.eureka // empty' <<<"$line")
  REGISTRY_EUREKA_HTTPS=$(jq -r '.eureka_https // empty' <<<"$line")
  REGISTRY_TOKEN_URL=$(jq -r '.token_url // empty' <<<"$line")
  REGISTRY_TOKEN_URL_HTTPS=$(jq -r '.token_url_https // empty' <<<"$line")
  REGISTRY_ADMIN=$(jq -r '.admin' <<<"$line")
  export REGISTRY_PID REGISTRY_HTTP REGISTRY_HTTPS REGISTRY_EUREKA REGISTRY_EUREKA_HTTPS \
    REGISTRY_TOKEN_URL REGISTRY_TOKEN_URL_HTTPS REGISTRY_ADMIN
}

registry_admin() {
  local method=$1 path=$2 body=${3:-}
  local -a prefix=()
  if [[ -n "${REGISTRY_EXEC:-}" ]]; then
    read -r -a prefix <<<"$REGISTRY_EXEC"
  fi
  local -a args=(-sS --fail-with-body --max-time 5 -X "$method")
  if [[ -n "$body" ]]; then
    args+=(-H 'Content-Type: application/json' --data "$body")
  fi
  "${prefix[@]}" curl "${args[@]}" "$REGISTRY_ADMIN$path"
}

registry_stop() {
  [[ -n "${REGISTRY_PID:-}" ]] || return 0
  kill -TERM "$REGISTRY_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while kill -0 "$REGISTRY_PID" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "registry double (pid $REGISTRY_PID) did not exit within 5s of SIGTERM" >&2
      kill -KILL "$REGISTRY_PID" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
  wait "$REGISTRY_PID" 2>/dev/null || true
  REGISTRY_PID=
}
