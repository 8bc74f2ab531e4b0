/* The name claim: the app's node name is taken once per container. node.args (the claim
 * file every BEAM reads through ERL_AFLAGS) carries the name until the app's node is up;
 * claim_owner records which process claimed it, so a later start can tell a live claim from
 * a stale one. */
#ifndef ECB_LAUNCH_CLAIM_H
#define ECB_LAUNCH_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether an earlier start in this container still holds the app's name claim: the agent's
 * lock in run_dir is held, or the process recorded in claim_owner is alive (same PID and
 * start time, so a reused PID does not count). Returns true with a short reason in why. */
bool launch_claim_live(const char *run_dir, char *why, size_t whylen);

/* The claim's owner (the launcher's shell, which runs the start command: its pre-steps, then
 * the app): 1 while it runs, 0 once it is gone, -1 when run_dir records none. */
int launch_claim_owner_state(const char *run_dir);

/* Records owner (the shell that becomes the app by exec) as the claim's owner in run_dir.
 * Returns 0, or -1 with one line in err. */
int launch_record_claim_owner(const char *run_dir, pid_t owner, char *err, size_t errlen);

/* Once the app's node is up: atomically replace node.args by the guest flags, so that every
 * BEAM started later in the container (remote shells, mix tasks) no longer takes the app's
 * name or port. guest.args stays in place. Returns 0, or -1 with one line in err. */
int launch_release_name_claim(const char *run_dir, char *err, size_t errlen);

#endif
