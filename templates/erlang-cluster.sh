# shellcheck shell=bash
# erlang-cluster-buildpack launch wrapper (profile.d).
#
# Sourced, never executed, by the shell that then runs the app's start command: the CF
# launcher's bash or a `cf ssh` shell. Both are `bash -c SCRIPT ARGV0 APP_DIR COMMAND`; only
# $0 tells them apart (…/launcher vs …/shell).
# Staging puts one copy in deps/IDX/profile.d and one in app/.profile.d; whichever is
# sourced first does the work, the other returns at once. It must be safe under `set -eu`
# and any IFS, never exit the shell, never evaluate a setting's value, and print one line.
#
# For a clustered process type it runs `erlang-cluster-agent prepare`, which writes the
# launch files into the run dir and an env file of quoted exports, sources that env file,
# and (launcher only) starts `erlang-cluster-agent run` in the background. When prepare
# fails, the app starts unclustered. See docs/internals.md, "Launch".
if [ -z "${ERLANG_CLUSTER_WRAPPER_SOURCED-}" ]; then
    ERLANG_CLUSTER_WRAPPER_SOURCED=1

    erlang_cluster_wrapper() {
        local IFS=$' \t\n'
        local agent run_dir env_file status launcher_start_command mode
        if [ "${ERLANG_CLUSTER_DISABLE-}" = "true" ]; then
            echo "erlang-cluster: ERLANG_CLUSTER_DISABLE is true; the app starts unclustered"
            return 0
        fi
        if [ -z "${DEPS_DIR-}" ]; then
            echo "erlang-cluster: not clustering this process: DEPS_DIR is not set" >&2
            return 0
        fi
        agent="$DEPS_DIR/@@DEPS_IDX@@/bin/erlang-cluster-agent"
        if [ ! -x "$agent" ]; then
            echo "erlang-cluster: not clustering this process: $agent is missing" >&2
            return 0
        fi
        run_dir="${TMPDIR:-/tmp}/erlang-cluster"

        # Only the app's start claims its node name. The launcher runs `bash -c SCRIPT
        # …/launcher APP_DIR START_COMMAND`; `cf ssh` runs the same with …/shell as $0 and the
        # same $1 and $2, so $0 decides. prepare --launcher also refuses the claim when an
        # earlier start in this container still holds it (the agent's lock, a live claimer)
        # and then answers 11: this shell is a guest.
        mode=shell
        if [ "${0##*/}" = launcher ] && [ "$#" -ge 2 ] && [ -n "${HOME-}" ] &&
            { [ "$1" = "$HOME" ] || [ "$1" -ef "$HOME" ]; }; then
            mode=launcher
            launcher_start_command="$2"
        fi

        if [ "$mode" = launcher ]; then
            "$agent" prepare --run-dir "$run_dir" --launcher "$launcher_start_command" && status=0 || status=$?
            if [ "$status" -eq 11 ]; then
                mode=shell
                status=0
            fi
        else
            "$agent" prepare --run-dir "$run_dir" --shell && status=0 || status=$?
        fi
        if [ "$mode" = launcher ]; then
            env_file="$run_dir/env.sh"
        else
            env_file="$run_dir/shell-env.sh"
        fi
        if [ "$status" -ne 0 ]; then
            # 10: not clustered by choice; anything else: prepare has logged why.
            return 0
        fi
        if [ ! -r "$env_file" ]; then
            echo "erlang-cluster: not clustering this process: $env_file is missing" >&2
            return 0
        fi
        # shellcheck disable=SC1090 # written by prepare: quoted exports only
        . "$env_file"

        if [ "$mode" = launcher ]; then
            # A child of this shell, which becomes the app by exec: the agent's parent is
            # the app. It holds a lock in the run dir, so a second start exits at once.
            "$agent" run --run-dir "$run_dir" </dev/null &
        fi
        return 0
    }

    erlang_cluster_wrapper "$@" || true
    unset -f erlang_cluster_wrapper
fi
