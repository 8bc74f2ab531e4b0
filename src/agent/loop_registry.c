/* The registry's side of the loop: registration, lease renewal on time, discovery, and a
 * capped, jittered backoff when the registry fails (connected peers stay connected). */
#include "agent/loop_state.h"
#include "common/clock.h"
#include "common/nameset.h"

#include <malloc.h>
#include <sys/random.h>

int64_t registry_backoff_ms(unsigned failures, int64_t cap_ms, uint32_t random)
{
    int64_t delay = 1000;
    for (unsigned i = 1; i < failures && delay < cap_ms; i++)
        delay *= 2;
    if (delay > cap_ms)
        delay = cap_ms;
    /* Take off up to a quarter at random so restarted instances do not retry in step. */
    return delay - (int64_t)((uint64_t)(delay / 4) * random / UINT32_MAX);
}

/* A registry call worked. A working lease call does not end a run of failing discoveries
 * (the registry is reachable but its answers are unusable): only a good discovery does, so
 * such a failure is announced once, not again after every renewal. */
static void registry_ok(struct loop_state *st, bool discovery)
{
    if (st->registry_down && st->registry_down_for_discovery && !discovery)
        return;
    if (st->registry_down)
        LOG_INFO(st->log, "registry reachable again (after %u failed attempts)",
                 st->registry_failures);
    st->registry_down = false;
    st->registry_down_for_discovery = false;
    st->registry_failures = 0;
    status_error_clear(&st->last_error, REGISTRY_ERR);
}

/* Counts a failed registry call, logs it (once, then at most every REPEAT_LOG_MS) and returns
 * the backoff before the next attempt. */
static int64_t registry_failed(struct loop_state *st, int64_t now, const char *what,
                               const char *err, bool discovery)
{
    st->registry_failures++;
    uint32_t random = 0;
    if (getrandom(&random, sizeof random, GRND_NONBLOCK) != (ssize_t)sizeof random)
        random = (uint32_t)now;
    int64_t cap = (int64_t)st->cfg->heartbeat_interval_s * 1000;
    if (cap > 30000)
        cap = 30000;
    if (cap < 1000)
        cap = 1000;
    int64_t delay = registry_backoff_ms(st->registry_failures, cap, random);
    note_error(st, REGISTRY_ERR, "%s: %s", what, err);
    if (!st->registry_down) {
        LOG_WARN(st->log, "registry unreachable: %s: %s (retrying with backoff; connected peers "
                          "stay connected)",
                 what, err);
        st->registry_down = true;
        st->registry_down_for_discovery = discovery;
        st->registry_logged_at = now;
    } else if (now - st->registry_logged_at >= REPEAT_LOG_MS) {
        LOG_WARN(st->log, "registry still unreachable after %u attempts: %s: %s",
                 st->registry_failures, what, err);
        st->registry_logged_at = now;
    } else {
        LOG_DEBUG(st->log, "%s failed (attempt %u, next in %lld ms): %s", what,
                  st->registry_failures, (long long)delay, err);
    }
    if (!discovery)
        st->registry_down_for_discovery = false;
    return delay;
}

int loop_take_discovery(struct peer_set *peers, const struct strlist *found, int64_t now,
                        const struct log_sink *log)
{
    if (log->level >= LOG_LEVEL_DEBUG) {
        struct nameset wanted;
        if (nameset_init(&wanted, peers->len) != 0)
            return -1;
        for (size_t j = 0; j < peers->len; j++) {
            if (peers->items[j].wanted && nameset_add(&wanted, peers->items[j].name, j) < 0) {
                nameset_free(&wanted);
                return -1;
            }
        }
        for (size_t i = 0; i < found->len; i++)
            if (!nameset_find(&wanted, found->items[i], NULL))
                LOG_DEBUG(log, "registry lists peer %s", found->items[i]);
        nameset_free(&wanted);
    }
    return peer_set_update_wanted(peers, found, now);
}

/* What the lease calls leave for discovery. */
enum lease_outcome {
    LEASE_GO_ON,       /* registered and renewed as due: discover if due */
    LEASE_RETRY_LATER, /* a call failed: everything waits out the backoff */
    LEASE_INTERRUPTED, /* a stop signal arrived */
};

static enum lease_outcome register_self(struct loop_state *st, int64_t now)
{
    char err[512];
    struct registry_backend *reg = st->reg;
    st->registration_sent = true;
    enum registry_status s = reg->register_self(reg->state, now, err, sizeof err);
    if (s == REGISTRY_INTERRUPTED)
        return LEASE_INTERRUPTED;
    if (s != REGISTRY_OK) {
        st->registry_retry_at = now + registry_failed(st, now, "registration", err, false);
        return LEASE_RETRY_LATER;
    }
    registry_ok(st, false);
    st->registered = true;
    st->registered_at = time(NULL);
    st->renew_at = now + (int64_t)st->cfg->heartbeat_interval_s * 1000;
    st->discover_at = now;
    LOG_INFO(st->log, "registered with the %s registry as %s (node %s)", reg->name,
             st->cfg->instance_id ? st->cfg->instance_id : "-", st->cfg->node_name);
    return LEASE_GO_ON;
}

static enum lease_outcome renew_lease(struct loop_state *st, int64_t now)
{
    char err[512];
    struct registry_backend *reg = st->reg;
    enum registry_status s = reg->renew(reg->state, now, err, sizeof err);
    if (s == REGISTRY_INTERRUPTED)
        return LEASE_INTERRUPTED;
    if (s == REGISTRY_NOT_REGISTERED) {
        registry_ok(st, false);
        LOG_WARN(st->log, "the registry no longer knows this instance (renewal answered "
                          "404); registering again");
        note_error(st, REGISTRY_ERR, "%s", err);
        st->registered = false;
        st->registered_at = 0;
        return register_self(st, monotonic_ms());
    }
    if (s != REGISTRY_OK) {
        st->registry_retry_at = now + registry_failed(st, now, "lease renewal", err, false);
        return LEASE_RETRY_LATER;
    }
    registry_ok(st, false);
    st->renew_at = now + (int64_t)st->cfg->heartbeat_interval_s * 1000;
    LOG_DEBUG(st->log, "lease renewed");
    return LEASE_GO_ON;
}

/* The names this agent verified or is connected to, for a back end whose answers are bounded:
 * those keep their place however many names the registry lists (peer_bounds.h). */
static void tell_verified(struct loop_state *st)
{
    struct registry_backend *reg = st->reg;
    if (reg->tell_verified == NULL)
        return;
    struct strlist names = {0};
    int rc = 0;
    for (size_t i = 0; i < st->peers.len && rc == 0; i++) {
        const struct peer *p = &st->peers.items[i];
        if (p->verified || p->connected)
            rc = strlist_add(&names, p->name);
    }
    if (rc == 0)
        rc = reg->tell_verified(reg->state, &names);
    if (rc != 0)
        LOG_ERROR(st->log, "cannot pass the verified peers to discovery: out of memory");
    strlist_clear(&names);
}

/* Discovery when due. Returns false when a signal arrived. */
static bool discover(struct loop_state *st)
{
    char err[512];
    struct registry_backend *reg = st->reg;
    int64_t now = monotonic_ms();
    if (now < st->discover_at || now < st->registry_retry_at)
        return true;
    tell_verified(st);
    struct strlist found = {0};
    enum registry_status s = reg->discover(reg->state, now, &found, err, sizeof err);
    if (s == REGISTRY_INTERRUPTED) {
        strlist_clear(&found);
        return false;
    }
    if (s != REGISTRY_OK) {
        /* Keep the peers we knew: a failing registry never disconnects anyone. Only the
         * next discovery waits out the backoff; lease renewals stay on their own timer. */
        strlist_clear(&found);
        st->discover_at = now + registry_failed(st, now, "discovery", err, true);
        return true;
    }
    registry_ok(st, true);
    st->last_discovery_at = time(NULL);
    if (loop_take_discovery(&st->peers, &found, now, st->log) != 0)
        LOG_ERROR(st->log, "cannot record discovered peers: out of memory");
    strlist_clear(&found);
    /* The answer and its parse (a few hundred kB of cJSON nodes at 64 instances) are freed by
     * now, but glibc keeps freed heap pages for the next allocations: hand them back, so an
     * idle agent holds what it uses, not what its largest answer needed. The result only says
     * whether any page was released. */
    (void)malloc_trim(0);
    st->discover_at = now + loop_current_interval(st, now);
    st->check_at = now;
    return true;
}

bool loop_registry_discover(struct loop_state *st)
{
    return discover(st);
}

bool loop_registry_step(struct loop_state *st, int64_t now)
{
    if (now < st->registry_retry_at)
        return true;
    enum lease_outcome lease = LEASE_GO_ON;
    if (st->reg->has_lease && !st->registered)
        lease = register_self(st, now);
    else if (st->reg->has_lease && now >= st->renew_at)
        lease = renew_lease(st, now);
    if (lease == LEASE_INTERRUPTED)
        return false;
    return lease == LEASE_RETRY_LATER || discover(st);
}
