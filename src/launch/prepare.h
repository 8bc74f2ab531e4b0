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

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"

enum prepare_status {
    PREPARE_CLUSTERED = 0,
    PREPARE_FAILED = 1,
    PREPARE_USAGE = 2,
    PREPARE_NOT_CLUSTERED = 10,
    PREPARE_GUEST = 11,
};

/* Files in the run dir, shared with the agent loop. */
#define RUN_DIR_NAME "erlang-cluster"          /* under ${TMPDIR:-/tmp} */
#define RUN_FILE_ENV "env.sh"                  /* the launcher shell's exports */
#define RUN_FILE_SHELL_ENV "shell-env.sh"      /* exports for any other shell */
#define RUN_FILE_NODE_ARGS "node.args"         /* the claim file (ERL_AFLAGS -args_file) */
#define RUN_FILE_GUEST_ARGS "guest.args"       /* flags for every BEAM but the app's */
#define RUN_FILE_VM_ARGS "vm.args"             /* relx releases: VMARGS_PATH */
#define RUN_FILE_START_STYLE "start_style"     /* the style the launcher's prepare chose */
#define RUN_FILE_NODE_NAME "node_name"         /* the app node's name, one line */
#define RUN_FILE_CLAIM_OWNER "claim_owner"     /* "PID STARTTIME" of the shell that claimed */
#define RUN_FILE_AGENT_LOCK "agent.lock"       /* flock'ed by the running agent */

int launch_prepare_main(int argc, char **argv);

/* Whether an earlier start in this container still holds the app's name claim: the agent's
 * lock in run_dir is held, or the process recorded in claim_owner is alive (same PID and
 * start time, so a reused PID does not count). Returns true with a short reason in why. */
bool launch_claim_live(const char *run_dir, char *why, size_t whylen);

/* Records owner (the shell that becomes the app by exec) as the claim's owner in run_dir.
 * Returns 0, or -1 with one line in err. */
int launch_record_claim_owner(const char *run_dir, pid_t owner, char *err, size_t errlen);

/* Once the app's node is up: atomically replace node.args by the guest flags, so that every
 * BEAM started later in the container (remote shells, mix tasks) no longer takes the app's
 * name or port. guest.args stays in place. Returns 0, or -1 with one line in err. */
int launch_release_name_claim(const char *run_dir, char *err, size_t errlen);

/* The run dir the wrapper uses when it passes none: ${TMPDIR:-/tmp}/erlang-cluster, from
 * the given environment. Writes into buf; returns -1 if it does not fit. */
int launch_default_run_dir(char *const *env, char *buf, size_t buflen);

/* Detect the start style from the launcher's start command. app_dir is the directory the
 * command runs in (relative script paths are resolved against it). On success fills
 * *script with the release script's absolute path for the release styles (caller frees;
 * NULL for START_STYLE_ERL). Never returns START_STYLE_AUTO. */
enum start_style launch_detect_start_style(const char *start_command, const char *app_dir,
                                           char **script);

#endif
