/* TLS distribution with the instance identity: the decision and its record.
 *
 * The launch step decides once per start whether the app's node runs TLS distribution
 * (ERLANG_CLUSTER_TLS: false, true, or auto = on when the instance identity files exist) and
 * with which files and which peers (ERLANG_CLUSTER_TLS_CA_FILE, ERLANG_CLUSTER_TLS_ALLOW).
 * The launcher's prepare writes that decision into the run dir (RUN_FILE_TLS_IDENTITY, paths
 * and GUIDs only, never a key) next to the optfiles; the agent reads it back, so the BEAM and
 * the agent never disagree. No record in the run dir means clear-text distribution. */
#ifndef ECB_LAUNCH_TLS_IDENTITY_H
#define ECB_LAUNCH_TLS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define RUN_FILE_TLS_IDENTITY "tls_identity"    /* the record below, one "key value" a line */
#define RUN_FILE_TLS_APP_OPTS "tls_app.optfile"  /* -ssl_dist_optfile of the app's node */
#define RUN_FILE_TLS_GUEST_OPTS "tls_guest.optfile" /* -ssl_dist_optfile of guest BEAMs */

#define TLS_IDENTITY_MAX_ALLOW 32

struct tls_identity {
    char *certfile;     /* the instance certificate chain, leaf then issuer (CF_INSTANCE_CERT) */
    char *keyfile;      /* its key (CF_INSTANCE_KEY) */
    char *cafile;       /* what a peer's chain must reach: ERLANG_CLUSTER_TLS_CA_FILE, else
                           the instance certificate file itself (its issuer, so the same
                           issuer as ours, and it follows rotation) */
    char *app_guid;     /* this app (VCAP_APPLICATION application_id), lower case */
    char *allow[TLS_IDENTITY_MAX_ALLOW]; /* accepted peer OUs besides "app:<app_guid>":
                                            "app:<guid>" or "space:<guid>" */
    size_t allow_count;
};

void tls_identity_free(struct tls_identity *id);

/* Writes *id as run_dir/RUN_FILE_TLS_IDENTITY (atomically, mode 0600). Paths must be
 * absolute and one line each, GUIDs as common/guid.h says. Returns 0, or -1 with
 * one line in err. */
int tls_identity_write(const char *run_dir, const struct tls_identity *id, char *err,
                       size_t errlen);

/* Removes the record (TLS is off for this start): 0 also when there was none. */
int tls_identity_remove(const char *run_dir, char *err, size_t errlen);

/* Reads run_dir/RUN_FILE_TLS_IDENTITY. Returns 1 with *id filled (TLS on), 0 when there is
 * no record (clear text), -1 with one line in err when the record is unreadable or malformed
 * (the agent then leaves the node alone rather than dial it in clear text). */
int tls_identity_read(const char *run_dir, struct tls_identity *id, char *err, size_t errlen);

#endif
