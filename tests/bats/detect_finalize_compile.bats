#!/usr/bin/env bats
# The scripts the lifecycle may call besides supply: this buildpack never detects, and used
# as the final buildpack it tells the user how to list it.

load test_helper

setup() {
    sandbox_setup
}

@test "detect always declines, even for an Erlang app" {
    echo '{erl_opts, []}.' > "$BUILD_DIR/rebar.config"
    run "$BUILDPACK/bin/detect" "$BUILD_DIR"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
}

@test "finalize fails with one line telling the user to list it before the final buildpack" {
    run "$BUILDPACK/bin/finalize" "$BUILD_DIR" "$CACHE_DIR" "$DEPS" 0 "$CONTENTS_DIR/profile.d"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"supply buildpack: list it before your final buildpack"* ]]
}

@test "compile fails with the same one line" {
    run "$BUILDPACK/bin/compile" "$BUILD_DIR" "$CACHE_DIR"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"supply buildpack: list it before your final buildpack"* ]]
}

@test "the source tree's bin/supply runs the built program" {
    run "$REPO_ROOT/bin/supply" "$BUILD_DIR" "$CACHE_DIR" "$DEPS" 0
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "-----> Erlang cluster buildpack "* ]]
    [ -s "$DEPS/0/vm.args" ]
}
