#include "agent/status.h"
#include "agent/cert_expiry.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void status_error_set(struct status_error *e, enum status_error_kind kind, time_t at,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    e->at = at;
    e->kind = kind;
}

void status_error_clear(struct status_error *e, enum status_error_kind kind)
{
    if (e->text[0] != '\0' && e->kind == kind) {
        e->text[0] = '\0';
        e->at = 0;
    }
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static bool add_time(cJSON *obj, const char *key, time_t t)
{
    if (t == 0)
        return cJSON_AddNullToObject(obj, key) != NULL;
    char text[32];
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return cJSON_AddNullToObject(obj, key) != NULL;
    return cJSON_AddStringToObject(obj, key, text) != NULL;
}

/* How long `status` says the agent waits before trying the peer again; 0 when it is not
 * waiting for it. */
static double retry_every_s(const struct peer_set *set, const struct peer *p)
{
    if (!p->wanted || p->connected || p->failures == 0)
        return 0;
    if (p->cookie_refused)
        return (double)(set->refused_retry_ms / 1000);
    return (double)(peer_backoff_ms(set, p->failures) / 1000);
}

static bool add_peer(cJSON *peers, const struct peer_set *set, const struct peer *p)
{
    cJSON *item = cJSON_CreateObject();
    if (!item || !cJSON_AddItemToArray(peers, item)) {
        cJSON_Delete(item);
        return false;
    }
    return cJSON_AddStringToObject(item, "name", p->name) &&
           cJSON_AddBoolToObject(item, "wanted", p->wanted) &&
           cJSON_AddBoolToObject(item, "connected", p->connected) &&
           cJSON_AddNumberToObject(item, "failed_attempts", p->failures) &&
           cJSON_AddBoolToObject(item, "cookie_refused", p->cookie_refused) &&
           cJSON_AddNumberToObject(item, "retry_every_s", retry_every_s(set, p));
}

/* The peers, one object each, and how many of the wanted ones are connected. */
static bool add_peers(cJSON *root, const struct peer_set *set)
{
    cJSON *peers = cJSON_AddArrayToObject(root, "peers");
    if (!peers)
        return false;
    for (size_t i = 0; set && i < set->len; i++)
        if (!add_peer(peers, set, &set->items[i]))
            return false;
    size_t wanted = set ? peer_set_count_wanted(set) : 0;
    size_t connected = set ? peer_set_count_connected_wanted(set) : 0;
    return cJSON_AddNumberToObject(root, "peers_wanted", (double)wanted) &&
           cJSON_AddNumberToObject(root, "peers_connected", (double)connected);
}

/* How the agent and the app node speak distribution. */
static bool add_distribution(cJSON *root, const struct agent_status *s)
{
    cJSON *dist = cJSON_AddObjectToObject(root, "distribution");
    if (!dist)
        return false;
    if (s->clear_despite_tls)
        return cJSON_AddStringToObject(dist, "mode", "clear-despite-tls") != NULL;
    if (!s->tls_app)
        return cJSON_AddStringToObject(dist, "mode", "clear") != NULL;
    return cJSON_AddStringToObject(dist, "mode", "tls") &&
           cJSON_AddStringToObject(dist, "app", s->tls_app) &&
           cJSON_AddStringToObject(dist, "certfile", or_empty(s->tls_certfile));
}

char *status_to_json(const struct agent_status *s)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    bool ok = cJSON_AddNumberToObject(root, "pid", (double)s->pid) &&
              cJSON_AddStringToObject(root, "mode", or_empty(s->mode)) &&
              cJSON_AddStringToObject(root, "cluster", or_empty(s->cluster)) &&
              cJSON_AddStringToObject(root, "node", or_empty(s->node)) &&
              cJSON_AddStringToObject(root, "state", or_empty(s->state)) &&
              cJSON_AddBoolToObject(root, "node_up", s->node_up) &&
              cJSON_AddStringToObject(root, "registration", or_empty(s->registration)) &&
              cJSON_AddStringToObject(root, "registry", or_empty(s->registry)) &&
              (s->instance_id ? cJSON_AddStringToObject(root, "instance_id", s->instance_id) != NULL
                              : cJSON_AddNullToObject(root, "instance_id") != NULL) &&
              add_time(root, "registered_at", s->registered_at) &&
              add_time(root, "last_discovery_at", s->last_discovery_at) &&
              (s->last_error ? cJSON_AddStringToObject(root, "last_error", s->last_error) != NULL
                             : cJSON_AddNullToObject(root, "last_error") != NULL) &&
              add_time(root, "last_error_at", s->last_error_at) &&
              add_distribution(root, s) && add_peers(root, s->peers);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static const char *str(const cJSON *root, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsString(item) ? item->valuestring : "-";
}

/* The distribution line; a TLS certificate's expiry from the file as it is now. An agent of
 * an earlier release wrote no "distribution": nothing to say. */
static void print_distribution(const cJSON *root, FILE *out)
{
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(root, "distribution");
    if (!cJSON_IsObject(dist))
        return;
    if (strcmp(str(dist, "mode"), "clear-despite-tls") == 0) {
        fprintf(out, "distribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true\n");
        return;
    }
    if (strcmp(str(dist, "mode"), "tls") != 0) {
        fprintf(out, "distribution: clear text\n");
        return;
    }
    char until[32], why[512];
    if (cert_expiry_read(str(dist, "certfile"), until, sizeof until, why, sizeof why) == 0)
        fprintf(out, "distribution: TLS (instance identity, app %s, certificate valid until %s)\n",
                str(dist, "app"), until);
    else
        fprintf(out, "distribution: TLS (instance identity, app %s; %s)\n", str(dist, "app"), why);
}

int status_print(const char *json, FILE *out, char *err, size_t errlen)
{
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "status.json is not a JSON object");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
    const cJSON *node_up = cJSON_GetObjectItemCaseSensitive(root, "node_up");
    const cJSON *wanted = cJSON_GetObjectItemCaseSensitive(root, "peers_wanted");
    const cJSON *connected = cJSON_GetObjectItemCaseSensitive(root, "peers_connected");
    fprintf(out, "agent:        %s (pid %.0f)\n", str(root, "state"),
            cJSON_IsNumber(pid) ? pid->valuedouble : 0.0);
    fprintf(out, "mode:         %s\n", str(root, "mode"));
    fprintf(out, "cluster:      %s\n", str(root, "cluster"));
    fprintf(out, "node:         %s (%s)\n", str(root, "node"),
            cJSON_IsTrue(node_up) ? "up" : "not up");
    fprintf(out, "registration: %s", str(root, "registration"));
    if (strcmp(str(root, "instance_id"), "-") != 0)
        fprintf(out, " as %s", str(root, "instance_id"));
    if (strcmp(str(root, "registered_at"), "-") != 0)
        fprintf(out, " since %s", str(root, "registered_at"));
    fprintf(out, "\nregistry:     %s", str(root, "registry"));
    if (strcmp(str(root, "last_discovery_at"), "-") != 0)
        fprintf(out, ", last discovery %s", str(root, "last_discovery_at"));
    fputc('\n', out);
    print_distribution(root, out);
    fprintf(out, "peers:        %.0f connected of %.0f wanted\n",
            cJSON_IsNumber(connected) ? connected->valuedouble : 0.0,
            cJSON_IsNumber(wanted) ? wanted->valuedouble : 0.0);
    const cJSON *peers = cJSON_GetObjectItemCaseSensitive(root, "peers");
    const cJSON *p;
    cJSON_ArrayForEach(p, peers)
    {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(p, "wanted");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "connected");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(p, "failed_attempts");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "retry_every_s");
        const cJSON *refused = cJSON_GetObjectItemCaseSensitive(p, "cookie_refused");
        fprintf(out, "  %-40s %s", str(p, "name"),
                cJSON_IsTrue(c) ? "connected" : "not connected");
        if (!cJSON_IsTrue(w))
            fprintf(out, " (not in registry)");
        else if (!cJSON_IsTrue(c) && cJSON_IsTrue(refused) && cJSON_IsNumber(n))
            fprintf(out, " (%s refused the handshake: a different cookie; retrying every %.0f s)",
                    str(p, "name"), n->valuedouble);
        else if (!cJSON_IsTrue(c) && cJSON_IsNumber(f) && cJSON_IsNumber(n))
            fprintf(out, " (%.0f attempts, retrying every %.0f s)", f->valuedouble, n->valuedouble);
        fputc('\n', out);
    }
    if (strcmp(str(root, "last_error"), "-") != 0)
        fprintf(out, "last error:   %s (%s)\n", str(root, "last_error"), str(root, "last_error_at"));
    cJSON_Delete(root);
    return 0;
}
