/* The run dir: where the launch step leaves its files for the launch wrapper, for every BEAM
 * in the container and for the agent. Private to the app's user. */
#ifndef ECB_LAUNCH_RUN_DIR_H
#define ECB_LAUNCH_RUN_DIR_H

#include <stddef.h>

/* Files in the run dir, shared with the agent loop. */
#define RUN_DIR_NAME "erlang-cluster"          /* under ${TMPDIR:-/tmp} */
#define RUN_FILE_ENV "env.sh"                  /* the launcher shell's exports */
#define RUN_FILE_SHELL_ENV "shell-env.sh"      /* exports for any other shell */
#define RUN_FILE_NODE_ARGS "node.args"         /* the claim file (ERL_AFLAGS -args_file) */
#define RUN_FILE_GUEST_ARGS "guest.args"       /* flags for every BEAM but the app's */
#define RUN_FILE_VM_ARGS "vm.args"             /* relx releases: VMARGS_PATH */
#define RUN_FILE_RELEASE_ENV "release.env"   /* Mix release: sourced by its env.sh */
#define RUN_FILE_RELEASE_VM_ARGS "release-vm.args" /* Mix release: RELEASE_VM_ARGS */
#define RUN_FILE_RELEASE_REMOTE_VM_ARGS "release-remote-vm.args" /* RELEASE_REMOTE_VM_ARGS */
#define RUN_FILE_START_STYLE "start_style"     /* the style the launcher's prepare chose */
#define RUN_FILE_NODE_NAME "node_name"         /* the app node's name, one line */
#define RUN_FILE_CLAIM_OWNER "claim_owner"     /* "PID STARTTIME" of the shell that claimed */
#define RUN_FILE_AGENT_LOCK "agent.lock"       /* flock'ed by the running agent */
#define RUN_DIR_TRUSTED_CERTS "trusted-certs"  /* the agent's HTTPS trust (one file a CA) */

/* The run dir the wrapper uses when it passes none: ${TMPDIR:-/tmp}/erlang-cluster, from
 * the given environment. Writes into buf; returns -1 if it does not fit. */
int launch_default_run_dir(char *const *env, char *buf, size_t buflen);

/* "run_dir/name" into buf; -1 if it does not fit. */
int launch_run_path(char *buf, size_t buflen, const char *run_dir, const char *name);

/* Creates run_dir (mode 0700) or checks that the existing one is a directory owned by this
 * user, and makes it private: it holds the claim file every BEAM reads. Returns 0, or -1
 * with one line in err. */
int launch_ensure_run_dir(const char *run_dir, char *err, size_t errlen);

/* Replaces run_dir/name atomically by content (mode 0600). Returns 0, or -1 with one line
 * in err. */
int launch_write_run_file(const char *run_dir, const char *name, const char *content,
                          char *err, size_t errlen);

#endif
