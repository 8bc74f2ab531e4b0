#!/usr/bin/env bats
# The packaged buildpack: zip layout, and binaries that run on the cflinuxfs4 stack
# (Ubuntu 22.04: glibc 2.35, libcurl4, libssl3, libyaml; no cJSON, no Erlang).

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.." || return 1
  make -s --no-print-directory all >/dev/null
  export PACKAGE_ZIP
  PACKAGE_ZIP=$(make -s --no-print-directory package | tail -n 1)
}

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return 1
}

shipped_binaries() {
  local f
  for f in build/buildpack/bin/* build/buildpack/lib/*; do
    file -L "$f" | grep -q ELF && echo "$f"
  done
}

@test "the zip holds manifest.yml, VERSION and bin/ at its root, and no sources or tests" {
  run unzip -Z1 "$PACKAGE_ZIP"
  [ "$status" -eq 0 ]
  echo "$output" | grep -qx 'manifest.yml'
  echo "$output" | grep -qx 'VERSION'
  echo "$output" | grep -qx 'bin/supply'
  echo "$output" | grep -qx 'bin/detect'
  echo "$output" | grep -qx 'bin/erlang-cluster-agent'
  extra=$(echo "$output" | grep -E '^(src|tests|bench|docs)/|\.c$|\.h$' || true)
  [ -z "$extra" ] || { echo "unexpected in the zip: $extra"; return 1; }
}

@test "the zip is named after the version and stack, with a checksum beside it" {
  version=$(cat VERSION)
  [ "$PACKAGE_ZIP" = "build/erlang_cluster_buildpack-cflinuxfs4-v$version.zip" ]
  (cd build && sha256sum -c "${PACKAGE_ZIP##*/}.sha256")
}

@test "the zip keeps executable modes" {
  tmp=$(mktemp -d)
  unzip -q "$PACKAGE_ZIP" -d "$tmp"
  [ -x "$tmp/bin/supply" ] && [ -x "$tmp/bin/detect" ] && [ -x "$tmp/bin/erlang-cluster-agent" ]
  rm -rf "$tmp"
}

@test "the shipped binaries pass the stack checks: glibc up to 2.35, libraries on cflinuxfs4 or bundled" {
  [ -n "$(shipped_binaries)" ]
  run tests/support/stack-check build/buildpack
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

# A copy of the shipped tree a test may break.
copy_tree() {
  TREE=$BATS_TEST_TMPDIR/buildpack
  cp -a build/buildpack "$TREE"
}

@test "the stack check stops a binary that needs a glibc symbol newer than 2.35, in one line" {
  copy_tree
  # arc4random appeared in glibc 2.36 (bookworm's); Ubuntu 22.04 has 2.35.
  printf '#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n' >"$BATS_TEST_TMPDIR/new.c"
  cc -o "$TREE/bin/supply" "$BATS_TEST_TMPDIR/new.c"
  run tests/support/stack-check "$TREE"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ $output == "stack-check: $TREE/bin/supply needs GLIBC_2.36, newer than cflinuxfs4's glibc 2.35"* ]]
}

@test "the stack check stops a binary that needs a library neither on cflinuxfs4 nor bundled" {
  copy_tree
  rm "$TREE/lib/libcjson.so.1"
  run tests/support/stack-check "$TREE"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ $output == "stack-check: $TREE/bin/"*" needs libcjson.so.1, which cflinuxfs4 does not have"* ]]
}

@test "make test-sanitize's build (make sanitize-build, suites not run) then make release: the zip needs no libasan" {
  make -s --no-print-directory -j"$(nproc)" sanitize-build >/dev/null
  # It really was a sanitizer build, and it went to its own folder.
  objdump -p build/sanitize/buildpack/bin/supply | grep -q 'NEEDED.*libasan'
  run make -s --no-print-directory release
  echo "$output"
  [ "$status" -eq 0 ]
  unpacked=$BATS_TEST_TMPDIR/unpacked
  unzip -q "$PACKAGE_ZIP" -d "$unpacked"
  for f in "$unpacked"/bin/supply "$unpacked"/bin/erlang-cluster-agent "$unpacked"/lib/libcjson.so.1; do
    run objdump -p "$f"
    [ "$status" -eq 0 ]
    if echo "$output" | grep -E 'NEEDED.*lib(asan|ubsan)'; then return 1; fi
  done
  tests/support/stack-check "$unpacked"
}

@test "make package refuses to zip the sanitizer build, naming the library the stack lacks" {
  make -s --no-print-directory -j"$(nproc)" sanitize-build >/dev/null
  rm -f build/sanitize/erlang_cluster_buildpack-*.zip
  run make -s --no-print-directory BUILD=build/sanitize package
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"stack-check: build/sanitize/buildpack/bin/"*" needs libasan.so."*", which cflinuxfs4 does not have"* ]]
  ! ls build/sanitize/erlang_cluster_buildpack-*.zip
}

@test "binaries find the bundled libraries through an \$ORIGIN rpath" {
  for f in build/buildpack/bin/supply build/buildpack/bin/erlang-cluster-agent; do
    objdump -p "$f" | grep -E 'R(UN)?PATH' | grep -q '\$ORIGIN/../lib'
    run env -u LD_LIBRARY_PATH ldd "$f"
    [ "$status" -eq 0 ]
    if echo "$output" | grep 'not found'; then return 1; fi
  done
}

@test "libei and libyaml are linked statically" {
  for f in build/buildpack/bin/supply build/buildpack/bin/erlang-cluster-agent; do
    needed=$(objdump -p "$f" | awk '/NEEDED/ {print $2}')
    [ -n "$needed" ]
    if echo "$needed" | grep -E 'libyaml|libei'; then return 1; fi
  done
}
