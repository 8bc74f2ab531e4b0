#!/usr/bin/env bats
# bin/supply BUILD_DIR CACHE_DIR DEPS_DIR IDX: what staging writes, what it reports, and how
# it refuses bad input.

load test_helper

setup() {
    sandbox_setup
}

registry_binding() {
    # $1: binding name, $2: client secret
    printf '{"name":"%s","label":"p.service-registry","tags":["eureka","discovery"],"credentials":{"uri":"https://eureka-%s.example.com","client_id":"p-client","client_secret":"%s","access_token_uri":"https://uaa.example.com/oauth/token"}}' "$1" "$1" "$2"
}

@test "stages the agent, library, vm.args, config.yml, both wrappers and the cookie with their modes" {
    stage
    [ "$status" -eq 0 ]
    run droplet_listing
    [ "$status" -eq 0 ]
    [[ "$output" == *"400 app/.erlang.cookie"* ]]
    [[ "$output" == *"644 app/.profile.d/erlang-cluster.sh"* ]]
    [[ "$output" == *"755 contents/deps/0/bin/erlang-cluster-agent"* ]]
    [[ "$output" == *"644 contents/deps/0/lib/libcjson.so.1"* ]]
    [[ "$output" == *"644 contents/deps/0/vm.args"* ]]
    [[ "$output" == *"644 contents/deps/0/config.yml"* ]]
    [[ "$output" == *"644 contents/deps/0/profile.d/erlang-cluster.sh"* ]]
    # Nothing outside our own index, app/.profile.d and the cookie.
    [ "$(grep -vcE ' (app/.erlang.cookie|app/.profile.d/erlang-cluster.sh|app/mix.exs|contents/deps/0/.*)$' <<<"$output")" -eq 0 ]
    cmp "$BUILDPACK/bin/erlang-cluster-agent" "$DEPS/0/bin/erlang-cluster-agent"
    "$DEPS/0/bin/erlang-cluster-agent" --version
}

@test "reports version, discovery, node name, distribution, cookie source and the network policy" {
    stage
    [ "$status" -eq 0 ]
    version=$(cat "$REPO_ROOT/VERSION")
    [ "${lines[0]}" = "-----> Erlang cluster buildpack $version" ]
    [[ "$output" == *"       Discovery: none, because no Eureka registry is bound"* ]]
    [[ "$output" == *"cf bind-service shop REGISTRY"* ]]
    [[ "$output" == *'       Node name: shop@$CF_INSTANCE_INTERNAL_IP (cluster shop; process types: web)'* ]]
    [[ "$output" == *"       Distribution: epmd-less on port 9001, clear text (ERLANG_CLUSTER_TLS=false from buildpack default); net_ticktime 60 s"* ]]
    [[ "$output" == *"       Cookie: generated: first staging, or the build cache was cleared"* ]]
    [ "${lines[-1]}" = "       cf add-network-policy shop shop --protocol tcp --port 9001" ]
    [ "$(grep -c '^-----> ' <<<"$output")" -eq 2 ]
    # Every other line is an indented detail.
    [ "$(grep -cvE '^(-----> |       )' <<<"$output")" -eq 0 ]
}

@test "epmd mode pins the listen port and asks for policies on 4369 and the port" {
    export ERLANG_CLUSTER_EPMD=true ERLANG_CLUSTER_DIST_PORT=9100
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"Distribution: epmd on port 4369, node on port 9100"* ]]
    [[ "$output" == *"cf add-network-policy shop shop --protocol tcp --port 4369"* ]]
    [[ "$output" == *"cf add-network-policy shop shop --protocol tcp --port 9100"* ]]
    grep -qx -- '-kernel inet_dist_listen_min 9100 inet_dist_listen_max 9100' "$DEPS/0/vm.args"
    refute_file_match '-start_epmd' "$DEPS/0/vm.args"
}

@test "the report names the TLS mode: true with its peers" {
    export ERLANG_CLUSTER_TLS=true
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"       Distribution: epmd-less on port 9001, mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true from environment; peers: this app only); net_ticktime 60 s"* ]]
    grep -q 'ERLANG_CLUSTER_TLS: "true"' "$DEPS/0/config.yml"
}

@test "the report says that with ERLANG_CLUSTER_TLS=auto each launch decides" {
    export ERLANG_CLUSTER_TLS=auto ERLANG_CLUSTER_EPMD=true \
        ERLANG_CLUSTER_TLS_ALLOW=space,0B0C2A4E-2F9E-4F55-9D6A-3A0C7F3E1C2D
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"       Distribution: epmd on port 4369, node on port 9001, mutual TLS with the instance identity if the instance has one, else clear text (ERLANG_CLUSTER_TLS=auto from environment: decided at each launch); net_ticktime 60 s"* ]]
    grep -q 'ERLANG_CLUSTER_TLS_ALLOW: "space,0B0C2A4E-2F9E-4F55-9D6A-3A0C7F3E1C2D"' "$DEPS/0/config.yml"
}

@test "vm.args carries the distribution flags but no name and no cookie" {
    export ERLANG_CLUSTER_NET_TICKTIME=20
    stage
    [ "$status" -eq 0 ]
    grep -qx -- '-start_epmd false' "$DEPS/0/vm.args"
    grep -qx -- '-erl_epmd_port 9001' "$DEPS/0/vm.args"
    grep -qx -- '-kernel net_ticktime 20' "$DEPS/0/vm.args"
    refute_file_match '-(s?name|setcookie)' "$DEPS/0/vm.args"
}

@test "the staged vm.args makes a real node listen on the distribution port without epmd" {
    port=$(free_port)
    export ERLANG_CLUSTER_DIST_PORT="$port"
    stage
    [ "$status" -eq 0 ]
    export HOME="$BUILD_DIR"
    erl -noshell -args_file "$DEPS/0/vm.args" -name "vmargs$port@127.0.0.1" \
        -eval 'timer:sleep(20000), halt().' &
    node=$!
    listening=no
    for _ in $(seq 100); do
        if ss -Hltnp "sport = :$port" | grep -q "pid=$node,"; then listening=yes; break; fi
        sleep 0.1
    done
    # The node's cookie is the staged one, read from HOME.
    cookie_ok=$(erl -noshell -args_file "$DEPS/0/vm.args" -dist_listen false \
        -name "probe$port@127.0.0.1" \
        -eval "io:format(\"~p\", [net_kernel:connect_node('vmargs$port@127.0.0.1')]), halt()." || true)
    kill "$node"
    wait "$node" || true # killed on purpose just above; its exit status says nothing
    [ "$listening" = yes ]
    [ "$cookie_ok" = true ]
}

@test "binds the Eureka registry without writing its secret anywhere" {
    VCAP_SERVICES=$(printf '{"p.service-registry":[%s]}' "$(registry_binding registry TopSecret-42)")
    export VCAP_SERVICES
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'Discovery: eureka, because a Eureka registry is bound (service "registry")'* ]]
    assert_secret_not_leaked TopSecret-42
    assert_secret_not_leaked p-client
}

# $1: binding name, $2: the registry's uri, $3: its access_token_uri
oauth_registry_at() {
    printf '{"p.service-registry":[{"name":"%s","label":"p.service-registry","tags":["eureka"],"credentials":{"uri":"%s","client_id":"p-client","client_secret":"TopSecret-42","access_token_uri":"%s"}}]}' "$1" "$2" "$3"
}

@test "warns once, naming the binding, when registry credentials would go over plain http://" {
    VCAP_SERVICES=$(oauth_registry_at registry http://eureka.apps.internal:8761 http://uaa.apps.internal/oauth/token)
    export VCAP_SERVICES
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'**WARNING** registry binding "registry": the OAuth2 client secret and access tokens go over plain http:// (access_token_uri and uri)'* ]]
    [ "$(grep -c 'plain http://' <<<"$output")" -eq 1 ]
    [[ "$output" == *'Discovery: eureka'* ]] # a warning, not a refusal
    assert_secret_not_leaked TopSecret-42
}

@test "the plain-http warning names only what goes over http://" {
    VCAP_SERVICES=$(oauth_registry_at tokens-only https://eureka.example.com http://uaa.apps.internal/oauth/token)
    export VCAP_SERVICES
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'**WARNING** registry binding "tokens-only": the OAuth2 client secret goes over plain http:// (access_token_uri)'* ]]

    VCAP_SERVICES=$(oauth_registry_at uri-only http://eureka.apps.internal https://uaa.example.com/oauth/token)
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'**WARNING** registry binding "uri-only": access tokens go over plain http:// (uri)'* ]]
}

@test "no plain-http warning over https://, nor for a registry without OAuth2 over http://" {
    VCAP_SERVICES=$(oauth_registry_at secure https://eureka.example.com https://uaa.example.com/oauth/token)
    export VCAP_SERVICES
    stage
    [ "$status" -eq 0 ]
    [[ "$output" != *'plain http://'* ]]

    VCAP_SERVICES='{"user-provided":[{"name":"open","tags":["eureka"],"credentials":{"uri":"http://eureka.apps.internal:8761"}}]}'
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'Discovery: eureka'* ]]
    [[ "$output" != *'plain http://'* ]]
}

@test "fails with a clear message when two registries are bound" {
    VCAP_SERVICES=$(printf '{"p.service-registry":[%s,%s]}' "$(registry_binding reg-one s1)" "$(registry_binding reg-two s2)")
    export VCAP_SERVICES
    stage
    assert_one_line_failure VCAP_SERVICES '"reg-one"' '"reg-two"' ERLANG_CLUSTER_SERVICE
    assert_nothing_staged
}

@test "ERLANG_CLUSTER_SERVICE picks one of several registries" {
    VCAP_SERVICES=$(printf '{"p.service-registry":[%s,%s]}' "$(registry_binding reg-one s1)" "$(registry_binding reg-two s2)")
    export VCAP_SERVICES
    export ERLANG_CLUSTER_SERVICE=reg-two
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'(service "reg-two")'* ]]
    grep -q 'ERLANG_CLUSTER_SERVICE: "reg-two"' "$DEPS/0/config.yml"
}

@test "an apps.internal route selects dns discovery with that route as the query" {
    export VCAP_APPLICATION='{"application_name":"shop","application_uris":["shop.example.com","shop.apps.internal"]}'
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"Discovery: dns, because the app has the internal route shop.apps.internal"* ]]
    [[ "$output" == *"resolving shop.apps.internal every 60 s once meshed"* ]]
}

@test "ERLANG_CLUSTER_PEERS selects static discovery" {
    export ERLANG_CLUSTER_PEERS='shop@10.0.0.1, shop@10.0.0.2'
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"Discovery: static, because ERLANG_CLUSTER_PEERS is set"* ]]
    [[ "$output" == *"peers: shop@10.0.0.1,shop@10.0.0.2"* ]]
}

@test "config.yml records the staging settings and defaults but never the cookie" {
    export ERLANG_CLUSTER_DIST_PORT=9200 ERLANG_CLUSTER_COOKIE=CookieFromEnv123
    stage
    [ "$status" -eq 0 ]
    grep -qx 'name: "erlang_cluster"' "$DEPS/0/config.yml"
    grep -qx "version: \"$(cat "$REPO_ROOT/VERSION")\"" "$DEPS/0/config.yml"
    grep -q 'ERLANG_CLUSTER_DIST_PORT: "9200"' "$DEPS/0/config.yml"
    grep -q 'ERLANG_CLUSTER_HEARTBEAT_INTERVAL: "30"' "$DEPS/0/config.yml"
    refute_file_match COOKIE "$DEPS/0/config.yml"
}

# A new droplet of the same app: the app's source again, a fresh contents dir, the same
# build cache (as the builder gives it back at every staging of the app).
next_droplet() {
    rm -rf "$BUILD_DIR/.erlang.cookie" "$BUILD_DIR/.profile.d" "$DEPS/0"/*
}

@test "generates a 32-character cookie at the first staging and keeps it in the build cache, 0600" {
    stage
    [ "$status" -eq 0 ]
    first=$(cat "$BUILD_DIR/.erlang.cookie")
    [[ "$first" =~ ^[A-Za-z0-9]{32}$ ]]
    assert_secret_not_leaked "$first"
    [[ "$output" == *"Cookie: generated: first staging, or the build cache was cleared"* ]]
    [ "$(cat "$CACHE_DIR/erlang-cluster-cookie")" = "$first" ]
    [ "$(stat -c %a "$CACHE_DIR/erlang-cluster-cookie")" = 600 ]
}

@test "the next droplet of the app keeps the cookie from the build cache" {
    stage
    [ "$status" -eq 0 ]
    first=$(cat "$BUILD_DIR/.erlang.cookie")
    next_droplet
    echo 'IO.puts("v2")' > "$BUILD_DIR/mix.exs"
    stage
    [ "$status" -eq 0 ]
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" = "$first" ]
    [ "$(stat -c %a "$BUILD_DIR/.erlang.cookie")" = 400 ]
    [[ "$output" == *"Cookie: kept from the previous staging"* ]]
    assert_secret_not_leaked "$first"
}

@test "a cleared build cache means a new cookie, and staging says so" {
    stage
    [ "$status" -eq 0 ]
    first=$(cat "$BUILD_DIR/.erlang.cookie")
    next_droplet
    rm -rf "$CACHE_DIR"
    mkdir "$CACHE_DIR"
    stage
    [ "$status" -eq 0 ]
    second=$(cat "$BUILD_DIR/.erlang.cookie")
    [[ "$second" =~ ^[A-Za-z0-9]{32}$ ]]
    [ "$first" != "$second" ]
    [[ "$output" == *"Cookie: generated: first staging, or the build cache was cleared"* ]]
    [ "$(cat "$CACHE_DIR/erlang-cluster-cookie")" = "$second" ]
}

@test "an unusable cached cookie is replaced, staging says why without showing it, and succeeds" {
    local bad
    for bad in 'two words' '' $'line\nbreak'; do
        next_droplet
        printf '%s' "$bad" > "$CACHE_DIR/erlang-cluster-cookie"
        stage
        [ "$status" -eq 0 ]
        [[ "$output" == *"Cookie: generated: the build cache held an unusable cookie (malformed content)"* ]]
        [[ -z "$bad" || "$output" != *"$bad"* ]]
        cookie=$(cat "$BUILD_DIR/.erlang.cookie")
        [[ "$cookie" =~ ^[A-Za-z0-9]{32}$ ]]
        [ "$(cat "$CACHE_DIR/erlang-cluster-cookie")" = "$cookie" ]
    done
    # Not a file at all.
    next_droplet
    rm "$CACHE_DIR/erlang-cluster-cookie"
    mkdir "$CACHE_DIR/erlang-cluster-cookie"
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"unusable cookie (not a regular file)"* ]]
    [[ "$(cat "$BUILD_DIR/.erlang.cookie")" =~ ^[A-Za-z0-9]{32}$ ]]
    [ "$(grep -c 'WARNING' <<<"$output")" -eq 1 ]
    [[ "$output" == *"cannot keep the cookie in the build cache"* ]]
}

@test "a build cache that cannot be written only warns" {
    rm -rf "$CACHE_DIR"
    touch "$CACHE_DIR" # a file where the directory should be
    stage
    [ "$status" -eq 0 ]
    [[ "$(cat "$BUILD_DIR/.erlang.cookie")" =~ ^[A-Za-z0-9]{32}$ ]]
    [[ "$output" == *"**WARNING** cannot keep the cookie in the build cache"*"the next staging will generate a new one"* ]]
}

@test "a given cookie beats the cached one and is never written to the build cache" {
    stage
    [ "$status" -eq 0 ]
    cached=$(cat "$CACHE_DIR/erlang-cluster-cookie")
    # ERLANG_CLUSTER_COOKIE
    next_droplet
    ERLANG_CLUSTER_COOKIE='Shared.Cookie-9f8e7d' stage
    [ "$status" -eq 0 ]
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" = 'Shared.Cookie-9f8e7d' ]
    [ "$(cat "$CACHE_DIR/erlang-cluster-cookie")" = "$cached" ]
    # The app's own cookie file
    next_droplet
    printf 'AppOwnCookie77\n' > "$BUILD_DIR/.erlang.cookie"
    stage
    [ "$status" -eq 0 ]
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" = AppOwnCookie77 ]
    [ "$(cat "$CACHE_DIR/erlang-cluster-cookie")" = "$cached" ]
    # Nothing but our one file in the cache, whatever the source.
    [ "$(ls -A "$CACHE_DIR")" = erlang-cluster-cookie ]
    run grep -rlF -e Shared.Cookie-9f8e7d -e AppOwnCookie77 "$CACHE_DIR"
    [ "$status" -eq 1 ]
}

@test "a service cookie is not written to the build cache" {
    export VCAP_SERVICES='{"user-provided":[{"name":"cluster-secret","tags":["erlang-cluster"],"credentials":{"cookie":"ServiceCookie55"}}]}'
    stage
    [ "$status" -eq 0 ]
    run grep -rlF ServiceCookie55 "$CACHE_DIR"
    [ "$status" -eq 1 ]
}

@test "through the local lifecycle, two stagings with one cache root give droplets one cookie" {
    local root="$BATS_TEST_TMPDIR/lifecycle" src="$BATS_TEST_TMPDIR/src"
    cp -a "$REPO_ROOT/tests/fixtures/erl-app" "$src"
    for v in v1 v2; do
        echo "% $v" >> "$src/src/plain_app.erl"
        run "$REPO_ROOT/tests/support/cf-stage" --app "$src" --droplet "$root/$v" \
            --app-name shop --buildpack "$BUILDPACK" \
            --buildpack "$REPO_ROOT/tests/support/final-buildpacks/compile-only" \
            --cache-root "$root/cache"
        [ "$status" -eq 0 ]
    done
    [[ "$output" == *"Cookie: kept from the previous staging"* ]]
    [ "$(cat "$root/v1/app/.erlang.cookie")" = "$(cat "$root/v2/app/.erlang.cookie")" ]
    # Another cache root: another cookie.
    run "$REPO_ROOT/tests/support/cf-stage" --app "$src" --droplet "$root/v3" \
        --app-name shop --buildpack "$BUILDPACK" \
        --buildpack "$REPO_ROOT/tests/support/final-buildpacks/compile-only" \
        --cache-root "$root/other-cache"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Cookie: generated: first staging, or the build cache was cleared"* ]]
    [ "$(cat "$root/v1/app/.erlang.cookie")" != "$(cat "$root/v3/app/.erlang.cookie")" ]
}

@test "ERLANG_CLUSTER_COOKIE becomes the cookie file and appears nowhere else" {
    export ERLANG_CLUSTER_COOKIE='Shared.Cookie-9f8e7d'
    stage
    [ "$status" -eq 0 ]
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" = 'Shared.Cookie-9f8e7d' ]
    [ "$(stat -c %a "$BUILD_DIR/.erlang.cookie")" = 400 ]
    [[ "$output" == *"Cookie: from ERLANG_CLUSTER_COOKIE"* ]]
    assert_secret_not_leaked 'Shared.Cookie-9f8e7d'
}

@test "a weak pinned cookie gets a warning that says why and how to make a strong one, never the cookie" {
    # ERLANG_CLUSTER_COOKIE: too few bits.
    export ERLANG_CLUSTER_COOKIE='s3cr3t-c00k1e'
    stage
    [ "$status" -eq 0 ]
    [ "$(grep -c 'WARNING.*cookie' <<<"$output")" -eq 1 ]
    [[ "$output" == *"**WARNING** the cookie from ERLANG_CLUSTER_COOKIE is weak: 13 characters drawn from 68 possible ones give about 79 bits, under 96."* ]]
    [[ "$output" == *"MD5(cookie + challenge)"*"can guess the cookie offline"*"run any code on every node"* ]]
    [[ "$output" == *"openssl rand -base64 32"*"unset ERLANG_CLUSTER_COOKIE so that the buildpack generates one"* ]]
    assert_secret_not_leaked 's3cr3t-c00k1e'
    # An erlang-cluster service's cookie: long enough, but a word guessers try first.
    unset ERLANG_CLUSTER_COOKIE
    next_droplet
    export VCAP_SERVICES='{"user-provided":[{"name":"cluster-secret","tags":["erlang-cluster"],"credentials":{"cookie":"Our-Phoenix-Cluster-Cookie-2024"}}]}'
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"**WARNING** the cookie from service \"cluster-secret\" is weak: it contains a word guessers try first"* ]]
    [[ "$output" == *"take the cookie out of the service's credentials so that the buildpack generates one"* ]]
    [[ "$output" != *"Our-Phoenix-Cluster-Cookie-2024"* ]]
    # A strong pinned cookie, and the generated one, get no warning.
    export VCAP_SERVICES='{}'
    next_droplet
    ERLANG_CLUSTER_COOKIE='nX2R0pY4v8kZ+Qm1d7LhS3gT/9cWfB6eJ5aU0oIqK4E=' stage
    [ "$status" -eq 0 ]
    [[ "$output" != *"is weak"* ]]
    next_droplet
    stage
    [ "$status" -eq 0 ]
    # (generated at the service's staging above, which keeps no service cookie in the droplet)
    [[ "$output" == *"Cookie: kept from the previous staging"* ]]
    [[ "$output" != *"is weak"* ]]
}

@test "keeps the app's own cookie file and makes it 0400" {
    printf 'AppOwnCookie77\n' > "$BUILD_DIR/.erlang.cookie"
    chmod 0644 "$BUILD_DIR/.erlang.cookie"
    stage
    [ "$status" -eq 0 ]
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" = AppOwnCookie77 ]
    [ "$(stat -c %a "$BUILD_DIR/.erlang.cookie")" = 400 ]
    [[ "$output" == *"Cookie: the app's own .erlang.cookie"* ]]
    assert_secret_not_leaked AppOwnCookie77
}

@test "ERLANG_CLUSTER_COOKIE replaces the app's own cookie file, as it does at run time" {
    printf 'AppOwnCookie77\n' > "$BUILD_DIR/.erlang.cookie"
    export ERLANG_CLUSTER_COOKIE='Shared.Cookie-9f8e7d'
    stage
    [ "$status" -eq 0 ]
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" = 'Shared.Cookie-9f8e7d' ]
    [ "$(stat -c %a "$BUILD_DIR/.erlang.cookie")" = 400 ]
    [[ "$output" == *"Cookie: from ERLANG_CLUSTER_COOKIE"*"replaces the app's own file"* ]]
    assert_secret_not_leaked 'Shared.Cookie-9f8e7d'
    assert_secret_not_leaked AppOwnCookie77
}

@test "rejects an app cookie file that Erlang could not use, without showing it" {
    printf 'two words\n' > "$BUILD_DIR/.erlang.cookie"
    stage
    assert_one_line_failure .erlang.cookie "printable ASCII"
    [[ "$output" != *"two words"* ]]
}

@test "a service cookie is used at run time and never written into the droplet" {
    export VCAP_SERVICES='{"user-provided":[{"name":"cluster-secret","tags":["erlang-cluster"],"credentials":{"cookie":"ServiceCookie55"}}]}'
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *'the cookie of service "cluster-secret" is used instead'* ]]
    assert_secret_not_leaked ServiceCookie55
    [ "$(cat "$BUILD_DIR/.erlang.cookie")" != ServiceCookie55 ]
}

@test "restaging the same app gives the same droplet" {
    export ERLANG_CLUSTER_PEERS=shop@10.0.0.9
    stage
    [ "$status" -eq 0 ]
    first_output="$output"
    first=$(cd "$SANDBOX" && find app contents -type f -printf '%m %p ' -exec sha256sum {} \; | sort)
    stage
    [ "$status" -eq 0 ]
    second=$(cd "$SANDBOX" && find app contents -type f -printf '%m %p ' -exec sha256sum {} \; | sort)
    [ "$first" = "$second" ]
    # The second run reports the kept cookie; every other line is the same.
    diff <(grep -v 'Cookie:' <<<"$first_output") <(grep -v 'Cookie:' <<<"$output")
}

@test "fills the buildpack index into both wrapper copies" {
    mkdir -p "$DEPS/03"
    IDX=03 # read by stage() in test_helper.bash
    export IDX
    stage
    [ "$status" -eq 0 ]
    cmp "$DEPS/03/profile.d/erlang-cluster.sh" "$BUILD_DIR/.profile.d/erlang-cluster.sh"
    refute_file_match '@@DEPS_IDX@@' "$BUILD_DIR/.profile.d/erlang-cluster.sh"
    expected=$(sed 's/@@DEPS_IDX@@/03/g' "$BUILDPACK/templates/erlang-cluster.sh")
    [ "$(cat "$BUILD_DIR/.profile.d/erlang-cluster.sh")" = "$expected" ]
    grep -q '/03/' "$BUILD_DIR/.profile.d/erlang-cluster.sh"
    [ -x "$DEPS/03/bin/erlang-cluster-agent" ]
}

@test "ERLANG_CLUSTER_DISABLE=true says so and writes nothing" {
    export ERLANG_CLUSTER_DISABLE=true ERLANG_CLUSTER_DIST_PORT=not-checked
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"ERLANG_CLUSTER_DISABLE is set: nothing installed, the app is left unchanged"* ]]
    assert_nothing_staged
    [ "$(cd "$BUILD_DIR" && ls -A)" = mix.exs ]
}

@test "warns about ERLANG_CLUSTER_ variables it does not know" {
    export ERLANG_CLUSTER_DIST_PROT=9001
    stage
    [ "$status" -eq 0 ]
    [[ "$output" == *"**WARNING** ERLANG_CLUSTER_DIST_PROT is not a setting of this buildpack"* ]]
}

@test "each invalid setting fails staging with one line naming the variable and the fix" {
    local cases=(
        "ERLANG_CLUSTER_DIST_PORT=abc|ERLANG_CLUSTER_DIST_PORT|1024 to 65535"
        "ERLANG_CLUSTER_DIST_PORT=80|ERLANG_CLUSTER_DIST_PORT|out of range"
        "ERLANG_CLUSTER_DIST_PORT=65536|ERLANG_CLUSTER_DIST_PORT|out of range"
        "ERLANG_CLUSTER_DISCOVERY=gossip|ERLANG_CLUSTER_DISCOVERY|auto, eureka, dns, static or none"
        "ERLANG_CLUSTER_DISCOVERY=eureka|ERLANG_CLUSTER_DISCOVERY|cf bind-service shop"
        "ERLANG_CLUSTER_EPMD=perhaps|ERLANG_CLUSTER_EPMD|true or false"
        "ERLANG_CLUSTER_POLL_INTERVAL=0|ERLANG_CLUSTER_POLL_INTERVAL|1 to 600"
        "ERLANG_CLUSTER_HEARTBEAT_INTERVAL=120|ERLANG_CLUSTER_HEARTBEAT_INTERVAL|1 to 60"
        "ERLANG_CLUSTER_NET_TICKTIME=ten|ERLANG_CLUSTER_NET_TICKTIME|4 to 3600"
        "ERLANG_CLUSTER_LOG_LEVEL=loud|ERLANG_CLUSTER_LOG_LEVEL|error, warn, info or debug"
        "ERLANG_CLUSTER_PEERS=shop@10.0.0.1,bad peer|ERLANG_CLUSTER_PEERS|node names"
        "ERLANG_CLUSTER_NODE_BASENAME=a.b|ERLANG_CLUSTER_NODE_BASENAME|letters, digits"
        "ERLANG_CLUSTER_SERVICE=missing|ERLANG_CLUSTER_SERVICE|missing"
        "ERLANG_CLUSTER_PROCESS_TYPES=web;worker|ERLANG_CLUSTER_PROCESS_TYPES|comma-separated"
        "ERLANG_CLUSTER_TLS=sometimes|ERLANG_CLUSTER_TLS|use false, true or auto"
        "ERLANG_CLUSTER_TLS_CA_FILE=ca.pem|ERLANG_CLUSTER_TLS_CA_FILE|not an absolute path"
        "ERLANG_CLUSTER_TLS_ALLOW=orders-app|ERLANG_CLUSTER_TLS_ALLOW|app GUIDs (cf app NAME --guid) and/or space"
        "ERLANG_CLUSTER_PEER_NETWORK=10.255.1.0/16|ERLANG_CLUSTER_PEER_NETWORK|not a network in CIDR notation with no host bits set"
        "VCAP_SERVICES={oops|VCAP_SERVICES|not valid JSON"
        "VCAP_APPLICATION=[oops|VCAP_APPLICATION|not valid JSON"
        "VCAP_APPLICATION={\"application_name\":7}|VCAP_APPLICATION|must be a string"
        "VCAP_SERVICES={\"user-provided\":[{\"name\":\"r\",\"tags\":[\"eureka\"],\"credentials\":{\"uri\":42}}]}|VCAP_SERVICES|\"uri\" must be a string"
        "VCAP_SERVICES={\"user-provided\":[{\"name\":\"r\",\"tags\":[\"eureka\"],\"credentials\":\"x\"}]}|VCAP_SERVICES|must be an object"
    )
    local case assignment variable needle
    for case in "${cases[@]}"; do
        IFS='|' read -r assignment variable needle <<<"$case"
        (
            export "${assignment%%=*}=${assignment#*=}"
            stage
            assert_one_line_failure "$variable" "$needle" && assert_nothing_staged
        ) || { echo "case failed: $assignment" >&2; return 1; }
    done
}

@test "an unreadable manifest.yml fails staging naming the file" {
    rm "$BUILDPACK/manifest.yml"
    mkdir "$BUILDPACK/manifest.yml"
    stage
    assert_one_line_failure "$BUILDPACK/manifest.yml" "not a regular file"
    assert_nothing_staged
}

@test "an invalid manifest.yml default fails staging naming the file and the key" {
    printf 'language: erlang_cluster\nversion: 0.1.0\ndefaults:\n  ERLANG_CLUSTER_DIST_PORT: high\n' > "$BUILDPACK/manifest.yml"
    stage
    assert_one_line_failure "$BUILDPACK/manifest.yml" "defaults.ERLANG_CLUSTER_DIST_PORT" "1024 to 65535"
    assert_nothing_staged
}

@test "a buildpack without its launch wrapper template fails with a clear error" {
    rm "$BUILDPACK/templates/erlang-cluster.sh"
    stage
    assert_one_line_failure "templates/erlang-cluster.sh" "incomplete"
    assert_nothing_staged
}

@test "fails with usage when not given four arguments" {
    run "$BUILDPACK/bin/supply" "$BUILD_DIR" "$CACHE_DIR" "$DEPS"
    [ "$status" -eq 2 ]
    [[ "$output" == *"usage:"*"BUILD_DIR CACHE_DIR DEPS_DIR IDX"* ]]
}

@test "fails clearly when DEPS_DIR does not exist" {
    run "$BUILDPACK/bin/supply" "$BUILD_DIR" "$CACHE_DIR" "$SANDBOX/nowhere" 0
    assert_one_line_failure DEPS_DIR "$SANDBOX/nowhere"
}
