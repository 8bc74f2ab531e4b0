/* Writing the run dir's files for one plan: with TLS the guests' optfile, guest.args (flags
 * for every BEAM but the app's), and in the launcher the TLS record and the app's optfile
 * (or the record removed), the relx vm.args, claim_owner, the claim file node.args,
 * start_style and node_name; the env file last, so the wrapper never sources one whose files are not
 * there yet. */
#ifndef ECB_LAUNCH_LAUNCH_FILES_H
#define ECB_LAUNCH_LAUNCH_FILES_H

#include <stddef.h>

#include "launch/plan.h"

/* Returns 0, or -1 with one line in err. */
int launch_write_files(const struct launch_plan *plan, char *err, size_t errlen);

#endif
