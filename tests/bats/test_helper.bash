# Shared setup for the staging suites: every test gets a throwaway sandbox with its own copy
# of the built buildpack (so a test may break a file in it) and fresh BUILD_DIR, CACHE_DIR and
# DEPS_DIR, laid out as the CF builder lays them out.
# shellcheck disable=SC2154  # status, output and lines are set by bats' run

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILT_BUILDPACK="$REPO_ROOT/${ECB_BUILD_DIR:-build}/buildpack" # make test-sanitize: build/sanitize

sandbox_setup() {
    if [[ ! -x "$BUILT_BUILDPACK/bin/supply" || ! -x "$BUILT_BUILDPACK/bin/erlang-cluster-agent" ]]; then
        echo "the buildpack is not built: run make in $REPO_ROOT first" >&2
        return 1
    fi
    SANDBOX="$BATS_TEST_TMPDIR/sandbox"
    BUILDPACK="$SANDBOX/buildpack"
    BUILD_DIR="$SANDBOX/app"
    CACHE_DIR="$SANDBOX/cache"
    CONTENTS_DIR="$SANDBOX/contents"
    DEPS="$CONTENTS_DIR/deps"
    IDX=0
    mkdir -p "$SANDBOX" "$BUILD_DIR" "$CACHE_DIR" "$DEPS/0" "$DEPS/1" "$CONTENTS_DIR/profile.d"
    cp -a "$BUILT_BUILDPACK" "$BUILDPACK"
    echo 'IO.puts("hello")' > "$BUILD_DIR/mix.exs"

    # The staging environment, without anything from the machine running the tests.
    local var
    for var in $(compgen -e); do
        case "$var" in
            ERLANG_CLUSTER_* | VCAP_* | DEPS_DIR | CF_INSTANCE_* | INSTANCE_*) unset "$var" ;;
        esac
    done
    export CF_STACK=cflinuxfs4 MEMORY_LIMIT=256m
    export VCAP_APPLICATION='{"application_id":"0c2d4f6a","application_name":"shop","name":"shop","application_uris":["shop.example.com"],"space_name":"dev","limits":{"mem":256}}'
    export VCAP_SERVICES='{}'
}

# Runs the staged supply step the way the builder does.
stage() {
    run "$BUILDPACK/bin/supply" "$BUILD_DIR" "$CACHE_DIR" "$DEPS" "$IDX"
}

# Every file staging may have written, with its mode, relative to the contents dir and app.
droplet_listing() {
    (cd "$SANDBOX" && find app contents -type f -printf '%m %p\n' | sort)
}

# Asserts that staging failed with exactly one error line containing every argument.
assert_one_line_failure() {
    if [[ "$status" -eq 0 ]]; then
        echo "staging succeeded but should have failed; output:" >&2
        echo "$output" >&2
        return 1
    fi
    local errors
    errors=$(grep -c '\*\*ERROR\*\*' <<<"$output" || true)
    if [[ "$errors" -ne 1 ]]; then
        echo "expected one **ERROR** line, got $errors:" >&2
        echo "$output" >&2
        return 1
    fi
    local line needle
    line=$(grep '\*\*ERROR\*\*' <<<"$output")
    for needle in "$@"; do
        if [[ "$line" != *"$needle"* ]]; then
            echo "error line lacks \"$needle\": $line" >&2
            return 1
        fi
    done
}

# Asserts that nothing of ours was written into the droplet.
assert_nothing_staged() {
    local found
    found=$(cd "$SANDBOX" && { ls -d app/.profile.d app/.erlang.cookie 2>/dev/null; find contents/deps/0 -mindepth 1; })
    if [[ -n "$found" ]]; then
        echo "staging wrote files although it failed or was disabled:" >&2
        echo "$found" >&2
        return 1
    fi
}

# Fails when text occurs in the output or in any droplet file other than the cookie file.
assert_secret_not_leaked() {
    local secret="$1"
    if [[ "$output" == *"$secret"* ]]; then
        echo "secret found in the staging output" >&2
        return 1
    fi
    local hits
    hits=$(cd "$SANDBOX" && grep -rlF -- "$secret" app contents | grep -vx 'app/.erlang.cookie' || true)
    if [[ -n "$hits" ]]; then
        echo "secret found in droplet files: $hits" >&2
        return 1
    fi
}

# A TCP port nothing listens on, from a range the tests own.
free_port() {
    local port
    for port in $(shuf -i 20000-29999 -n 50); do
        if ! ss -Hltn "sport = :$port" | grep -q .; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# Fails when the extended regex matches a line of the file.
refute_file_match() {
    if grep -qE -- "$1" "$2"; then
        echo "$2 matches /$1/ but must not:" >&2
        grep -nE -- "$1" "$2" >&2
        return 1
    fi
}
