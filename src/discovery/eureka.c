/* The Eureka back end: four calls (register, renew, discover, deregister) through one
 * request helper that holds the token, the budget and the answer statuses in one place. */
#include "discovery/eureka.h"

#include "common/cleartext_credentials.h"

#include "common/clock.h"
#include "common/config.h"
#include "common/text.h"
#include "discovery/http.h"
#include "discovery/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNECT_TIMEOUT_MS 1500
#define CALL_TIMEOUT_MS 3000           /* per call, when the runtime gives no budget */
#define MAX_ANSWER_BYTES (4u << 20)    /* about 4,000 instances */
#define MIN_LEASE_DURATION_S 90        /* Eureka's default lease */

#define REJECTS_REMEMBERED 256       /* rejected instances logged once each, at most */
#define REJECTS_LOGGED_PER_ANSWER 10 /* the rest of a flood goes into one summary line */
#define REJECT_SUMMARY_EVERY_MS 60000

enum eureka_call { CALL_REGISTER, CALL_RENEW, CALL_DISCOVER, CALL_DEREGISTER };

/* What each call sends and which answers it accepts. Eureka servers answer POST 204, PUT 200
 * or 404 when the lease is unknown, GET 200 or 404 when the app has no instances, DELETE 200
 * or 404 when the instance is already gone. */
static const struct {
    const char *what;          /* for messages */
    const char *method;
    bool on_instance;          /* <app_url>/<instanceId> rather than <app_url> */
    bool sends_registration;
    long accepted[3];          /* statuses that succeed; 0 ends the list */
    long forgotten;            /* the status that means "the registry no longer knows us" */
} CALLS[] = {
    [CALL_REGISTER] = {"registration", "POST", false, true, {204, 200}, 0},
    [CALL_RENEW] = {"lease renewal", "PUT", true, false, {200, 204}, 404},
    [CALL_DISCOVER] = {"discovery", "GET", false, false, {200, 404}, 0},
    [CALL_DEREGISTER] = {"deregistration", "DELETE", true, false, {200, 204, 404}, 0},
};

struct eureka_state {
    struct http_client *http;
    struct oauth *oauth;               /* NULL: the registry takes no token */
    const struct log_sink *log;
    long call_timeout_ms;
    char *app_url;                     /* <base>/eureka/apps/<APP> */
    char *instance_url;                /* <app_url>/<instanceId> */
    char *instance_id;
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
    /* Printable and bounded, so a name from the network cannot forge or break log lines. */
    char shown[128], shown_id[128];
    text_shown(node_name ? node_name : "(none)", 124, shown, sizeof shown);
    text_shown(instance_id ? instance_id : "(none)", 124, shown_id, sizeof shown_id);
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

/* One line for an answer the call does not accept: the status, what it likely means, and
 * the start of the body (printable only: it comes from the network). */
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

static bool is_accepted(enum eureka_call call, long status)
{
    size_t n = sizeof CALLS[call].accepted / sizeof CALLS[call].accepted[0];
    for (size_t i = 0; i < n && CALLS[call].accepted[i] != 0; i++)
        if (CALLS[call].accepted[i] == status)
            return true;
    return false;
}

/* Sends the request with a bearer token when the registry takes one; after a 401 fetches a
 * new token and sends it once more. */
static enum registry_status send_with_token(struct eureka_state *st, struct http_request *req,
                                            struct http_response *resp, int64_t now_ms,
                                            int64_t deadline, char *err, size_t errlen)
{
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
        if (resp->status != 401 || !st->oauth || attempt > 0)
            break;
        http_response_free(resp);
        oauth_invalidate(st->oauth);
    }
    return REGISTRY_OK;
}

/* One Eureka call within budget_ms in all: the token fetch, the call, and after a 401 a new
 * token and one retry each get what is left, so a caller's budget (the one-second
 * deregistration above all) holds whatever the server does. REGISTRY_OK leaves an accepted
 * answer in *answer (the caller frees it) or, with answer NULL, frees it here. */
static enum registry_status eureka_request(struct eureka_state *st, enum eureka_call call,
                                           int64_t now_ms, long budget_ms,
                                           struct http_response *answer, char *err,
                                           size_t errlen)
{
    struct http_request req = {
        .method = CALLS[call].method,
        .url = CALLS[call].on_instance ? st->instance_url : st->app_url,
        /* The server answers XML unless Accept names json. */
        .accept = "application/json",
        .content_type = CALLS[call].sends_registration ? "application/json" : NULL,
        .body = CALLS[call].sends_registration ? st->registration : NULL,
    };
    struct http_response resp;
    enum registry_status s = send_with_token(st, &req, &resp, now_ms,
                                             monotonic_ms() + budget_ms, err, errlen);
    if (s != REGISTRY_OK)
        return s;
    if (CALLS[call].forgotten && resp.status == CALLS[call].forgotten) {
        snprintf(err, errlen, "%s answered %ld: the registry no longer knows us",
                 CALLS[call].what, resp.status);
        s = REGISTRY_NOT_REGISTERED;
    } else if (!is_accepted(call, resp.status)) {
        describe_status(CALLS[call].what, &resp, err, errlen);
        s = REGISTRY_FAILED;
    } else if (answer) {
        *answer = resp;
        return REGISTRY_OK;
    }
    http_response_free(&resp);
    return s;
}

static enum registry_status eureka_register(void *state, int64_t now_ms, char *err,
                                            size_t errlen)
{
    struct eureka_state *st = state;
    return eureka_request(st, CALL_REGISTER, now_ms, st->call_timeout_ms, NULL, err, errlen);
}

static enum registry_status eureka_renew(void *state, int64_t now_ms, char *err, size_t errlen)
{
    struct eureka_state *st = state;
    return eureka_request(st, CALL_RENEW, now_ms, st->call_timeout_ms, NULL, err, errlen);
}

static enum registry_status eureka_deregister(void *state, int64_t now_ms, long budget_ms,
                                              char *err, size_t errlen)
{
    return eureka_request(state, CALL_DEREGISTER, now_ms, budget_ms, NULL, err, errlen);
}

static enum registry_status eureka_discover(void *state, int64_t now_ms, struct strlist *peers,
                                            char *err, size_t errlen)
{
    struct eureka_state *st = state;
    struct http_response resp;
    enum registry_status s = eureka_request(st, CALL_DISCOVER, now_ms, st->call_timeout_ms,
                                            &resp, err, errlen);
    if (s != REGISTRY_OK)
        return s;
    /* The other accepted answer, 404, is an app with no instances (yet): no peers. */
    if (resp.status == 200) {
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

static void eureka_destroy(void *state)
{
    struct eureka_state *st = state;
    if (!st)
        return;
    oauth_free(st->oauth);
    http_client_free(st->http);
    free(st->app_url);
    free(st->instance_url);
    free(st->instance_id);
    free(st->registration);
    for (size_t i = 0; i < sizeof st->owned / sizeof st->owned[0]; i++)
        free(st->owned[i]);
    strlist_clear(&st->rejected);
    free(st);
}

/* The REST base: the binding's uri, with /eureka added unless it ends in /eureka or
 * /eureka/v2 already (SCS bindings give the bare host). malloc'd. */
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

/* Credentials over plain http:// can be read on the network. A registry reached over the
 * platform's internal network may legitimately be http, so this warns and goes on; the
 * sentence is the one staging prints (cleartext_credentials.c). */
static void warn_plain_http(const struct registry_binding *binding, const struct log_sink *log)
{
    char msg[512];
    if (cleartext_credentials_warning(binding->binding_name, binding->uri, binding->client_id,
                                      binding->access_token_uri, msg, sizeof msg))
        LOG_WARN(log, "%s", msg);
}

/* Copies who we are: the configuration may go before the back end does. */
static int copy_self(struct eureka_state *st, const struct config *cfg, const char *node_name)
{
    const char *from[] = {cfg->cluster_name, node_name, cfg->instance_ip, cfg->instance_guid,
                          cfg->app_id};
    _Static_assert(sizeof from / sizeof from[0] == sizeof st->owned / sizeof st->owned[0],
                   "one owned copy per string of eureka_self");
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++)
        if (!(st->owned[i] = strdup(from[i] ? from[i] : "")))
            return -1;
    int hb = cfg->heartbeat_interval;
    st->self = (struct eureka_self){
        .cluster_name = st->owned[0],
        .node_name = st->owned[1],
        .instance_ip = st->owned[2],
        .instance_guid = st->owned[3],
        .app_guid = st->owned[4],
        .instance_index = cfg->instance_index,
        .dist_port = cfg->dist_port,
        .epmd = cfg->epmd,
        .renewal_interval_s = hb,
        .lease_duration_s = 3 * hb > MIN_LEASE_DURATION_S ? 3 * hb : MIN_LEASE_DURATION_S,
    };
    return 0;
}

/* The registration document and the two URLs every call goes to. */
static int prepare_calls(struct eureka_state *st, const char *uri)
{
    char *base = eureka_base(uri);
    char *app = registry_app_name(st->self.cluster_name);
    st->instance_id = eureka_instance_id(&st->self);
    st->registration = eureka_registration_body(&st->self);
    int rc = -1;
    if (base && app && st->instance_id && st->registration) {
        /* asprintf leaves its pointer undefined when it fails. */
        if (asprintf(&st->app_url, "%s/apps/%s", base, app) < 0)
            st->app_url = NULL;
        else if (asprintf(&st->instance_url, "%s/%s", st->app_url, st->instance_id) < 0)
            st->instance_url = NULL;
        else
            rc = 0;
    }
    free(base);
    free(app);
    return rc;
}

/* A token fetcher when the binding has client credentials. */
static int prepare_oauth(struct eureka_state *st, const struct registry_binding *binding,
                         char *err, size_t errlen)
{
    if (!binding->client_id || !*binding->client_id)
        return 0;
    if (!binding->access_token_uri || !*binding->access_token_uri) {
        snprintf(err, errlen, "registry binding has client_id but no access_token_uri");
        return -1;
    }
    st->oauth = oauth_new(st->http, binding->access_token_uri, binding->client_id,
                          binding->client_secret);
    if (!st->oauth) {
        snprintf(err, errlen, "cannot set up the Eureka client: out of memory");
        return -1;
    }
    warn_plain_http(binding, st->log);
    return 0;
}

int registry_eureka_new(const struct config *cfg, const struct registry_runtime *rt,
                        struct registry_backend *out, char *err, size_t errlen)
{
    const struct registry_binding *binding = &cfg->registry;
    if (!binding->uri || !*binding->uri) {
        char name[72]; /* bounded and printable: the name comes from VCAP_SERVICES */
        text_shown(binding->binding_name ? binding->binding_name : "?", 64, name, sizeof name);
        snprintf(err, errlen, "registry binding \"%s\" has no uri in VCAP_SERVICES", name);
        return -1;
    }
    if (!cfg->instance_guid) {
        snprintf(err, errlen, "INSTANCE_GUID / CF_INSTANCE_GUID is not set; the platform sets "
                              "it, and Eureka needs it for the instance id");
        return -1;
    }
    struct http_options http = {
        .extra_ca_dir = rt->ca_dir,
        .trust_dir = rt->trust_dir,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .max_body = MAX_ANSWER_BYTES,
        .interrupt_fd = rt->interrupt_fd,
    };
    struct eureka_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "cannot set up the Eureka client: out of memory");
        return -1;
    }
    st->log = rt->log;
    st->call_timeout_ms = rt->budget_ms > 0 ? rt->budget_ms : CALL_TIMEOUT_MS;
    if (!(st->http = http_client_new(&http, err, errlen)))
        goto fail;
    if (copy_self(st, cfg, rt->node_name) != 0 || prepare_calls(st, binding->uri) != 0) {
        snprintf(err, errlen, "cannot set up the Eureka client: out of memory");
        goto fail;
    }
    if (prepare_oauth(st, binding, err, errlen) != 0)
        goto fail;
    *out = (struct registry_backend){
        .name = "eureka",
        .has_lease = true,
        .instance_id = st->instance_id,
        .state = st,
        .register_self = eureka_register,
        .renew = eureka_renew,
        .discover = eureka_discover,
        .deregister = eureka_deregister,
        .destroy = eureka_destroy,
    };
    return 0;
fail:
    eureka_destroy(st);
    return -1;
}
