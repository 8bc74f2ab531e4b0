/* A small HTTP client over libcurl for the registry calls: every request has connect and total
 * timeouts, HTTPS is verified against the system CA store plus the platform's extra CA
 * certificates, redirects are never followed (they would carry credentials elsewhere), and
 * answer bodies are capped. A request can be cut short by an "interrupt" file descriptor
 * (the loop's signalfd) becoming readable, so a signal is never stuck behind a slow call. */
#ifndef ECB_DISCOVERY_HTTP_H
#define ECB_DISCOVERY_HTTP_H

#include <stddef.h>

struct http_client;

struct http_options {
    const char *extra_ca_dir;  /* directory of PEM certificates to trust too (CF_SYSTEM_CERT_PATH), or NULL */
    const char *trust_dir;     /* where the trusted certificates are written for HTTPS (made or
                                  emptied at the first HTTPS request); NULL: HTTPS fails */
    long connect_timeout_ms;   /* TCP + TLS connect */
    size_t max_body;           /* larger answers fail */
    int interrupt_fd;          /* readable means "give up now"; -1 for none */
};

struct http_request {
    const char *method;           /* GET, POST, PUT, DELETE */
    const char *url;
    const char *accept;           /* Accept header value, or NULL */
    const char *content_type;     /* Content-Type of body, or NULL */
    const char *body;             /* request body, or NULL */
    const char *bearer_token;     /* Authorization: Bearer, or NULL (secret: never logged) */
    const char *basic_user;       /* HTTP Basic credentials, or NULL (secret: never logged) */
    const char *basic_password;
    long timeout_ms;              /* whole request */
};

enum http_result {
    HTTP_OK,          /* an answer arrived (any status) */
    HTTP_FAILED,      /* no usable answer: error says why */
    HTTP_INTERRUPTED, /* the interrupt fd became readable */
};

struct http_response {
    long status;
    char *body;        /* NUL-terminated, never NULL after HTTP_OK */
    size_t body_len;
    char error[512];   /* one line on HTTP_FAILED, with the URL's host but no credentials */
};

struct http_client *http_client_new(const struct http_options *opts, char *err, size_t errlen);
void http_client_free(struct http_client *client);

enum http_result http_perform(struct http_client *client, const struct http_request *req,
                              struct http_response *resp);
void http_response_free(struct http_response *resp);

/* Writes every certificate of the default bundle and of extra_ca_dir's *.pem / *.crt files
 * into dir (made, or emptied) as OpenSSL's lookup directory: PEM files named <subject
 * hash>.<n>. Returns how many, or -1 with err set (also when there is none). Exposed for
 * tests. */
long http_write_trust_dir(const char *default_bundle, const char *extra_ca_dir, const char *dir,
                          char *err, size_t errlen);

/* Reads those files through, keeping nothing: 0 when they are readable and not all empty. */
int http_check_ca_bundle(const char *default_bundle, const char *extra_ca_dir, char *err,
                         size_t errlen);

#endif
