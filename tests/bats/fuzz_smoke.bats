#!/usr/bin/env bats
# The parsers that take input from the platform, the user or the network, each fuzzed for a
# few seconds (CI's share of `make fuzz`), and every committed corpus input replayed through
# a plain ASan+UBSan build: past crashes stay fixed.
# shellcheck disable=SC2154  # status and output are set by bats' run

REPO_ROOT="$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)"
SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-5}

setup_file() {
    make -C "$REPO_ROOT" --no-print-directory -j2 fuzz-build >/dev/null
}

# Runs one target for SMOKE_SECONDS and asserts it ended clean with a positive count.
fuzz_runs_clean() {
    local name=$1
    run "$REPO_ROOT/tests/fuzz/run" "$SMOKE_SECONDS" "$name"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ fuzz_$name:\ ([0-9]+)\ executions ]]
    ((BASH_REMATCH[1] > 0))
}

replays_clean() {
    local name=$1 count
    count=$(find "$REPO_ROOT/tests/fuzz/corpus/$name" -type f | wc -l)
    run "$REPO_ROOT/tests/fuzz/replay" "$name"
    echo "$output"
    [ "$status" -eq 0 ] || return 1
    [ "$output" = "replay_$name: $count inputs, clean" ] || return 1
}

@test "node-name validation survives fuzzing and never accepts a name unsafe for Erlang" {
    fuzz_runs_clean node_name
}

@test "VCAP_APPLICATION parsing survives fuzzing" {
    fuzz_runs_clean vcap_application
}

@test "VCAP_SERVICES parsing survives fuzzing and only yields usable registries and cookies" {
    fuzz_runs_clean vcap_services
}

@test "config resolution from any environment survives fuzzing and run time agrees with staging" {
    fuzz_runs_clean config_resolve
}

@test "manifest.yml reading survives fuzzing" {
    fuzz_runs_clean manifest
}

@test "config.yml reading survives fuzzing and what it reads round-trips" {
    fuzz_runs_clean config_yml
}

@test "Eureka registry answers survive fuzzing and only yield valid peer names" {
    fuzz_runs_clean eureka_peers
}

@test "token endpoint answers survive fuzzing" {
    fuzz_runs_clean oauth_token
}

@test "every committed fuzz input replays clean under ASan and UBSan" {
    local name failed=0
    for name in node_name vcap_application vcap_services config_resolve manifest config_yml \
                eureka_peers oauth_token; do
        replays_clean "$name" || failed=1
    done
    [ "$failed" -eq 0 ]
}
