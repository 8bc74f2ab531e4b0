#include "discovery/static.h"

#include "common/node_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct static_state {
    struct strlist peers;
};

static enum registry_status static_discover(void *state, int64_t now_ms, struct strlist *peers,
                                            char *err, size_t errlen)
{
    (void)now_ms;
    struct static_state *st = state;
    for (size_t i = 0; i < st->peers.len; i++) {
        if (strlist_add(peers, st->peers.items[i]) != 0) {
            snprintf(err, errlen, "out of memory");
            return REGISTRY_FAILED;
        }
    }
    return REGISTRY_OK;
}

static enum registry_status static_nothing(void *state, int64_t now_ms, char *err, size_t errlen)
{
    (void)state;
    (void)now_ms;
    (void)err;
    (void)errlen;
    return REGISTRY_OK;
}

static enum registry_status static_deregister(void *state, int64_t now_ms, long budget_ms,
                                              char *err, size_t errlen)
{
    (void)budget_ms;
    return static_nothing(state, now_ms, err, errlen);
}

static void static_destroy(void *state)
{
    struct static_state *st = state;
    if (!st)
        return;
    strlist_clear(&st->peers);
    free(st);
}

int static_backend_new(const char *peers, const char *basename, const char *self_node,
                       struct registry_backend *out, char *err, size_t errlen)
{
    struct static_state *st = calloc(1, sizeof *st);
    char *copy = strdup(peers ? peers : "");
    if (!st || !copy) {
        snprintf(err, errlen, "out of memory");
        free(st);
        free(copy);
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        char name[NODE_NAME_MAX + 1];
        if (strchr(tok, '@') == NULL && ip_literal_valid(tok) && basename)
            snprintf(name, sizeof name, "%.64s@%.100s", basename, tok);
        else
            snprintf(name, sizeof name, "%.255s", tok);
        if (!node_name_valid(name)) {
            snprintf(err, errlen,
                     "ERLANG_CLUSTER_PEERS: \"%.100s\" is neither a node name nor an IP address "
                     "(accepted: comma-separated base@host like app@10.0.0.5, or IP addresses)",
                     tok);
            goto fail;
        }
        if (self_node && strcmp(name, self_node) == 0)
            continue;
        if (strlist_add_unique(&st->peers, name) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    free(copy);
    *out = (struct registry_backend){
        .name = "static",
        .has_lease = false,
        .state = st,
        .register_self = static_nothing,
        .renew = static_nothing,
        .discover = static_discover,
        .deregister = static_deregister,
        .destroy = static_destroy,
    };
    return 0;
fail:
    free(copy);
    static_destroy(st);
    return -1;
}
