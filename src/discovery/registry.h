/* The registry back-end interface: how the loop registers, renews, discovers and deregisters,
 * whatever the registry is (Eureka, CF internal DNS, a static list). */
#ifndef ECB_DISCOVERY_REGISTRY_H
#define ECB_DISCOVERY_REGISTRY_H

#include "common/strlist.h"

#include <stdbool.h>
#include <stdint.h>

enum registry_status {
    REGISTRY_OK,
    REGISTRY_NOT_REGISTERED, /* renew: the registry forgot us (lease unknown): register again */
    REGISTRY_FAILED,         /* unreachable or refused: retry later, change nothing */
    REGISTRY_INTERRUPTED,    /* a signal arrived during the call */
};

struct registry_backend {
    const char *name;     /* "eureka", "static" */
    bool has_lease;       /* registers and renews (false: register/renew are not called) */
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
};

#endif
