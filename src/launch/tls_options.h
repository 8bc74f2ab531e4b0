/* The ssl_dist_optfile for TLS distribution (-proto_dist inet_tls) with Cloud Foundry's
 * instance identity: both sides present the instance certificate, require the peer's
 * (verify_peer, fail_if_no_peer_cert), speak TLS 1.3 or 1.2 only, and accept a peer only when
 *   - its certificate chains to the CA file,
 *   - one of its subject OUs is "app:<g>" for an allowed app (this app and allow_apps), or
 *     "space:<space_guid>" when the whole space is allowed,
 *   - its IP SAN is the address at the other end of this very connection (the address it
 *     connects from, or the one we dialled).
 * ssl_dist_sup evaluates the file as one Erlang expression, so the checks are funs in the
 * text itself (no module to ship); see docs/internals.md "TLS distribution". */
#ifndef ECB_LAUNCH_TLS_OPTIONS_H
#define ECB_LAUNCH_TLS_OPTIONS_H

#include <stddef.h>

struct tls_options {
    const char *certfile;    /* the instance certificate chain (CF_INSTANCE_CERT) */
    const char *keyfile;     /* its key (CF_INSTANCE_KEY) */
    const char *cacertfile;  /* the issuers a peer's certificate must chain to */
    const char *app_guid;    /* this app: its instances are always allowed */
    const char *const *allow_apps; /* more apps allowed to join (may be NULL) */
    size_t allow_apps_count;
    const char *space_guid;  /* non-NULL: every app of this space is allowed */
};

/* The optfile's text (malloc'd, ends in a newline), or NULL with one error line in err
 * naming the bad value: paths must be absolute and printable ASCII, GUIDs 8-4-4-4-12 hex
 * digits (written in lower case, as Cloud Foundry's certificates carry them). */
char *tls_options_render(const struct tls_options *opts, char *err, size_t errlen);

#endif
