/* Whether this start runs TLS distribution, decided once from the resolved config (the
 * ERLANG_CLUSTER_TLS* settings, the app's and space's GUIDs, CF_INSTANCE_CERT/KEY) and the
 * files on disk. Never a silent fallback to clear text and never a node that cannot boot:
 * TLS asked for but impossible leaves the process unclustered, with one line saying why and
 * how to fix it. prepare writes what is decided (launch_files.c); see tls_identity.h for the
 * record the agent reads back. */
#ifndef ECB_LAUNCH_TLS_SETUP_H
#define ECB_LAUNCH_TLS_SETUP_H

#include <stddef.h>

#include "common/config.h"
#include "launch/tls_identity.h"

enum tls_outcome {
    TLS_OUTCOME_CLEAR,       /* clear-text distribution: TLS off, or auto without an identity */
    TLS_OUTCOME_ON,          /* TLS distribution with decision.id */
    TLS_OUTCOME_UNCLUSTERED, /* TLS needed but impossible: the process starts unclustered */
};

#define TLS_DECISION_LINE_MAX 640

struct tls_decision {
    enum tls_outcome outcome;
    struct tls_identity id;           /* TLS_OUTCOME_ON only */
    char line[TLS_DECISION_LINE_MAX]; /* ON: who may join; CLEAR under auto: why not TLS;
                                         UNCLUSTERED: why and how to fix it; else empty */
};

/* Decides for cfg. release_root is the root of the release the app starts from (a Mix or
 * relx release: its lib/ must hold an ssl application), or NULL for other start styles and
 * for guest shells. Returns 0 with *d filled, or -1 with one line in err (out of memory). */
int tls_decide(const struct config *cfg, const char *release_root, struct tls_decision *d,
               char *err, size_t errlen);
void tls_decision_free(struct tls_decision *d);

/* The -ssl_dist_optfile text for id (launch/tls_options.h), malloc'd; NULL with one line in
 * err. */
char *tls_render_optfile(const struct tls_identity *id, char *err, size_t errlen);

#endif
