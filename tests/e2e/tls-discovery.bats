#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# ERLANG_CLUSTER_TLS=true with the two discovery modes that need no registry: the platform's
# internal DNS (an app whose only route is on apps.internal, dnsmasq in the switch namespace)
# and a static peer list. Two apps side by side on one foundation, 4 instances each, every
# instance with an instance identity like Diego's; each app meshes over mutual TLS, every
# connection carrying the peer's own certificate. (Eureka: tls-cluster.bats.)

DNS_APP=tls-dns-app
ROUTE=$DNS_APP.apps.internal
STATIC_APP=tls-static-app
DNS_SLOTS=(0 1 2 3)
STATIC_SLOTS=(10 11 12 13)

setup_file() {
    load helper
    load tls_helper
    e2e_setup_file
    tls_setup_identity
    e2e_start_dns_server
    local source=$E2E_REPO/tests/fixtures/elixir-app n
    e2e_stage_app "$DNS_APP" "$source" --route "$ROUTE" --env ERLANG_CLUSTER_TLS=true
    PEERS=$(for n in "${STATIC_SLOTS[@]}"; do foundation_instance_ip "$n"; done | paste -sd,)
    export PEERS
    e2e_stage_app "$STATIC_APP" "$source" --env ERLANG_CLUSTER_TLS=true \
        --env "ERLANG_CLUSTER_PEERS=$PEERS"
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
    load tls_helper
}

# staged_with_tls APP: staging said it would run TLS distribution.
staged_with_tls() {
    grep -qF "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true" \
        "$E2E_DIR/droplets/$1.staging.log"
}

# meshed_over_tls MODE N...: the instances mesh, every connection is TLS with the peers'
# current certificates, and every agent says TLS and runs in MODE.
meshed_over_tls() {
    local mode=$1 n
    shift
    e2e_wait_full_mesh 90 "$@" >/dev/null
    run tls_mesh_over_tls "$@"
    [ "$status" -eq 0 ] || { printf '%s\n' "$output" >&2; return 1; }
    for n in "$@"; do
        foundation_wait 10 "instance $n's status to show TLS distribution" tls_status_ok "$n"
        e2e_agent_status_matches "$n" ".mode == \"$mode\""
    done
}

@test "dns: 4 instances of an app with only an apps.internal route mesh over mutual TLS" {
    staged_with_tls "$DNS_APP"
    local n start
    start=$(foundation_now)
    for n in "${DNS_SLOTS[@]}"; do
        E2E_APP=$DNS_APP tls_start_instance "$n" --route "$ROUTE"
    done
    e2e_dns_publish "$ROUTE" "${DNS_SLOTS[@]}"
    meshed_over_tls dns "${DNS_SLOTS[@]}"
    e2e_report "TLS dns cold start of 4: full mesh over TLS $(foundation_elapsed "$start") s after launch"
}

@test "static: 4 instances listed in ERLANG_CLUSTER_PEERS mesh over mutual TLS" {
    staged_with_tls "$STATIC_APP"
    local n start
    start=$(foundation_now)
    for n in "${STATIC_SLOTS[@]}"; do
        E2E_APP=$STATIC_APP tls_start_instance "$n" --env "ERLANG_CLUSTER_PEERS=$PEERS"
    done
    meshed_over_tls static "${STATIC_SLOTS[@]}"
    e2e_report "TLS static cold start of 4: full mesh over TLS $(foundation_elapsed "$start") s after launch"
}
