/* `erlang-cluster-agent prepare`: resolve the run-time config and write the launch files
 * (run dir, env.sh, claim and guest args, relx vm.args, cookie) for the wrapper.
 *
 * Usage (from the launch wrapper):
 *   erlang-cluster-agent prepare --run-dir DIR --launcher START_COMMAND
 *       the launcher's shell: claims the node name for the app (node.args), writes env.sh;
 *       when an earlier start in the container still holds the claim, refuses it and acts
 *       as --shell (exit PREPARE_GUEST)
 *   erlang-cluster-agent prepare --run-dir DIR --shell
 *       any other shell (cf ssh): writes shell-env.sh pointing every BEAM at guest.args
 * Exit status: PREPARE_CLUSTERED (source the env file), PREPARE_NOT_CLUSTERED (disabled or
 * process type not selected: leave the app alone), anything else: an error, already logged
 * in one line; PREPARE_GUEST (--launcher refused: source shell-env.sh, start no agent). */
#ifndef ECB_LAUNCH_PREPARE_H
#define ECB_LAUNCH_PREPARE_H

enum prepare_status {
    PREPARE_CLUSTERED = 0,
    PREPARE_FAILED = 1,
    PREPARE_USAGE = 2,
    PREPARE_NOT_CLUSTERED = 10,
    PREPARE_GUEST = 11,
};

int launch_prepare_main(int argc, char **argv);

#endif
