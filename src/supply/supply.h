/* Staging: `bin/supply BUILD_DIR CACHE_DIR DEPS_DIR IDX`. Reads the inputs, resolves the
 * config, writes the droplet's files, reports. Every side effect goes through the paths in
 * struct stager so tests can point it anywhere. */
#ifndef ECB_SUPPLY_H
#define ECB_SUPPLY_H

#include <stdio.h>

struct stager {
    const char *build_dir;      /* the app (becomes /home/vcap/app) */
    const char *cache_dir;      /* the build cache: keeps a generated cookie for the next staging */
    const char *deps_dir;       /* <contents>/deps */
    const char *idx;            /* this buildpack's index, as given (zero-padded) */
    const char *buildpack_root; /* where manifest.yml, bin/, lib/, templates/ are */
    char *const *env;           /* NULL-terminated "NAME=value" */
    FILE *out;                  /* the staging log */
    FILE *errout;               /* where the failure line goes */
};

/* Returns 0 when the droplet is ready (or clustering is disabled), 1 on any failure after
 * printing one line that says what is wrong and how to fix it. */
int supply_run(const struct stager *st);

#endif
