#!/usr/bin/env bats
# shellcheck source-path=SCRIPTDIR
# A rolling deploy (cf push --strategy rolling): new droplets of the same app replace the
# running instances one at a time, as the platform does: start a new instance, wait for it,
# then SIGTERM an old one. With the build cache given back at the next staging the droplets
# share one cookie and the cluster stays whole; with the cache cleared the generations form
# two clusters, and their refused handshakes must not flood the app log.

ROLLING_WINDOW_S=${ROLLING_WINDOW_S:-40}  # the measured window for log growth
ROLLING_MAX_LINES_PER_MIN=6               # per instance, cookies differing

setup_file() {
    load helper
    e2e_setup_file
    e2e_start_registry
}

teardown_file() {
    load helper
    e2e_teardown_file
}

setup() {
    load helper
}

# stage_version VERSION CACHE_ROOT: stage the sample app with its code changed to say
# VERSION, as droplet $E2E_DIR/droplets/$E2E_APP_NAME-VERSION, with that build cache root.
stage_version() {
    local version=$1 cache_root=$2 src=$E2E_DIR/src-$1
    rm -rf "$src"
    mkdir -p "$E2E_DIR/droplets"
    cp -a "$E2E_REPO/tests/fixtures/elixir-app" "$src"
    printf 'defmodule ClusterApp.Version do\n  def version, do: "%s"\nend\n' "$version" \
        >"$src/lib/cluster_app/version.ex"
    "$E2E_REPO/tests/support/cf-stage" --app "$src" \
        --droplet "$E2E_DIR/droplets/$E2E_APP_NAME-$version" --app-name "$E2E_APP_NAME" \
        --services-file "$E2E_DIR/vcap_services.json" \
        --buildpack "$E2E_BUILDPACK" --buildpack "$E2E_FINAL_BUILDPACK" \
        --cache-root "$cache_root" >"$E2E_DIR/droplets/$version.staging.log" 2>&1 3>&- || {
        cat "$E2E_DIR/droplets/$version.staging.log" >&2
        return 1
    }
}

# use_droplet VERSION: instances started from now on run that droplet (the app keeps its
# name; e2e_start_instance takes $E2E_DIR/droplets/$E2E_APP_NAME).
use_droplet() {
    ln -sfn "$E2E_APP_NAME-$1" "$E2E_DIR/droplets/$E2E_APP_NAME"
}

cookie_of() {
    cat "$E2E_DIR/droplets/$E2E_APP_NAME-$1/app/.erlang.cookie"
}

# retire N: what the platform does to an old instance: SIGTERM, wait, container gone.
retire() {
    e2e_stop_instance "$1" TERM
    e2e_wait_exit "$1" 15
    e2e_destroy_container "$1"
}

_node_up() {
    e2e_agent_status_matches "$1" '.node_up == true'
}

# wait_started N: the new instance's node is up (CF waits for the health check).
wait_started() {
    foundation_wait 60 "instance $1's node to be up" _node_up "$1"
}

# _sees_only N NODE...: instance N's connected_nodes are exactly the given nodes.
_sees_only() {
    local n=$1 view expected actual
    shift
    view=$(e2e_view "$n" 2>/dev/null) || return 1
    expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    actual=$(jq -r '.connected_nodes[]' <<<"$view" | sort)
    [[ $actual == "$expected" ]]
}

node_of() {
    printf '%s@%s\n' "$E2E_APP_NAME" "$(foundation_instance_ip "$1")"
}

# _refused_all N M...: instance N's agent has found that each of M... refuses its cookie.
_refused_all() {
    local n=$1 m
    shift
    for m in "$@"; do
        e2e_agent_status_matches "$n" \
            "any(.peers[]; .name == \"$(node_of "$m")\" and .cookie_refused == true)" || return 1
    done
}

# _each_refused_by M N...: each of N... has found that M refuses its cookie.
_each_refused_by() {
    local m=$1 n
    shift
    for n in "$@"; do
        _refused_all "$n" "$m" || return 1
    done
}

# _two_pairs A B C D: A and B see only each other, and so do C and D.
_two_pairs() {
    _sees_only "$1" "$(node_of "$2")" && _sees_only "$2" "$(node_of "$1")" &&
        _sees_only "$3" "$(node_of "$4")" && _sees_only "$4" "$(node_of "$3")"
}

log_lines() {
    wc -l <"$(e2e_agent_log "$1")"
}

@test "rolling deploy with the build cache: one cookie, a full mesh of old and new at every step" {
    local cache=$E2E_DIR/cache-rolling start n
    stage_version v1 "$cache"
    stage_version v2 "$cache"
    grep -q 'Cookie: kept from the previous staging' "$E2E_DIR/droplets/v2.staging.log"
    [ "$(cookie_of v1)" = "$(cookie_of v2)" ]

    use_droplet v1
    start=$(foundation_now)
    for n in 0 1 2; do
        e2e_start_instance "$n"
    done
    e2e_wait_full_mesh 90 0 1 2 >/dev/null
    e2e_report "v1 x3: full mesh $(foundation_elapsed "$start") s after launch"

    use_droplet v2
    local running=(0 1 2) new old step=0
    for old in 0 1 2; do
        step=$((step + 1))
        new=$((old + 3))
        start=$(foundation_now)
        e2e_start_instance "$new"
        wait_started "$new"
        e2e_wait_full_mesh 60 "${running[@]}" "$new" >/dev/null
        e2e_report "step $step: v2 instance $new up, full mesh of ${#running[@]} old/new + it $(foundation_elapsed "$start") s after its launch"
        running=("${running[@]:1}" "$new")
        start=$(foundation_now)
        retire "$old"
        e2e_wait_full_mesh 30 "${running[@]}" >/dev/null
        e2e_report "step $step: v1 instance $old stopped, full mesh of ${running[*]} $(foundation_elapsed "$start") s after SIGTERM"
    done
    e2e_watch_mesh 5 3 4 5 >/dev/null
}

@test "rolling deploy after the build cache was cleared: two clusters, no crash, bounded log" {
    # Running: v2 instances 3 4 5 (from the test above, or started here when run alone).
    use_droplet v2
    [[ -d $E2E_DIR/droplets/$E2E_APP_NAME-v2 ]] || stage_version v2 "$E2E_DIR/cache-rolling"
    e2e_ensure_instances 3 4 5
    e2e_wait_full_mesh 90 3 4 5 >/dev/null

    stage_version v3 "$E2E_DIR/cache-cleared"
    grep -q 'Cookie: generated: first staging, or the build cache was cleared' \
        "$E2E_DIR/droplets/v3.staging.log"
    [ "$(cookie_of v2)" != "$(cookie_of v3)" ]
    use_droplet v3

    local start
    # Step 1: v3 instance 6 up; it is alone, the v2 cluster stays whole.
    start=$(foundation_now)
    e2e_start_instance 6
    wait_started 6
    foundation_wait 30 "instance 6 to find that 3 4 5 refuse its cookie" _refused_all 6 3 4 5
    foundation_wait 30 "3 4 5 to find that 6 refuses theirs" _each_refused_by 6 3 4 5
    e2e_full_mesh 3 4 5
    _sees_only 6
    e2e_report "step 1: v3 instance 6 alone, v2 cluster 3 4 5 whole; refusals known both ways $(foundation_elapsed "$start") s after launch"
    retire 3

    # Step 2: v3 instance 7; two clusters {4,5} and {6,7}.
    local n since_step2=()
    for n in 4 5 6; do since_step2[n]=$(log_lines "$n"); done
    local step2_start
    step2_start=$(foundation_now)
    start=$step2_start
    e2e_start_instance 7
    wait_started 7
    foundation_wait 60 "two clusters {4,5} and {6,7}" _two_pairs 4 5 6 7
    foundation_wait 30 "7 to find that 4 5 refuse its cookie" _refused_all 7 4 5
    # The steady window starts once both sides have told the refusals apart: the other
    # side's first dials and probes belong to the discovery burst, counted below.
    foundation_wait 30 "4 5 to find that 7 refuses theirs" _each_refused_by 7 4 5
    e2e_report "step 2: two clusters {4,5} (v2) and {6,7} (v3) $(foundation_elapsed "$start") s after launch"

    # The measured window: both generations running side by side, cookies differing.
    local before=() after=() worst=0 rate
    for n in 4 5 6 7; do before[n]=$(log_lines "$n"); done
    start=$(foundation_now)
    e2e_watch_mesh "$ROLLING_WINDOW_S" 4 5 >/dev/null
    local window
    window=$(foundation_elapsed "$start")
    for n in 4 5 6 7; do
        after[n]=$(log_lines "$n")
        rate=$(awk -v d=$((after[n] - before[n])) -v w="$window" 'BEGIN { printf "%.1f", d * 60 / w }')
        e2e_report "instance $n: app log grew $((after[n] - before[n])) lines in $window s = $rate lines/min (cookies differ)"
        awk -v r="$rate" -v m="$ROLLING_MAX_LINES_PER_MIN" 'BEGIN { exit !(r <= m) }' || {
            tail -n 30 "$(e2e_agent_log "$n")" >&2
            e2e_fail "instance $n's log grew $rate lines/min, more than $ROLLING_MAX_LINES_PER_MIN"
            return 1
        }
        awk -v r="$rate" -v w="$worst" 'BEGIN { exit !(r > w) }' && worst=$rate
    done
    e2e_report "worst app log growth while the generations differ: $worst lines/min per instance"
    local total
    total=$(foundation_elapsed "$step2_start")
    for n in 4 5 6; do
        e2e_report "instance $n, from instance 7's launch (discovery burst included): $((after[n] - since_step2[n])) lines in $total s"
    done
    _sees_only 6 "$(node_of 7)"

    # Every refusal is said once per peer in the agent's log.
    for n in 6 7; do
        [ "$(grep -c "$(node_of 4) refused the handshake: a different cookie" "$(e2e_agent_log "$n")")" -eq 1 ]
    done

    # No crash: every instance and its agent still run.
    for n in 4 5 6 7; do
        e2e_instance_running "$n"
        e2e_agent_status_matches "$n" '.state == "running"'
    done

    # The rollout ends: the v2 instances go, v3 is one cluster again.
    retire 4
    e2e_start_instance 8
    wait_started 8
    retire 5
    start=$(foundation_now)
    e2e_wait_full_mesh 60 6 7 8 >/dev/null
    e2e_report "rollout done: full mesh of v3 instances 6 7 8 $(foundation_elapsed "$start") s after the last SIGTERM"
}
