#!/usr/bin/env bats
# Secrets (the cookie, the registry binding's client_secret, the access tokens) stay where they
# belong: never in staging output, never in the agent's output (at debug level too), in no file
# of the droplet or the running instance but the cookie file, and on the command line of no
# process the buildpack starts (the wrapper's shell, `prepare`, the agent, the app's BEAM).
# The one documented exception: a Mix release's own script passes --cookie on argv.

load lifecycle_helper

REGISTRY_SUPPORT="$LIFECYCLE_REPO/tests/support/registry"
# shellcheck source=../support/registry/registry.bash
source "$REGISTRY_SUPPORT/registry.bash"

# Set once for the file (bats reads this file again for every test).
STAGED_COOKIE=${STAGED_COOKIE:-staged-Cookie-$$-$RANDOM$RANDOM}
CLIENT_SECRET=${CLIENT_SECRET:-client-Secret-$$-$RANDOM$RANDOM}

setup_file() {
    lifecycle_setup_file
    export STAGED_COOKIE CLIENT_SECRET REGISTRY_DOUBLE_CLIENT_ID=test-client
    export REGISTRY_DOUBLE_CLIENT_SECRET=$CLIENT_SECRET
    # The droplet of every test but the Mix release one: the erl-app staged with a cookie
    # of its own and a Eureka binding, at debug level.
    export SECRET_DROPLET="$BATS_FILE_TMPDIR/droplet"
    export STAGING_LOG="$BATS_FILE_TMPDIR/staging.log"
    registry_binding http://127.0.0.1:1 >"$BATS_FILE_TMPDIR/services.json"
    "$LIFECYCLE_SUPPORT/cf-stage" --app "$LIFECYCLE_REPO/tests/fixtures/erl-app" \
        --droplet "$SECRET_DROPLET" --app-name erl-app --buildpack "$LIFECYCLE_BP" \
        --buildpack "$LIFECYCLE_SUPPORT/final-buildpacks/compile-only" \
        --cache-root "$LIFECYCLE_CACHE/erl-app-compile-only" \
        --services-file "$BATS_FILE_TMPDIR/services.json" \
        --env "ERLANG_CLUSTER_COOKIE=$STAGED_COOKIE" --env ERLANG_CLUSTER_LOG_LEVEL=debug \
        >"$STAGING_LOG" 2>&1 || { cat "$STAGING_LOG" >&2; return 1; }
}

setup() {
    lifecycle_setup
}

teardown() {
    # Stops the registry double if this test started one (registry_stop does nothing when
    # none runs).
    REGISTRY_EXEC="ip netns exec ${LIFECYCLE_NS:-none}" registry_stop
    lifecycle_teardown
}

# registry_binding URI: VCAP_SERVICES with a Spring Cloud Services style registry binding.
registry_binding() {
    jq -nc --arg u "$1" --arg s "$CLIENT_SECRET" \
        '{"p.service-registry":[{name:"registry",label:"p.service-registry",tags:["eureka"],
          credentials:{uri:$u,client_id:"test-client",client_secret:$s,
                       access_token_uri:($u + "/oauth/token")}}]}'
}

# with_argv_recorder DROPLET: a copy of DROPLET whose agent binary is wrapped so that the
# arguments of every agent start (prepare, run) are kept in $ARGV_LOG. Sets DROPLET.
with_argv_recorder() {
    local copy="$BATS_TEST_TMPDIR/droplet-recorded" bin
    cp -a "$1" "$copy"
    bin=$(find "$copy/deps" -path '*/bin/erlang-cluster-agent' | head -n 1)
    [ -n "$bin" ]
    mv "$bin" "$bin.real"
    ARGV_LOG="$BATS_TEST_TMPDIR/agent-argv.log"
    : >"$ARGV_LOG"
    cat >"$bin" <<SHIM
#!/bin/bash
printf '%s ' "\$0" "\$@" >>'$ARGV_LOG'
printf '\n' >>'$ARGV_LOG'
exec "\$0.real" "\$@"
SHIM
    chmod 755 "$bin"
    DROPLET=$copy
}

# The command lines of every process in the test's namespace, one a line, NULs as spaces.
all_cmdlines() {
    local pid
    for pid in $(ip netns pids "$LIFECYCLE_NS"); do
        printf '%s: ' "$pid"
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true # it may exit meanwhile
        printf '\n'
    done
}

# secret_nowhere SECRET WHAT FILE...: fails naming the file that holds SECRET.
secret_nowhere() {
    local secret=$1 what=$2
    shift 2
    local hits
    hits=$(grep -rlF -- "$secret" "$@" 2>/dev/null || true)
    if [ -n "$hits" ]; then
        echo "$what found in: $hits" >&2
        return 1
    fi
}

registry_tokens() {
    REGISTRY_EXEC="ip netns exec $LIFECYCLE_NS" registry_admin GET /tokens | jq -r '.tokens[]'
}

registered_instances() {
    [ "$(REGISTRY_EXEC="ip netns exec $LIFECYCLE_NS" registry_admin GET /state | jq '.instances | length')" -ge 1 ]
}

two_tokens_issued() {
    [ "$(registry_tokens | wc -l)" -ge 2 ]
}

renewed_at_debug() {
    grep -q 'DEBUG: lease renewed' "$INSTANCE_LOG"
}

@test "staging output shows neither the cookie nor the client_secret, at debug level too" {
    secret_nowhere "$STAGED_COOKIE" cookie "$STAGING_LOG"
    secret_nowhere "$CLIENT_SECRET" client_secret "$STAGING_LOG"
    # It does say where the cookie came from.
    grep -q 'ERLANG_CLUSTER_COOKIE' "$STAGING_LOG"
}

@test "a generated cookie is not shown in staging output either" {
    droplet_for erl-app compile-only
    cookie=$(cat "$DROPLET/app/.erlang.cookie")
    [ "${#cookie}" -ge 20 ]
    secret_nowhere "$cookie" cookie "$BATS_RUN_TMPDIR/droplets/erl-app-compile-only.log"
}

@test "in the droplet only the cookie file holds the cookie (0400), and nothing holds the client_secret" {
    [ "$(stat -c %a "$SECRET_DROPLET/app/.erlang.cookie")" = 400 ]
    [ "$(cat "$SECRET_DROPLET/app/.erlang.cookie")" = "$STAGED_COOKIE" ]
    run grep -rlF -- "$STAGED_COOKIE" "$SECRET_DROPLET"
    [ "$output" = "$SECRET_DROPLET/app/.erlang.cookie" ]
    secret_nowhere "$CLIENT_SECRET" client_secret "$SECRET_DROPLET"
    config=$(find "$SECRET_DROPLET/deps" -name config.yml -path '*/deps/*')
    [ -n "$config" ]
    [ "$(stat -c %a "$config")" = 644 ]
}

@test "a running instance keeps the cookie, client_secret and tokens out of its files, debug output and every command line" {
    REGISTRY_EXEC="ip netns exec $LIFECYCLE_NS" registry_start "$BATS_TEST_TMPDIR/registry" \
        --host 127.0.0.1 --token-lifetime 3
    registry_binding "$REGISTRY_HTTP" >"$BATS_TEST_TMPDIR/services.json"
    with_argv_recorder "$SECRET_DROPLET"
    launch_instance web0 --ip 127.0.0.5 --app-name erl-app \
        --services-file "$BATS_TEST_TMPDIR/services.json" \
        --env ERLANG_CLUSTER_LOG_LEVEL=debug --env ERLANG_CLUSTER_HEARTBEAT_INTERVAL=1
    wait_for_node erl-app@127.0.0.5 "$STAGED_COOKIE"
    wait_until 20 registered_instances
    wait_until 20 renewed_at_debug
    # Tokens live 3 s: wait for a renewed one so the output had the chance to show several.
    wait_until 20 two_tokens_issued
    all_cmdlines >"$BATS_TEST_TMPDIR/cmdlines"
    grep -q 'erlang-cluster-agent.real run' "$BATS_TEST_TMPDIR/cmdlines"
    grep -q 'beam.smp' "$BATS_TEST_TMPDIR/cmdlines"
    grep -q ' prepare ' "$ARGV_LOG"
    grep -q ' run ' "$ARGV_LOG"

    local files=("$INSTANCE_LOG" "$ARGV_LOG" "$BATS_TEST_TMPDIR/cmdlines")
    secret_nowhere "$STAGED_COOKIE" cookie "${files[@]}"
    secret_nowhere "$CLIENT_SECRET" client_secret "${files[@]}" "$INSTANCE_ROOT"
    local token
    for token in $(registry_tokens); do
        secret_nowhere "$token" "an access token" "${files[@]}" "$INSTANCE_ROOT"
    done
    # The cookie only in the cookie file, whatever the agent and prepare wrote at run time.
    run grep -rlF -- "$STAGED_COOKIE" "$INSTANCE_ROOT"
    [ "$output" = "$INSTANCE_ROOT/app/.erlang.cookie" ]

    # Modes: the cookie file 0400, the run dir 0700, its env file 0600, no file of it
    # writable by others.
    local run_dir="$INSTANCE_ROOT/tmp/erlang-cluster"
    [ "$(stat -c %a "$INSTANCE_ROOT/app/.erlang.cookie")" = 400 ]
    [ "$(stat -c %a "$run_dir")" = 700 ]
    [ "$(stat -c %a "$run_dir/env.sh")" = 600 ]
    run find "$run_dir" -perm /022
    [ -z "$output" ]
}

@test "a relx release keeps the cookie and client_secret off every command line" {
    droplet_for relx-app compile-only
    local cookie
    cookie=$(cat "$DROPLET/app/.erlang.cookie")
    registry_binding http://127.0.0.1:1 >"$BATS_TEST_TMPDIR/services.json"
    with_argv_recorder "$DROPLET"
    launch_instance web0 --ip 127.0.0.9 --app-name relx-app \
        --services-file "$BATS_TEST_TMPDIR/services.json" --env ERLANG_CLUSTER_LOG_LEVEL=debug
    wait_for_node relx-app@127.0.0.9 "$cookie"
    wait_until 10 grep -q ' run ' "$ARGV_LOG"
    all_cmdlines >"$BATS_TEST_TMPDIR/cmdlines"
    # relx names its VM after the release: find it by its -name.
    grep -q -- '-name relx-app@127.0.0.9' "$BATS_TEST_TMPDIR/cmdlines"
    secret_nowhere "$cookie" cookie "$BATS_TEST_TMPDIR/cmdlines" "$ARGV_LOG" "$INSTANCE_LOG"
    secret_nowhere "$CLIENT_SECRET" client_secret "$BATS_TEST_TMPDIR/cmdlines" "$ARGV_LOG" \
        "$INSTANCE_LOG" "$INSTANCE_ROOT"
}

@test "with a Mix release only the release's own BEAM has the cookie on its command line" {
    droplet_for elixir-app compile-only
    local cookie
    cookie=$(cat "$DROPLET/app/.erlang.cookie")
    with_argv_recorder "$DROPLET"
    launch_instance web0 --ip 127.0.0.8 --port 8081 --app-name elixir-app \
        --start-command '_build/prod/rel/cluster_app/bin/cluster_app start' \
        --env ERLANG_CLUSTER_LOG_LEVEL=debug
    wait_for_node elixir-app@127.0.0.8 "$cookie"
    wait_until 10 grep -q ' run ' "$ARGV_LOG"
    all_cmdlines >"$BATS_TEST_TMPDIR/cmdlines"
    # Documented: the release script hands --cookie to its BEAM. Nothing else carries it.
    grep -F -- "$cookie" "$BATS_TEST_TMPDIR/cmdlines" | grep -q 'beam.smp'
    run bash -c "grep -F -- '$cookie' '$BATS_TEST_TMPDIR/cmdlines' | grep -v 'beam.smp'"
    [ -z "$output" ]
    secret_nowhere "$cookie" cookie "$ARGV_LOG" "$INSTANCE_LOG"
    # The env file that carries RELEASE_COOKIE is readable by the app's user only.
    [ "$(stat -c %a "$INSTANCE_ROOT/tmp/erlang-cluster/env.sh")" = 600 ]
}
