/* The registry back-end interface: how the loop registers, renews, discovers and deregisters,
 * whatever the registry is (Eureka, CF internal DNS, a static list, none).
 *
 * Every back end is built the same way, from the resolved configuration and what the agent
 * holds at run time (registry_new picks the one cfg->discovery names); a new back end is one
 * file with one constructor of the registry_new_fn shape and one line in registry.c. */
#ifndef ECB_DISCOVERY_REGISTRY_H
#define ECB_DISCOVERY_REGISTRY_H

#include "common/config.h"
#include "common/log.h"
#include "common/strlist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum registry_status {
    REGISTRY_OK,
    REGISTRY_NOT_REGISTERED, /* renew: the registry forgot us (lease unknown): register again */
    REGISTRY_FAILED,         /* unreachable or refused: retry later, change nothing */
    REGISTRY_INTERRUPTED,    /* a signal arrived during the call */
};

struct registry_backend {
    const char *name;        /* "eureka", "dns", "static", "none" */
    bool has_lease;          /* registers and renews (false: register/renew are not called) */
    const char *instance_id; /* how the registry knows this instance (logs, status); NULL
                                without a lease. Owned by the back end. */
    void *state;
    enum registry_status (*register_self)(void *state, int64_t now_ms, char *err, size_t errlen);
    enum registry_status (*renew)(void *state, int64_t now_ms, char *err, size_t errlen);
    /* Fills peers (empty on entry) with valid node names of the other cluster members. */
    enum registry_status (*discover)(void *state, int64_t now_ms, struct strlist *peers,
                                     char *err, size_t errlen);
    /* Must finish within budget_ms. */
    enum registry_status (*deregister)(void *state, int64_t now_ms, long budget_ms, char *err,
                                       size_t errlen);
    void (*destroy)(void *state);
    /* Optional (NULL: the back end takes no notice). Before a discover: the names the agent
     * verified or is connected to, which a bounded answer keeps first (peer_bounds.h); the
     * list is copied. Returns -1 when out of memory (the last list then stays). */
    int (*tell_verified)(void *state, const struct strlist *names);
};

/* What a back end needs besides the configuration: what the agent holds at run time. */
struct registry_runtime {
    const char *node_name;       /* this instance's full node name */
    const char *ca_dir;          /* more CA certificates to trust (CF_SYSTEM_CERT_PATH), or NULL */
    const char *trust_dir;       /* a directory HTTPS clients may fill with the trusted
                                    certificates (http.h); NULL: no HTTPS */
    int interrupt_fd;            /* readable means "give up now" (the signalfd); -1: none */
    long budget_ms;              /* the most one call may take; 0: the back end's default */
    const struct log_sink *log;  /* must outlive the back end */
};

/* A back end's constructor. Fills *out and returns 0, or returns -1 with one line in err
 * naming the setting at fault; *out is then left zeroed. */
typedef int (*registry_new_fn)(const struct config *cfg, const struct registry_runtime *rt,
                               struct registry_backend *out, char *err, size_t errlen);

/* The back end cfg->discovery names. */
int registry_new(const struct config *cfg, const struct registry_runtime *rt,
                 struct registry_backend *out, char *err, size_t errlen);

/* A back end with nothing to register, renew or delete: an instance is listed while the
 * platform runs it (dns), or the list is fixed (static). */
struct registry_backend registry_leaseless(const char *name, void *state,
                                           enum registry_status (*discover)(
                                               void *state, int64_t now_ms,
                                               struct strlist *peers, char *err, size_t errlen),
                                           void (*destroy)(void *state));

#endif
