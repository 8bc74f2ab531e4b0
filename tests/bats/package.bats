#!/usr/bin/env bats
# The packaged buildpack: zip layout, and binaries that run on the cflinuxfs4 stack
# (Ubuntu 22.04: glibc 2.35, libcurl4, libssl3, libyaml; no cJSON, no Erlang).

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.." || return 1
  make -s --no-print-directory all >/dev/null
  export ZIP
  ZIP=$(make -s --no-print-directory package | tail -n 1)
}

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return 1
  # make test-sanitize builds with AddressSanitizer: such binaries are never shipped, and
  # they need libasan, so the stack checks below do not apply to them.
  if objdump -p build/buildpack/bin/supply | grep -q 'NEEDED.*libasan'; then
    skip "sanitizer build: the stack checks apply to the shipped build only"
  fi
}

shipped_binaries() {
  local f
  for f in build/buildpack/bin/* build/buildpack/lib/*; do
    file -L "$f" | grep -q ELF && echo "$f"
  done
}

@test "the zip holds manifest.yml, VERSION and bin/ at its root, and no sources or tests" {
  run unzip -Z1 "$ZIP"
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
  [ "$ZIP" = "build/erlang_cluster_buildpack-cflinuxfs4-v$version.zip" ]
  (cd build && sha256sum -c "${ZIP##*/}.sha256")
}

@test "the zip keeps executable modes" {
  tmp=$(mktemp -d)
  unzip -q "$ZIP" -d "$tmp"
  [ -x "$tmp/bin/supply" ] && [ -x "$tmp/bin/detect" ] && [ -x "$tmp/bin/erlang-cluster-agent" ]
  rm -rf "$tmp"
}

@test "no shipped binary needs a glibc symbol newer than 2.35" {
  bins=$(shipped_binaries)
  [ -n "$bins" ]
  for f in $bins; do
    newest=$(objdump -T "$f" | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sort -t. -k2,2n -u | tail -n 1)
    minor=${newest#GLIBC_2.}
    if [ "$minor" -gt 35 ]; then
      echo "$f needs $newest:"; objdump -T "$f" | grep "$newest"
      return 1
    fi
  done
}

@test "every shared library a shipped binary needs is on the stack or bundled" {
  stack='^(libc|libm|libpthread|libdl|librt|libcurl|libssl|libcrypto|libyaml-0|libz|ld-linux-x86-64)\.so'
  for f in $(shipped_binaries); do
    for lib in $(objdump -p "$f" | awk '/NEEDED/ {print $2}'); do
      if [[ $lib =~ $stack ]]; then continue; fi
      [ -f "build/buildpack/lib/$lib" ] || { echo "$f needs $lib, neither on cflinuxfs4 nor bundled"; return 1; }
    done
  done
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
