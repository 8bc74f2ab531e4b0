/* What the launch step has settled (config, name, start style, cookie, TLS) and for which shell:
 * everything the run dir's files are written from. */
#ifndef ECB_LAUNCH_PLAN_H
#define ECB_LAUNCH_PLAN_H

#include <stdbool.h>

#include "common/config.h"
#include "launch/tls_setup.h"

struct launch_plan {
    const char *run_dir;        /* absolute, without a ' */
    bool launcher;              /* the launcher's shell (else a cf ssh shell or the like) */
    char *const *env;           /* the environment prepare runs in */
    const struct config *cfg;
    const char *node_name;      /* the app's */
    enum start_style style;     /* never START_STYLE_AUTO */
    const char *release_script; /* relx in the launcher: the release's bin/ script */
    const char *mix_release;    /* launcher: the Mix release script in the droplet, or NULL */
    const char *cookie;         /* the settled cookie (Mix releases take it from env.sh) */
    const struct tls_decision *tls; /* TLS_OUTCOME_ON or CLEAR (never UNCLUSTERED) */
};

#endif
