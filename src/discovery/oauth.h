/* OAuth2 client_credentials for the registry: fetch a token, cache it, renew it before its
 * expires_in runs out (Spring Cloud Services tokens live about 30 s). */
#ifndef ECB_DISCOVERY_OAUTH_H
#define ECB_DISCOVERY_OAUTH_H

#include "discovery/http.h"

#include <stdint.h>

struct oauth;

/* token_uri, client_id and client_secret are copied. */
struct oauth *oauth_new(struct http_client *http, const char *token_uri, const char *client_id,
                        const char *client_secret);
void oauth_free(struct oauth *oauth);

/* A valid token (cached, or fetched now when missing or about to expire). On failure returns
 * NULL and writes one line into err (never a secret). *interrupted tells a signal cut it short. */
const char *oauth_token(struct oauth *oauth, int64_t now_ms, long timeout_ms, int *interrupted,
                        char *err, size_t errlen);

/* Forget the cached token (after a 401), so the next oauth_token fetches a new one. */
void oauth_invalidate(struct oauth *oauth);

/* Parses a token endpoint answer: {"access_token": "...", "token_type": "bearer",
 * "expires_in": N}. Returns 0 and a malloc'd token; -1 with err set. expires_in defaults to
 * 30 s when absent. */
int oauth_parse_token_response(const char *body, char **token, long *expires_in_s, char *err,
                               size_t errlen);

/* Longest token lifetime honoured; a longer expires_in is taken as this. */
#define OAUTH_MAX_LIFETIME_S 86400L

/* When a token that lives expires_in_s seconds, obtained at obtained_ms, should be replaced. */
int64_t oauth_refresh_at(int64_t obtained_ms, long expires_in_s);

#endif
