/* CURLOPT_PROTOCOLS is deprecated since libcurl 7.85 in favour of CURLOPT_PROTOCOLS_STR, which
 * the stack's libcurl 7.81 lacks; the old option works in both. */
#define CURL_DISABLE_DEPRECATION
#include "discovery/http.h"

#include "common/strbuf.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct http_client {
    CURLM *multi;     /* owns the connection cache, so keep-alive survives between calls */
    CURL *easy;
    /* The trusted certificates are written to trust_dir at the first HTTPS request, never
     * for plain http; libcurl then reads only the issuers a handshake needs (http_ca.c). */
    char *system_bundle;
    char *extra_ca_dir;
    char *trust_dir;
    bool trust_dir_written;
    long connect_timeout_ms;
    size_t max_body;
    int interrupt_fd;
};

struct body_buffer {
    struct strbuf text; /* secret: an answer may hold an access token */
    size_t max;
    bool too_big;
    bool out_of_memory;
};

struct http_client *http_client_new(const struct http_options *opts, char *err, size_t errlen)
{
    struct http_client *client = calloc(1, sizeof *client);
    if (!client) {
        snprintf(err, errlen, "cannot create HTTP client: out of memory");
        return NULL;
    }
    client->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 2000;
    client->max_body = opts->max_body > 0 ? opts->max_body : 4u << 20;
    client->interrupt_fd = opts->interrupt_fd;

    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    const char *system_bundle = (info && info->cainfo) ? info->cainfo : DEFAULT_CA_BUNDLE;
    client->system_bundle = strdup(system_bundle);
    client->extra_ca_dir = opts->extra_ca_dir ? strdup(opts->extra_ca_dir) : NULL;
    client->trust_dir = opts->trust_dir ? strdup(opts->trust_dir) : NULL;
    if (!client->system_bundle || (opts->extra_ca_dir && !client->extra_ca_dir) ||
        (opts->trust_dir && !client->trust_dir)) {
        snprintf(err, errlen, "cannot create HTTP client: out of memory");
        goto fail;
    }
    /* Checked now, so an unreadable store is a start-up error whatever the URLs. */
    if (http_check_ca_bundle(client->system_bundle, client->extra_ca_dir, err, errlen) != 0)
        goto fail;
    client->multi = curl_multi_init();
    client->easy = curl_easy_init();
    if (!client->multi || !client->easy) {
        snprintf(err, errlen, "cannot create HTTP client: curl initialisation failed");
        goto fail;
    }
    return client;
fail:
    http_client_free(client);
    return NULL;
}

void http_client_free(struct http_client *client)
{
    if (!client)
        return;
    if (client->easy)
        curl_easy_cleanup(client->easy);
    if (client->multi)
        curl_multi_cleanup(client->multi);
    free(client->trust_dir);
    free(client->system_bundle);
    free(client->extra_ca_dir);
    free(client);
}

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body_buffer *body = userdata;
    size_t n = size * nmemb;
    if (body->text.len + n > body->max) {
        body->too_big = true;
        return 0;
    }
    if (strbuf_append_len(&body->text, ptr, n) != 0) {
        body->out_of_memory = true;
        return 0;
    }
    return n;
}

/* scheme://host[:port]/path of url, without user info or query, for messages. */
static void url_for_log(const char *url, char *out, size_t outlen)
{
    snprintf(out, outlen, "(unparsable URL)");
    CURLU *u = curl_url();
    if (!u)
        return;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        curl_url_get(u, CURLUPART_HOST, &host, 0);
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        snprintf(out, outlen, "%s://%s%s%s%s", scheme ? scheme : "?", host ? host : "?",
                 port ? ":" : "", port ? port : "", path ? path : "");
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(path);
    }
    curl_url_cleanup(u);
}

static void describe_curl_error(CURLcode rc, const char *detail, const char *where, char *out,
                                size_t outlen)
{
    const char *what = detail && *detail ? detail : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(out, outlen,
                 "%s: TLS certificate not trusted (%.160s); the registry's CA must be in the system "
                 "store or CF_SYSTEM_CERT_PATH",
                 where, what);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, outlen, "%s: timed out (%.200s)", where, what);
        break;
    default:
        snprintf(out, outlen, "%s: %.200s", where, what);
        break;
    }
}

/* Appends a header line; on failure *list is left as it was (still to be freed). */
static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (!grown)
        return false;
    *list = grown;
    return true;
}

/* Runs the transfer, waking for the interrupt fd too. */
static enum http_result run_transfer(struct http_client *client, CURLcode *result)
{
    CURLMcode mrc = curl_multi_add_handle(client->multi, client->easy);
    if (mrc != CURLM_OK) {
        *result = CURLE_FAILED_INIT;
        return HTTP_FAILED;
    }
    enum http_result outcome = HTTP_FAILED;
    *result = CURLE_FAILED_INIT;
    for (;;) {
        int running = 0;
        mrc = curl_multi_perform(client->multi, &running);
        if (mrc != CURLM_OK)
            break;
        int queued;
        CURLMsg *msg = curl_multi_info_read(client->multi, &queued);
        if (msg && msg->msg == CURLMSG_DONE) {
            *result = msg->data.result;
            outcome = HTTP_OK;
            break;
        }
        struct curl_waitfd extra = {.fd = client->interrupt_fd, .events = CURL_WAIT_POLLIN};
        int nfds = 0;
        mrc = curl_multi_poll(client->multi, client->interrupt_fd >= 0 ? &extra : NULL,
                              client->interrupt_fd >= 0 ? 1 : 0, 200, &nfds);
        if (mrc != CURLM_OK)
            break;
        if (client->interrupt_fd >= 0 && (extra.revents & CURL_WAIT_POLLIN)) {
            outcome = HTTP_INTERRUPTED;
            break;
        }
    }
    curl_multi_remove_handle(client->multi, client->easy);
    return outcome;
}

/* "METHOD scheme://host[:port]/path", the request as messages name it. */
static void request_label(const struct http_request *req, char *out, size_t outlen)
{
    char url[160];
    url_for_log(req->url, url, sizeof url);
    snprintf(out, outlen, "%.8s %s", req->method, url);
}

/* Accept and Content-Type as asked; no "Expect: 100-continue" round trip, and no default
 * Content-Type for a body-less PUT or DELETE. */
static bool build_headers(const struct http_request *req, struct curl_slist **headers)
{
    char line[256];
    bool listed = true;
    if (req->accept) {
        snprintf(line, sizeof line, "Accept: %s", req->accept);
        listed = add_header(headers, line);
    }
    if (req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        listed = listed && add_header(headers, line);
    } else {
        listed = listed && add_header(headers, "Content-Type:");
    }
    return listed && add_header(headers, "Expect:");
}

static bool is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

/* The trust directory for an HTTPS request, written at the first one; false with err set. */
static bool ensure_trust_dir(struct http_client *client, char *err, size_t errlen)
{
    if (client->trust_dir_written)
        return true;
    if (!client->trust_dir) {
        snprintf(err, errlen, "HTTPS needs a trust directory, and this client has none");
        return false;
    }
    client->trust_dir_written = http_write_trust_dir(client->system_bundle, client->extra_ca_dir,
                                                     client->trust_dir, err, errlen) > 0;
    return client->trust_dir_written;
}

/* Sets up the easy handle for one request: verified TLS against our CA bundle, no redirects,
 * the timeouts, the credentials, the method and body. */
static CURLcode set_options(struct http_client *client, const struct http_request *req,
                            struct curl_slist *headers, struct body_buffer *body, char *errbuf)
{
    CURL *easy = client->easy;
    long total = req->timeout_ms > 0 ? req->timeout_ms : 5000;
    long connect = client->connect_timeout_ms < total ? client->connect_timeout_ms : total;
    CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(easy, opt, val);                                                 \
    } while (0)
    curl_easy_reset(easy);
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, total);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    if (is_https(req->url)) {
        SETOPT(CURLOPT_CAINFO, NULL); /* not the default bundle: only the directory */
        SETOPT(CURLOPT_CAPATH, client->trust_dir);
    }
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_WRITEFUNCTION, collect_body);
    SETOPT(CURLOPT_WRITEDATA, body);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_USERAGENT, "erlang-cluster-agent/" ECB_VERSION);
    if (req->bearer_token) {
        /* libcurl's own option: no header copy of the token in a list of ours. */
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        SETOPT(CURLOPT_XOAUTH2_BEARER, req->bearer_token);
    } else if (req->basic_user) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, req->basic_user);
        SETOPT(CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
    }
    if (strcmp(req->method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else {
        const char *payload = req->body ? req->body : "";
        SETOPT(CURLOPT_POSTFIELDS, payload);
        SETOPT(CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
        SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SETOPT
    return rc;
}

/* Whether a finished transfer gave a usable answer: complete, within the size cap, with a
 * status, and not a redirect (it would carry the credentials elsewhere). */
static enum http_result check_answer(struct http_client *client, CURLcode result,
                                     const struct body_buffer *body, const char *errbuf,
                                     const char *where, struct http_response *resp)
{
    if (body->too_big) {
        snprintf(resp->error, sizeof resp->error, "%s: answer larger than %zu bytes", where,
                 client->max_body);
        return HTTP_FAILED;
    }
    if (body->out_of_memory) {
        snprintf(resp->error, sizeof resp->error, "%s: out of memory", where);
        return HTTP_FAILED;
    }
    if (result != CURLE_OK) {
        describe_curl_error(result, errbuf, where, resp->error, sizeof resp->error);
        return HTTP_FAILED;
    }
    if (curl_easy_getinfo(client->easy, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK) {
        snprintf(resp->error, sizeof resp->error, "%s: no HTTP status in the answer", where);
        return HTTP_FAILED;
    }
    if (resp->status >= 300 && resp->status < 400) {
        char *location = NULL;
        char target[160] = "elsewhere";
        if (curl_easy_getinfo(client->easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
            location)
            url_for_log(location, target, sizeof target);
        snprintf(resp->error, sizeof resp->error,
                 "%s: answered HTTP %ld redirecting to %s; redirects are not followed (they "
                 "would carry credentials), use the final URL",
                 where, resp->status, target);
        return HTTP_FAILED;
    }
    return HTTP_OK;
}

/* Hands the body over to resp: never NULL, even when the answer had none. */
static enum http_result take_body(struct body_buffer *body, const char *where,
                                  struct http_response *resp)
{
    resp->body = strbuf_detach(&body->text, &resp->body_len);
    if (resp->body == NULL) {
        snprintf(resp->error, sizeof resp->error, "%s: out of memory", where);
        return HTTP_FAILED;
    }
    return HTTP_OK;
}

enum http_result http_perform(struct http_client *client, const struct http_request *req,
                              struct http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    char where[192];
    request_label(req, where, sizeof where);
    struct body_buffer body = {.text = {.secret = true}, .max = client->max_body};
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    enum http_result outcome = HTTP_FAILED;
    CURLcode rc, result;

    char ca_err[400] = "";

    if (!build_headers(req, &headers)) {
        snprintf(resp->error, sizeof resp->error, "%s: out of memory", where);
    } else if (is_https(req->url) && !ensure_trust_dir(client, ca_err, sizeof ca_err)) {
        snprintf(resp->error, sizeof resp->error, "%s: %.300s", where, ca_err);
    } else if ((rc = set_options(client, req, headers, &body, errbuf)) != CURLE_OK) {
        snprintf(resp->error, sizeof resp->error, "%s: cannot set up request: %s", where,
                 curl_easy_strerror(rc));
    } else if ((outcome = run_transfer(client, &result)) == HTTP_INTERRUPTED) {
        snprintf(resp->error, sizeof resp->error, "%s: interrupted", where);
    } else if (outcome != HTTP_OK) {
        snprintf(resp->error, sizeof resp->error, "%s: transfer could not run", where);
    } else if ((outcome = check_answer(client, result, &body, errbuf, where, resp)) == HTTP_OK) {
        outcome = take_body(&body, where, resp);
    }
    strbuf_release(&body.text);
    curl_slist_free_all(headers);
    return outcome;
}

void http_response_free(struct http_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
