# shellcheck shell=bash
# with_exact_env ARRAY_NAME CMD...: runs CMD with exactly the NAME=VALUE pairs in the named
# array as its environment, like `env -i PAIRS... CMD` but without putting any value (service
# credentials, cookies) on a process's command line. Use `exec with_exact_env …` to replace
# the calling shell, as the platform's launcher does.
with_exact_env() {
    local -n pairs=$1
    shift
    local name pair
    while IFS= read -r name; do
        unset "$name" 2>/dev/null || true # read-only shell variables stay unexported
    done < <(compgen -e)
    for pair in "${pairs[@]}"; do
        export "${pair%%=*}=${pair#*=}"
    done
    "$@"
}
