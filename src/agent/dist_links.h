/* The app node's distribution connections as the kernel sees them: the established TCP
 * connections on the distribution port, read from /proc/net/tcp and tcp6 of the container.
 * Reading them costs the app node nothing (an rpc of nodes() costs both sides), so the agent
 * can watch a complete mesh every second and ask nodes() only when they change: a peer the
 * node dropped (a tick timeout, a partition) is noticed within a second, not at the next
 * look. */
#ifndef ECB_AGENT_DIST_LINKS_H
#define ECB_AGENT_DIST_LINKS_H

#include <stddef.h>
#include <stdint.h>

struct dist_links {
    size_t count;         /* established connections from or to the port */
    uint64_t fingerprint; /* of their address pairs, whatever the order of the lines */
};

/* Reads proc_net_dir/tcp and proc_net_dir/tcp6 (a missing tcp6 is no error). Returns 0, or
 * -1 with err set when tcp cannot be read. */
int dist_links_read(const char *proc_net_dir, int port, struct dist_links *out, char *err,
                    size_t errlen);

#endif
