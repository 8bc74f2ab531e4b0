#include "discovery/eureka.h"
#include "common/clock.h"

#include "common/nameset.h"
#include "discovery/oauth.h"
#include "common/config.h"
#include "common/node_name.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REJECTS_REMEMBERED 256       /* rejected instances logged once each, at most */
#define REJECTS_LOGGED_PER_ANSWER 10 /* the rest of a flood goes into one summary line */
#define REJECT_SUMMARY_EVERY_MS 60000

char *eureka_instance_id(const struct eureka_self *self)
{
    size_t n = strlen(self->instance_ip) + strlen(self->instance_guid) + 2;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s:%s", self->instance_ip, self->instance_guid);
    return id;
}

static cJSON *port_object(int port, bool enabled)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    if (!cJSON_AddNumberToObject(obj, "$", port) ||
        !cJSON_AddStringToObject(obj, "@enabled", enabled ? "true" : "false")) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

char *eureka_registration_body(const struct eureka_self *self)
{
    char *app = registry_app_name(self->cluster_name);
    char *instance_id = eureka_instance_id(self);
    cJSON *root = cJSON_CreateObject();
    cJSON *inst = cJSON_CreateObject();
    cJSON *dc = cJSON_CreateObject();
    cJSON *lease = cJSON_CreateObject();
    cJSON *meta = cJSON_CreateObject();
    cJSON *port = port_object(self->dist_port, true);
    cJSON *secure_port = port_object(443, false);
    char *text = NULL;
    if (!app || !instance_id || !root || !inst || !dc || !lease || !meta || !port ||
        !secure_port)
        goto done;

    char dist_port[16], index[16];
    snprintf(dist_port, sizeof dist_port, "%d", self->dist_port);
    snprintf(index, sizeof index, "%d", self->instance_index);
    bool ok = cJSON_AddStringToObject(dc, "@class",
                                      "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo") &&
              cJSON_AddStringToObject(dc, "name", "MyOwn") &&
              cJSON_AddNumberToObject(lease, "renewalIntervalInSecs", self->renewal_interval_s) &&
              cJSON_AddNumberToObject(lease, "durationInSecs", self->lease_duration_s) &&
              cJSON_AddStringToObject(meta, EUREKA_META_NODE_NAME, self->node_name) &&
              cJSON_AddStringToObject(meta, EUREKA_META_DIST_PORT, dist_port) &&
              cJSON_AddStringToObject(meta, EUREKA_META_DIST_MODE,
                                      self->epmd ? "epmd" : "epmd-less") &&
              cJSON_AddStringToObject(meta, EUREKA_META_CLUSTER, self->cluster_name) &&
              cJSON_AddStringToObject(meta, "cfAppGuid", self->app_guid ? self->app_guid : "") &&
              cJSON_AddStringToObject(meta, "cfInstanceIndex", index) &&
              cJSON_AddStringToObject(meta, "instanceId", self->instance_guid) &&
              cJSON_AddStringToObject(inst, "instanceId", instance_id) &&
              cJSON_AddStringToObject(inst, "hostName", self->instance_ip) &&
              cJSON_AddStringToObject(inst, "app", app) &&
              cJSON_AddStringToObject(inst, "ipAddr", self->instance_ip) &&
              cJSON_AddStringToObject(inst, "status", "UP") &&
              cJSON_AddStringToObject(inst, "vipAddress", self->cluster_name) &&
              cJSON_AddStringToObject(inst, "secureVipAddress", self->cluster_name);
    if (!ok)
        goto done;
    cJSON_AddItemToObject(inst, "port", port);
    port = NULL;
    cJSON_AddItemToObject(inst, "securePort", secure_port);
    secure_port = NULL;
    cJSON_AddItemToObject(inst, "dataCenterInfo", dc);
    dc = NULL;
    cJSON_AddItemToObject(inst, "leaseInfo", lease);
    lease = NULL;
    cJSON_AddItemToObject(inst, "metadata", meta);
    meta = NULL;
    cJSON_AddItemToObject(root, "instance", inst);
    inst = NULL;
    text = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(port);
    cJSON_Delete(secure_port);
    cJSON_Delete(dc);
    cJSON_Delete(lease);
    cJSON_Delete(meta);
    cJSON_Delete(inst);
    cJSON_Delete(root);
    free(app);
    free(instance_id);
    return text;
}

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

/* --- the back end --------------------------------------------------------------------- */

struct eureka_state {
    struct http_client *http;
    struct oauth *oauth;               /* NULL: the registry takes no token */
    const struct log_sink *log;
    long call_timeout_ms;
    char *app_url;                     /* <base>/eureka/apps/<APP> */
    char *instance_url;                /* <app_url>/<instanceId> */
    char *registration;                /* JSON body */
    struct eureka_self self;           /* strings owned below */
    char *owned[5];
    struct strlist rejected;           /* "<id>\n<name>\n<reason>" already logged */
    unsigned rejects_total;            /* in the answer being parsed */
    unsigned rejects_logged;           /* in the answer being parsed */
    unsigned rejects_unlisted;         /* in the answer being parsed: new, but not logged */
    bool summary_logged;
    int64_t summary_logged_at;
};

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static char *eureka_base(const char *uri)
{
    size_t n = strlen(uri);
    while (n > 0 && uri[n - 1] == '/')
        n--;
    bool has_suffix = (n >= 7 && strncmp(uri + n - 7, "/eureka", 7) == 0) ||
                      (n >= 10 && strncmp(uri + n - 10, "/eureka/v2", 10) == 0);
    size_t len = n + (has_suffix ? 0 : 7) + 1;
    char *base = malloc(len);
    if (base)
        snprintf(base, len, "%.*s%s", (int)n, uri, has_suffix ? "" : "/eureka");
    return base;
}

/* Printable ASCII only (and at most outlen - 1 bytes), so a name from the network cannot
 * forge or break log lines. */
static void printable(const char *text, char *out, size_t outlen)
{
    size_t j = 0;
    for (const char *p = text; *p && j + 1 < outlen; p++)
        out[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    out[j] = '\0';
}

/* Logs a rejected instance the first time it is seen. A flood of them is logged only in
 * part (the rest are remembered unlisted) and summed up by log_reject_summary. */
static void log_reject_once(void *ctx, const char *instance_id, const char *node_name,
                            const char *reason)
{
    struct eureka_state *st = ctx;
    st->rejects_total++;
    char key[700];
    snprintf(key, sizeof key, "%s\n%s\n%s", instance_id ? instance_id : "",
             node_name ? node_name : "", reason);
    if (strlist_contains(&st->rejected, key))
        return;
    bool remembered = st->rejected.len < REJECTS_REMEMBERED && strlist_add(&st->rejected, key) == 0;
    if (!remembered || st->rejects_logged >= REJECTS_LOGGED_PER_ANSWER) {
        st->rejects_unlisted++;
        return;
    }
    st->rejects_logged++;
    char shown[128], shown_id[128];
    printable(node_name ? node_name : "(none)", shown, sizeof shown);
    printable(instance_id ? instance_id : "(none)", shown_id, sizeof shown_id);
    LOG_WARN(st->log, "ignoring registry instance %s (node %s%s): %s", shown_id, shown,
             node_name && strlen(node_name) >= sizeof shown ? "..." : "", reason);
}

static void log_reject_summary(struct eureka_state *st, int64_t now_ms)
{
    if (st->rejects_unlisted == 0)
        return;
    if (st->summary_logged && now_ms - st->summary_logged_at < REJECT_SUMMARY_EVERY_MS)
        return;
    LOG_WARN(st->log, "ignoring %u registry instances with invalid or foreign entries; only the "
                      "first %d are listed one by one (this line repeats at most once a minute)",
             st->rejects_total, REJECTS_LOGGED_PER_ANSWER);
    st->summary_logged = true;
    st->summary_logged_at = now_ms;
}

/* Milliseconds until deadline; at least 1, so a spent budget makes the next call time out
 * at once instead of meaning "no timeout". */
static long time_left(int64_t deadline)
{
    int64_t left = deadline - monotonic_ms();
    return left < 1 ? 1 : (long)left;
}

/* One Eureka call within timeout_ms in all: the token fetch, the call, and after a 401 a new
 * token and one retry each get what is left, so a caller's budget (the one-second
 * deregistration above all) holds whatever the server does. */
static enum registry_status eureka_call(struct eureka_state *st, struct http_request *req,
                                        struct http_response *resp, int64_t now_ms,
                                        long timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (int attempt = 0; attempt < 2; attempt++) {
        req->bearer_token = NULL;
        if (st->oauth) {
            int interrupted = 0;
            const char *token = oauth_token(st->oauth, now_ms, time_left(deadline), &interrupted,
                                            err, errlen);
            if (!token)
                return interrupted ? REGISTRY_INTERRUPTED : REGISTRY_FAILED;
            req->bearer_token = token;
        }
        req->timeout_ms = time_left(deadline);
        enum http_result r = http_perform(st->http, req, resp);
        if (r == HTTP_INTERRUPTED)
            return REGISTRY_INTERRUPTED;
        if (r != HTTP_OK) {
            snprintf(err, errlen, "%s", resp->error);
            return REGISTRY_FAILED;
        }
        if (resp->status == 401 && st->oauth && attempt == 0) {
            http_response_free(resp);
            oauth_invalidate(st->oauth);
            continue;
        }
        break;
    }
    return REGISTRY_OK;
}

static void describe_status(const char *what, const struct http_response *resp, char *err,
                            size_t errlen)
{
    char body[160] = "";
    if (resp->body && resp->body_len > 0) {
        size_t j = 0;
        for (size_t i = 0; i < resp->body_len && j + 1 < sizeof body; i++)
            body[j++] = (resp->body[i] >= 0x20 && resp->body[i] < 0x7f) ? resp->body[i] : ' ';
        body[j] = '\0';
    }
    snprintf(err, errlen, "%s answered HTTP %ld%s%s%s", what, resp->status,
             resp->status == 401 ? " (token rejected)" : resp->status == 403 ? " (forbidden)" : "",
             body[0] ? ": " : "", body);
}

static enum registry_status eureka_register(void *state, int64_t now_ms, char *err,
                                            size_t errlen)
{
    struct eureka_state *st = state;
    struct http_request req = {.method = "POST",
                               .url = st->app_url,
                               .accept = "application/json",
                               .content_type = "application/json",
                               .body = st->registration};
    struct http_response resp;
    enum registry_status s = eureka_call(st, &req, &resp, now_ms, st->call_timeout_ms, err, errlen);
    if (s != REGISTRY_OK)
        return s;
    if (resp.status != 204 && resp.status != 200) {
        describe_status("registration", &resp, err, errlen);
        s = REGISTRY_FAILED;
    }
    http_response_free(&resp);
    return s;
}

static enum registry_status eureka_renew(void *state, int64_t now_ms, char *err, size_t errlen)
{
    struct eureka_state *st = state;
    struct http_request req = {.method = "PUT", .url = st->instance_url, .accept = "application/json"};
    struct http_response resp;
    enum registry_status s = eureka_call(st, &req, &resp, now_ms, st->call_timeout_ms, err, errlen);
    if (s != REGISTRY_OK)
        return s;
    if (resp.status == 404) {
        snprintf(err, errlen, "lease renewal answered 404: the registry no longer knows us");
        s = REGISTRY_NOT_REGISTERED;
    } else if (resp.status != 200 && resp.status != 204) {
        describe_status("lease renewal", &resp, err, errlen);
        s = REGISTRY_FAILED;
    }
    http_response_free(&resp);
    return s;
}

static enum registry_status eureka_discover(void *state, int64_t now_ms, struct strlist *peers,
                                            char *err, size_t errlen)
{
    struct eureka_state *st = state;
    struct http_request req = {.method = "GET", .url = st->app_url, .accept = "application/json"};
    struct http_response resp;
    enum registry_status s = eureka_call(st, &req, &resp, now_ms, st->call_timeout_ms, err, errlen);
    if (s != REGISTRY_OK)
        return s;
    if (resp.status == 404) {
        /* No instances of the app (yet): an empty answer, not a failure. */
    } else if (resp.status != 200) {
        describe_status("discovery", &resp, err, errlen);
        s = REGISTRY_FAILED;
    } else {
        st->rejects_total = 0;
        st->rejects_logged = 0;
        st->rejects_unlisted = 0;
        if (eureka_parse_peers(resp.body, &st->self, peers, log_reject_once, st, err, errlen) !=
            0) {
            strlist_clear(peers);
            s = REGISTRY_FAILED;
        } else {
            log_reject_summary(st, now_ms);
        }
    }
    http_response_free(&resp);
    return s;
}

static enum registry_status eureka_deregister(void *state, int64_t now_ms, long budget_ms,
                                              char *err, size_t errlen)
{
    struct eureka_state *st = state;
    struct http_request req = {.method = "DELETE", .url = st->instance_url, .accept = "application/json"};
    struct http_response resp;
    enum registry_status s = eureka_call(st, &req, &resp, now_ms, budget_ms, err, errlen);
    if (s != REGISTRY_OK)
        return s;
    if (resp.status != 200 && resp.status != 204 && resp.status != 404) {
        describe_status("deregistration", &resp, err, errlen);
        s = REGISTRY_FAILED;
    }
    http_response_free(&resp);
    return s;
}

static void eureka_destroy(void *state)
{
    struct eureka_state *st = state;
    if (!st)
        return;
    oauth_free(st->oauth);
    free(st->app_url);
    free(st->instance_url);
    free(st->registration);
    for (size_t i = 0; i < sizeof st->owned / sizeof st->owned[0]; i++)
        free(st->owned[i]);
    strlist_clear(&st->rejected);
    free(st);
}

static bool plain_http(const char *uri)
{
    return uri && strncasecmp(uri, "http://", 7) == 0;
}

/* Credentials over plain http:// can be read on the network. A registry reached over the
 * platform's internal network may legitimately be http, so this warns and goes on. */
static void warn_plain_http(const struct eureka_options *opts, const struct log_sink *log)
{
    bool secret = plain_http(opts->access_token_uri), tokens = plain_http(opts->uri);
    if (!secret && !tokens)
        return;
    LOG_WARN(log,
             "registry binding \"%s\": %s over plain http:// (%s), readable by anyone on that "
             "network; use https:// unless the network is private",
             opts->binding_name ? opts->binding_name : "?",
             secret && tokens ? "the OAuth2 client secret and access tokens go"
             : secret         ? "the OAuth2 client secret goes"
                              : "access tokens go",
             secret && tokens ? "access_token_uri and uri" : secret ? "access_token_uri" : "uri");
}

int eureka_backend_new(const struct eureka_options *opts, const struct eureka_self *self,
                       struct http_client *http, const struct log_sink *log,
                       struct registry_backend *out, char *err, size_t errlen)
{
    struct eureka_state *st = calloc(1, sizeof *st);
    char *base = NULL, *app = NULL, *id = NULL;
    if (!st)
        goto oom;
    st->http = http;
    st->log = log;
    st->call_timeout_ms = opts->call_timeout_ms > 0 ? opts->call_timeout_ms : 3000;
    st->self = *self;
    st->owned[0] = dup_or_empty(self->cluster_name);
    st->owned[1] = dup_or_empty(self->node_name);
    st->owned[2] = dup_or_empty(self->instance_ip);
    st->owned[3] = dup_or_empty(self->instance_guid);
    st->owned[4] = dup_or_empty(self->app_guid);
    for (int i = 0; i < 5; i++)
        if (!st->owned[i])
            goto oom;
    st->self.cluster_name = st->owned[0];
    st->self.node_name = st->owned[1];
    st->self.instance_ip = st->owned[2];
    st->self.instance_guid = st->owned[3];
    st->self.app_guid = st->owned[4];

    base = eureka_base(opts->uri);
    app = registry_app_name(self->cluster_name);
    id = eureka_instance_id(self);
    st->registration = eureka_registration_body(&st->self);
    if (!base || !app || !id || !st->registration)
        goto oom;
    size_t n = strlen(base) + strlen(app) + 8;
    st->app_url = malloc(n);
    if (!st->app_url)
        goto oom;
    snprintf(st->app_url, n, "%s/apps/%s", base, app);
    n = strlen(st->app_url) + strlen(id) + 2;
    st->instance_url = malloc(n);
    if (!st->instance_url)
        goto oom;
    snprintf(st->instance_url, n, "%s/%s", st->app_url, id);

    if (opts->client_id && *opts->client_id) {
        if (!opts->access_token_uri || !*opts->access_token_uri) {
            snprintf(err, errlen, "registry binding has client_id but no access_token_uri");
            goto fail;
        }
        st->oauth = oauth_new(http, opts->access_token_uri, opts->client_id, opts->client_secret);
        if (!st->oauth)
            goto oom;
        warn_plain_http(opts, log);
    }
    free(base);
    free(app);
    free(id);
    *out = (struct registry_backend){
        .name = "eureka",
        .has_lease = true,
        .state = st,
        .register_self = eureka_register,
        .renew = eureka_renew,
        .discover = eureka_discover,
        .deregister = eureka_deregister,
        .destroy = eureka_destroy,
    };
    return 0;
oom:
    snprintf(err, errlen, "cannot set up the Eureka client: out of memory");
fail:
    free(base);
    free(app);
    free(id);
    eureka_destroy(st);
    return -1;
}
