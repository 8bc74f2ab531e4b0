#include "discovery/oauth.h"
#include "common/secret.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct oauth {
    struct http_client *http;
    char *token_uri;
    char *client_id;
    char *client_secret;
    char *token;
    int64_t refresh_at_ms;
};

struct oauth *oauth_new(struct http_client *http, const char *token_uri, const char *client_id,
                        const char *client_secret)
{
    struct oauth *oauth = calloc(1, sizeof *oauth);
    if (!oauth)
        return NULL;
    oauth->http = http;
    oauth->token_uri = strdup(token_uri);
    oauth->client_id = strdup(client_id);
    oauth->client_secret = strdup(client_secret ? client_secret : "");
    if (!oauth->token_uri || !oauth->client_id || !oauth->client_secret) {
        oauth_free(oauth);
        return NULL;
    }
    return oauth;
}

void oauth_free(struct oauth *oauth)
{
    if (!oauth)
        return;
    free(oauth->token_uri);
    free(oauth->client_id);
    secret_free(oauth->client_secret);
    secret_free(oauth->token);
    free(oauth);
}

void oauth_invalidate(struct oauth *oauth)
{
    secret_free(oauth->token);
    oauth->token = NULL;
}

int64_t oauth_refresh_at(int64_t obtained_ms, long expires_in_s)
{
    if (expires_in_s > OAUTH_MAX_LIFETIME_S)
        expires_in_s = OAUTH_MAX_LIFETIME_S;
    /* Renew with a third of the lifetime left (at most 60 s early), and never sooner than 1 s,
     * so a 29 s token is replaced after about 20 s and a one-hour token a minute before. */
    long margin = expires_in_s / 3;
    if (margin > 60)
        margin = 60;
    long life = expires_in_s - margin;
    if (life < 1)
        life = 1;
    return obtained_ms + (int64_t)life * 1000;
}

int oauth_parse_token_response(const char *body, char **token, long *expires_in_s, char *err,
                               size_t errlen)
{
    *token = NULL;
    cJSON *root = cJSON_Parse(body);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "token endpoint answer is not a JSON object");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *access = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "token_type");
    const cJSON *expires = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    if (!cJSON_IsString(access) || access->valuestring[0] == '\0') {
        snprintf(err, errlen, "token endpoint answer has no access_token");
        cJSON_Delete(root);
        return -1;
    }
    if (type && (!cJSON_IsString(type) || strcasecmp(type->valuestring, "bearer") != 0)) {
        /* The server's value is not echoed: it could carry control bytes into the log. */
        snprintf(err, errlen, "token endpoint answer has a token_type other than bearer; only "
                              "bearer tokens are accepted");
        cJSON_Delete(root);
        return -1;
    }
    /* Seconds as a number or a numeric string; longer than a day counts as a day, so the
     * refresh time never overflows and a token is renewed at least daily. */
    double seconds = 30;
    if (cJSON_IsNumber(expires)) {
        seconds = expires->valuedouble;
    } else if (cJSON_IsString(expires)) {
        char *end;
        seconds = strtod(expires->valuestring, &end);
        if (*end != '\0' || end == expires->valuestring)
            seconds = -1;
    } else if (expires) {
        seconds = -1;
    }
    if (!isfinite(seconds) && seconds > 0)
        seconds = OAUTH_MAX_LIFETIME_S;
    long lifetime = !(seconds >= 1) ? -1
                    : seconds > OAUTH_MAX_LIFETIME_S ? OAUTH_MAX_LIFETIME_S : (long)seconds;
    if (lifetime <= 0) {
        snprintf(err, errlen, "token endpoint answer has an invalid expires_in (need seconds > 0)");
        cJSON_Delete(root);
        return -1;
    }
    *token = strdup(access->valuestring);
    explicit_bzero(access->valuestring, strlen(access->valuestring));
    cJSON_Delete(root);
    if (!*token) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *expires_in_s = lifetime;
    return 0;
}

const char *oauth_token(struct oauth *oauth, int64_t now_ms, long timeout_ms, int *interrupted,
                        char *err, size_t errlen)
{
    *interrupted = 0;
    if (oauth->token && now_ms < oauth->refresh_at_ms)
        return oauth->token;
    oauth_invalidate(oauth);

    struct http_request req = {
        .method = "POST",
        .url = oauth->token_uri,
        .accept = "application/json",
        .content_type = "application/x-www-form-urlencoded",
        .body = "grant_type=client_credentials",
        .basic_user = oauth->client_id,
        .basic_password = oauth->client_secret,
        .timeout_ms = timeout_ms,
    };
    struct http_response resp;
    enum http_result r = http_perform(oauth->http, &req, &resp);
    if (r != HTTP_OK) {
        *interrupted = (r == HTTP_INTERRUPTED);
        snprintf(err, errlen, "token request failed: %s", resp.error);
        return NULL;
    }
    if (resp.status != 200) {
        snprintf(err, errlen, "token request answered HTTP %ld%s", resp.status,
                 (resp.status == 401 || resp.status == 400)
                     ? " (client_id/client_secret of the binding rejected)"
                     : "");
        http_response_free(&resp);
        return NULL;
    }
    char *token = NULL;
    long lifetime = 0;
    char perr[200];
    int rc = oauth_parse_token_response(resp.body, &token, &lifetime, perr, sizeof perr);
    explicit_bzero(resp.body, resp.body_len);
    http_response_free(&resp);
    if (rc != 0) {
        snprintf(err, errlen, "%s", perr);
        return NULL;
    }
    oauth->token = token;
    oauth->refresh_at_ms = oauth_refresh_at(now_ms, lifetime);
    return oauth->token;
}
