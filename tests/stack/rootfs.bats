#!/usr/bin/env bats
# Opt-in (make test-stack): the shipped binaries run in a minimal root file system that holds
# only what the cflinuxfs4 stack offers them (libc, libcurl4, libssl, libyaml; no cJSON, no
# Erlang), made with debootstrap from Debian's mirror. Debian has no glibc 2.35 release:
# bullseye's 2.31 is older than the stack's and bookworm's 2.36 newer, so this checks the
# libraries, and tests/bats/package.bats checks that no symbol newer than GLIBC_2.35 is used.

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.." || return 1
  export ROOTFS=$PWD/build/stack-rootfs
  tests/support/debootstrap-rootfs "$ROOTFS" libcurl4 libyaml-0-2 ca-certificates
  local bp
  bp=$(tests/support/unpacked-buildpack)
  rm -rf "$ROOTFS/buildpack"
  cp -a "$bp" "$ROOTFS/buildpack"
  # A container has /proc; the dynamic loader needs it to expand $ORIGIN.
  mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
}

teardown_file() {
  if mountpoint -q "$ROOTFS/proc"; then umount "$ROOTFS/proc"; fi
}

in_rootfs() {
  chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp "$@"
}

@test "the root file system has neither cJSON nor Erlang, like the stack" {
  run in_rootfs /bin/sh -c 'ls /usr/lib/x86_64-linux-gnu/libcjson* /usr/lib/erlang 2>&1'
  [ "$status" -ne 0 ]
}

@test "the shipped agent runs there and prints its version" {
  run in_rootfs /buildpack/bin/erlang-cluster-agent --version
  [ "$status" -eq 0 ]
  [ "$output" = "erlang-cluster-agent $(cat VERSION)" ]
}

@test "the shipped supply stages an app there" {
  in_rootfs /bin/sh -c 'rm -rf /tmp/s && mkdir -p /tmp/s/app /tmp/s/cache /tmp/s/deps/0 /tmp/s/deps/1'
  run in_rootfs VCAP_APPLICATION='{"application_name":"stack-check","name":"stack-check"}' \
    VCAP_SERVICES='{}' CF_STACK=cflinuxfs4 \
    /buildpack/bin/supply /tmp/s/app /tmp/s/cache /tmp/s/deps 0
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"-----> Erlang cluster buildpack $(cat VERSION)"* ]]
  [ -x "$ROOTFS/tmp/s/deps/0/bin/erlang-cluster-agent" ]
  run in_rootfs /tmp/s/deps/0/bin/erlang-cluster-agent --version
  [ "$status" -eq 0 ]
}
