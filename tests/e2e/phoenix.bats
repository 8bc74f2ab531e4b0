#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# A Phoenix app as `mix phx.new` and `mix phx.gen.release` write it (tests/fixtures/phoenix-app:
# DNSCluster in the supervision tree, rel/overlays/bin/server and bin/migrate, the default
# rel/*.eex of `mix release.init`), started every way its users start it, without a change
# for the buildpack. Two ways to push it:
#   hello       the source, built by an Elixir buildpack (compile-only; the release lands in
#               _build/prod/rel/hello), bound to the registry: eureka
#   hello-rel   the release built beforehand and pushed as the app (`cf push -p
#               _build/prod/rel/hello -b erlang-cluster -b binary_buildpack`), with a Procfile
#               `web: bin/server` and only an apps.internal route: dns
# and two apps with the widespread variants of the release's own settings:
#   hello-name  rel/env.sh.eex with RELEASE_DISTRIBUTION=name, RELEASE_NODE=hello@$CF_INSTANCE_INTERNAL_IP (dns)
#   hello-vm    rel/vm.args.eex with its own -name and -setcookie, rel/remote.vm.args.eex (eureka)
# Every case: two instances mesh under the buildpack's node name, and the app's log has no
# "Multiple -name", no "already started" and no "Invalid challenge reply" line.

REL=_build/prod/rel/hello

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_dns_server
    e2e_start_registry
    local fixtures=$E2E_REPO/tests/fixtures src=$E2E_DIR/src
    e2e_stage_app hello "$fixtures/phoenix-app"

    # What the user pushes with binary_buildpack: the release built on their machine.
    mkdir -p "$src"
    cp -a "$E2E_DIR/droplets/hello/app/$REL" "$src/hello-rel"
    printf 'web: bin/server\n' >"$src/hello-rel/Procfile"
    E2E_FINAL_BUILDPACK=$E2E_REPO/tests/support/final-buildpacks/binary \
        e2e_stage_app hello-rel "$src/hello-rel" --services '{}' --route hello-rel.apps.internal

    local variant
    for variant in env-name vm-args; do
        cp -a "$fixtures/phoenix-app" "$src/$variant"
        cp -a "$fixtures/phoenix-app-variants/$variant/." "$src/$variant/"
    done
    e2e_stage_app hello-name "$src/env-name" --services '{}' --route hello-name.apps.internal
    e2e_stage_app hello-vm "$src/vm-args"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
    STARTED=()
}

# Each case removes its instances (the platform's SIGKILL, then the container), so at most
# two run at a time.
teardown() {
    e2e_remove_instances "${STARTED[@]}"
}

# start_pair APP FIRST [cf-launch options]: instances FIRST and FIRST+1 of APP. The apps
# staged with an apps.internal route (dns discovery) get it at launch too, and the platform's
# DNS lists the two instances under it.
start_pair() {
    local app=$1 first=$2 n dns=()
    shift 2
    # As on CF: no service bound, the internal route in VCAP_APPLICATION.
    [[ $app == hello || $app == hello-vm ]] ||
        dns=(--services '{}' --route "$app.apps.internal")
    for n in "$first" "$((first + 1))"; do
        E2E_APP=$app e2e_start_instance "$n" "${dns[@]}" "$@"
        STARTED+=("$n")
    done
    ((${#dns[@]} == 0)) || e2e_dns_publish "$app.apps.internal" "$first" "$((first + 1))"
}

# node_name_of N: the name the buildpack gave instance N's node.
node_name_of() {
    cat "$(e2e_instance_root "$1")/tmp/erlang-cluster/node_name"
}

# clustered LABEL N M: instances N and M mesh, each under the buildpack's name for it, and
# neither log has a line that says the node was named or dialled twice or refused the agent.
clustered() {
    local label=$1 start n
    shift
    start=$(foundation_now)
    e2e_wait_full_mesh 90 "$@" >/dev/null
    e2e_report "$label: full mesh of 2 $(foundation_elapsed "$start") s after launch"
    for n in "$@"; do
        [[ $(jq -r .current_node "$E2E_DIR/instances/$n.view") == "$(node_name_of "$n")" ]] ||
            e2e_fail "instance $n runs as $(jq -r .current_node "$E2E_DIR/instances/$n.view"), not as $(node_name_of "$n")"
        log_clean "$n"
    done
}

# log_clean N: instance N's log has none of those lines; else shows how many and the first few.
log_clean() {
    local log count
    log=$(e2e_agent_log "$1")
    count=$(grep -cE 'Multiple -name|already started|Invalid challenge reply' "$log") || true
    if ((count > 0)); then
        grep -m 3 -E 'Multiple -name|already started|Invalid challenge reply' "$log" >&2
        e2e_fail "instance $1's log has $count such lines (the first above)"
    fi
}

# dns_cluster_running N true|false: whether instance N's app runs DNSCluster (it does when
# DNS_CLUSTER_QUERY reached it and its node was alive at boot), asked with the release's own
# `bin/hello rpc` from `cf ssh`, as an operator would.
dns_cluster_running() {
    local out
    out=$(e2e_ssh "$1" "bin/hello rpc 'IO.puts(Process.whereis(DNSCluster) != nil)'")
    [[ $out == "$2" ]] || e2e_fail "instance $1: DNSCluster running is '$out', expected $2"
}

@test "mix phx.server clusters (DNS_CLUSTER_QUERY unset)" {
    start_pair hello 0 --start-command "mix phx.server"
    clustered "mix phx.server" 0 1
}

@test "bin/server of the release in _build clusters (default env.sh.eex, eureka)" {
    start_pair hello 2 --start-command "$REL/bin/server"
    clustered "bin/server" 2 3
}

@test "a start script that execs bin/server clusters, with DNSCluster on the app's DNS name (eureka)" {
    e2e_dns_publish hello.apps.internal 4 5
    start_pair hello 4 --start-command ./start.sh --env DNS_CLUSTER_QUERY=hello.apps.internal
    clustered "./start.sh" 4 5
}

@test "bin/migrate && bin/server of a pushed release migrates, then clusters (DNSCluster set, dns)" {
    start_pair hello-rel 6 --start-command "bin/migrate && bin/server" \
        --env DNS_CLUSTER_QUERY=hello-rel.apps.internal
    clustered "bin/migrate && bin/server" 6 7
    local n
    for n in 6 7; do
        grep -F '[Hello.Release] migrations up to date' "$(e2e_agent_log "$n")"
        dns_cluster_running "$n" true
    done
}

@test "a Procfile web: bin/server clusters (DNSCluster unset, dns)" {
    start_pair hello-rel 8
    clustered "Procfile web: bin/server" 8 9
    dns_cluster_running 8 false
}

@test "bin/hello daemon with a foreground process after it clusters and the instance stays up (PHX_SERVER set by the app env, dns)" {
    # The platform ends a container whose start command has returned, with or without this
    # buildpack: a daemonised release on Cloud Foundry needs a foreground process after it.
    start_pair hello-rel 10 --start-command "bin/hello daemon && exec sleep infinity" \
        --env PHX_SERVER=true
    clustered "bin/hello daemon" 10 11
    e2e_instance_running 10
    e2e_instance_running 11
}

@test "env.sh.eex with RELEASE_DISTRIBUTION=name and RELEASE_NODE=hello@\$CF_INSTANCE_INTERNAL_IP: bin/server clusters (DNSCluster set, dns)" {
    start_pair hello-name 12 --start-command "$REL/bin/server" \
        --env DNS_CLUSTER_QUERY=hello-name.apps.internal
    clustered "env.sh name variant" 12 13
}

@test "vm.args.eex with its own -name and -setcookie: bin/hello start clusters and bin/hello rpc works from cf ssh (eureka)" {
    start_pair hello-vm 14 --start-command "$REL/bin/hello start" --env PHX_SERVER=true
    clustered "vm.args.eex variant" 14 15
    local out
    out=$(e2e_ssh 14 "$REL/bin/hello rpc 'IO.puts(node())'")
    [[ $out == "$(node_name_of 14)" ]] || e2e_fail "bin/hello rpc from cf ssh printed: $out"
}
