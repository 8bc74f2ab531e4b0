/* Which back end serves which discovery mode, and the no-op callbacks of lease-less ones. */
#include "discovery/registry.h"
#include "discovery/dns.h"
#include "discovery/eureka.h"
#include "discovery/peer_bounds.h"
#include "discovery/static.h"

#include <stdio.h>

static enum registry_status nothing_to_do(void *state, int64_t now_ms, char *err, size_t errlen)
{
    (void)state;
    (void)now_ms;
    (void)err;
    (void)errlen;
    return REGISTRY_OK;
}

static enum registry_status nothing_to_delete(void *state, int64_t now_ms, long budget_ms,
                                              char *err, size_t errlen)
{
    (void)state;
    (void)now_ms;
    (void)budget_ms;
    (void)err;
    (void)errlen;
    return REGISTRY_OK;
}

struct registry_backend registry_leaseless(const char *name, void *state,
                                           enum registry_status (*discover)(
                                               void *state, int64_t now_ms,
                                               struct strlist *peers, char *err, size_t errlen),
                                           void (*destroy)(void *state))
{
    return (struct registry_backend){
        .name = name,
        .has_lease = false,
        .state = state,
        .register_self = nothing_to_do,
        .renew = nothing_to_do,
        .discover = discover,
        .deregister = nothing_to_delete,
        .destroy = destroy,
    };
}

/* Discovery none finds nobody, yet the loop still runs it: it waits for the app node, hands
 * the name claim over to later BEAMs and watches the node. */
static enum registry_status find_nobody(void *state, int64_t now_ms, struct strlist *peers,
                                        char *err, size_t errlen)
{
    (void)peers;
    return nothing_to_do(state, now_ms, err, errlen);
}

static void destroy_nothing(void *state)
{
    (void)state;
}

static int registry_none_new(const struct config *cfg, const struct registry_runtime *rt,
                             struct registry_backend *out, char *err, size_t errlen)
{
    (void)cfg;
    (void)rt;
    (void)err;
    (void)errlen;
    *out = registry_leaseless("none", NULL, find_nobody, destroy_nothing);
    return 0;
}

static const struct {
    enum discovery_mode mode;
    registry_new_fn make;
} BACKENDS[] = {
    {DISCOVERY_EUREKA, registry_eureka_new},
    {DISCOVERY_DNS, registry_dns_new},
    {DISCOVERY_STATIC, registry_static_new},
    {DISCOVERY_NONE, registry_none_new},
};

int registry_new(const struct config *cfg, const struct registry_runtime *rt,
                 struct registry_backend *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof BACKENDS / sizeof BACKENDS[0]; i++) {
        if (BACKENDS[i].mode != cfg->discovery)
            continue;
        if (BACKENDS[i].make(cfg, rt, out, err, errlen) != 0)
            return -1;
        /* A registry's answer is bounded; a static list is the user's own. */
        if (cfg->discovery != DISCOVERY_EUREKA && cfg->discovery != DISCOVERY_DNS)
            return 0;
        if (peer_bounds_wrap(out, cfg->peer_network, rt->log, err, errlen) != 0) {
            out->destroy(out->state);
            *out = (struct registry_backend){0};
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "discovery mode %s has no registry back end",
             discovery_mode_name(cfg->discovery));
    return -1;
}
