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

static void static_destroy(void *state)
{
    struct static_state *st = state;
    if (!st)
        return;
    strlist_clear(&st->peers);
    free(st);
}

int registry_static_new(const struct config *cfg, const struct registry_runtime *rt,
                        struct registry_backend *out, char *err, size_t errlen)
{
    const char *basename = cfg->node_basename;
    const char *self_node = rt->node_name;
    struct static_state *st = calloc(1, sizeof *st);
    char *copy = strdup(cfg->peers ? cfg->peers : "");
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
    *out = registry_leaseless("static", st, static_discover, static_destroy);
    return 0;
fail:
    free(copy);
    static_destroy(st);
    return -1;
}
