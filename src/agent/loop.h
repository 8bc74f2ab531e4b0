/* The agent's run loop: one thread, timers, signals taken synchronously from a signalfd.
 * Waits (bounded) for the app node, releases the name claim, registers, renews the lease on
 * time, discovers peers and has the app node connect the missing ones; on SIGTERM/SIGINT or
 * the app node's death it deregisters within a second and returns. The outline is in loop.c,
 * the registry's timers in loop_registry.c, the peers in loop_peers.c. */
#ifndef ECB_AGENT_LOOP_H
#define ECB_AGENT_LOOP_H

#include "agent/erlang_node.h"
#include "agent/peers.h"
#include "discovery/registry.h"
#include "common/log.h"

#include <stdint.h>

struct loop_settings {
    const char *mode;              /* discovery mode name, for status */
    const char *cluster;
    const char *node_name;         /* the app node */
    const char *instance_id;       /* as registered, or NULL */
    const char *run_dir;           /* status.json and the name claim; NULL: neither */
    int poll_interval_s;           /* discovery once the mesh is complete */
    int heartbeat_interval_s;      /* lease renewal */
    int node_wait_s;               /* how long to wait for the app node to come up */
    int signal_fd;                 /* signalfd for SIGTERM, SIGINT */
};

/* Runs until a stop signal or the app node's death (returns 0), or the app node never came
 * up (returns 1). */
int agent_loop_run(const struct loop_settings *settings, struct registry_backend *registry,
                   struct erlang_node *node, const struct log_sink *log);

/* Capped exponential backoff for registry failures, with +-25% jitter from random (any
 * 32-bit value): base 1 s doubling per failure, at most cap_ms. Exposed for tests. */
int64_t registry_backoff_ms(unsigned failures, int64_t cap_ms, uint32_t random);

/* How often to run discovery: fast while starting or while a peer that
 * may just be starting is unconnected, else the configured interval. */
int64_t loop_poll_interval_ms(bool starting, bool mesh_complete, bool fresh_unconnected,
                              int poll_interval_s);

/* Takes a discovery's list into the peer set: logs (debug) each name the set did not want
 * yet, then records the list as wanted. Linear in the list and the set. Returns -1 when out
 * of memory. Exposed for tests and bench/registry_scale.c. */
int loop_take_discovery(struct peer_set *peers, const struct strlist *found, int64_t now,
                        const struct log_sink *log);

#endif
