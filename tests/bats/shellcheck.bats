#!/usr/bin/env bats
# Every shell script the project ships or runs is shellcheck-clean.

shell_scripts() {
  cd "$BATS_TEST_DIRNAME/../.." || return 1
  git ls-files --cached --others --exclude-standard bin templates tests .ci |
    while read -r f; do
      [ -f "$f" ] || continue
      case $f in
        *.bats|*.bash|*.sh) echo "$f" ;;
        *) if head -c 64 "$f" | grep -qE '^#!.*\b(ba)?sh\b'; then echo "$f"; fi ;;
      esac
    done
}

@test "every shell script is shellcheck-clean" {
  scripts=$(shell_scripts)
  [ -n "$scripts" ]
  cd "$BATS_TEST_DIRNAME/../.." || return 1
  # shellcheck disable=SC2086
  run shellcheck -S warning -x $scripts
  echo "$output"
  [ "$status" -eq 0 ]
}
