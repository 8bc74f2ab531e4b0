/* Which instances of a registry answer become peers, and why the others do not. */
#include "discovery/eureka.h"

#include "common/nameset.h"
#include "common/node_name.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *string_member(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Whether host (a node name's host part) is the address ip_addr, compared as addresses. */
static bool host_is_address(const char *host, const char *ip_addr)
{
    unsigned char a[16], b[16];
    if (!ip_addr)
        return false;
    if (inet_pton(AF_INET, host, a) == 1)
        return inet_pton(AF_INET, ip_addr, b) == 1 && memcmp(a, b, 4) == 0;
    if (inet_pton(AF_INET6, host, a) == 1)
        return inet_pton(AF_INET6, ip_addr, b) == 1 && memcmp(a, b, 16) == 0;
    return false;
}

static void consider_instance(const cJSON *inst, const struct eureka_self *self,
                              const char *self_id, struct strlist *peers, struct nameset *listed,
                              eureka_reject_fn reject, void *ctx, int *oom)
{
    if (!cJSON_IsObject(inst))
        return;
    const char *id = string_member(inst, "instanceId");
    const char *status = string_member(inst, "status");
    const char *ip_addr = string_member(inst, "ipAddr");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(inst, "metadata");
    const char *cluster = cJSON_IsObject(meta) ? string_member(meta, EUREKA_META_CLUSTER) : NULL;
    const char *name = cJSON_IsObject(meta) ? string_member(meta, EUREKA_META_NODE_NAME) : NULL;

    /* Expired, starting or out-of-service instances are listed too: skip them quietly. */
    if (!status || strcmp(status, "UP") != 0)
        return;
    if (id && strcmp(id, self_id) == 0)
        return;
    if (name && strcmp(name, self->node_name) == 0) {
        if (reject)
            reject(ctx, id, name, "another instance claims this node's own name (a stale entry "
                                  "of an earlier container at this address, or a misconfigured "
                                  "app); not connected");
        return;
    }
    if (!cluster || strcmp(cluster, self->cluster_name) != 0) {
        if (reject)
            reject(ctx, id, name, "not a member of this cluster (metadata " EUREKA_META_CLUSTER
                                  " differs or is missing)");
        return;
    }
    if (!name) {
        if (reject)
            reject(ctx, id, NULL, "no " EUREKA_META_NODE_NAME " in its metadata");
        return;
    }
    if (!node_name_valid(name)) {
        if (reject)
            reject(ctx, id, name, "invalid Erlang node name (need base@ip-or-hostname)");
        return;
    }
    /* Every instance this buildpack registers names its node base@ipAddr. A name pointing
     * at another host would have every node of the cluster dial an address that registered
     * nothing, so it is refused. */
    if (!host_is_address(strchr(name, '@') + 1, ip_addr)) {
        if (reject)
            reject(ctx, id, name, "its node name's host is not the instance's ipAddr (a peer "
                                  "is only dialled at the address it registered)");
        return;
    }
    if (nameset_find(listed, name, NULL))
        return;
    if (strlist_add(peers, name) != 0 ||
        nameset_add(listed, peers->items[peers->len - 1], peers->len - 1) < 0)
        *oom = 1;
}

/* cJSON ends a string at an escaped NUL ("a\u0000b" reads as "a"), so a name could look
 * shorter, and valid, than the one the registry holds. Every \u0000 escape becomes \u0001
 * first: such a string keeps its length and fails validation. */
static void defuse_nul_escapes(char *text)
{
    for (char *p = text; *p; p++) {
        if (*p != '\\' || p[1] == '\0')
            continue;
        if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
            p[5] = '1';
        p++; /* the escaped character is never the start of another escape */
    }
}

int eureka_parse_peers(const char *body, const struct eureka_self *self, struct strlist *peers,
                       eureka_reject_fn reject, void *ctx, char *err, size_t errlen)
{
    /* Only an answer with a \u0000 escape needs the defused copy (most never have one, and
     * a copy of a large answer would double the memory a discovery needs). */
    cJSON *root;
    if (strstr(body, "\\u0000")) {
        char *text = strdup(body);
        if (!text) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        defuse_nul_escapes(text);
        root = cJSON_Parse(text);
        free(text);
    } else {
        root = cJSON_Parse(body);
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "registry answer is not JSON");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(root, "application");
    /* Some servers wrap one application in an array. */
    if (cJSON_IsArray(app))
        app = cJSON_GetArrayItem(app, 0);
    if (!cJSON_IsObject(app)) {
        snprintf(err, errlen, "registry answer has no \"application\" object");
        cJSON_Delete(root);
        return -1;
    }
    char *self_id = eureka_instance_id(self);
    if (!self_id) {
        snprintf(err, errlen, "out of memory");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *instances = cJSON_GetObjectItemCaseSensitive(app, "instance");
    /* The names taken so far: a name listed twice is kept once, without a scan per name. */
    size_t expected = peers->len + (cJSON_IsArray(instances) ? (size_t)cJSON_GetArraySize(instances) : 1);
    struct nameset listed;
    int oom = nameset_init(&listed, expected) != 0;
    for (size_t i = 0; i < peers->len && !oom; i++)
        oom = nameset_add(&listed, peers->items[i], i) < 0;
    if (!oom && cJSON_IsArray(instances)) {
        const cJSON *inst;
        cJSON_ArrayForEach(inst, instances)
            consider_instance(inst, self, self_id, peers, &listed, reject, ctx, &oom);
    } else if (!oom && cJSON_IsObject(instances)) {
        consider_instance(instances, self, self_id, peers, &listed, reject, ctx, &oom);
    } else if (!oom && instances && !cJSON_IsNull(instances)) {
        snprintf(err, errlen, "registry answer has an \"instance\" that is neither list nor object");
        nameset_free(&listed);
        free(self_id);
        cJSON_Delete(root);
        return -1;
    }
    nameset_free(&listed);
    free(self_id);
    cJSON_Delete(root);
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
