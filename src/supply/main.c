/* bin/supply: the staging step the Cloud Foundry builder runs for this supply buildpack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "supply/supply.h"

extern char **environ;

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 5 || !all_digits(argv[4])) {
        log_failure(stderr,
                    "usage: %s BUILD_DIR CACHE_DIR DEPS_DIR IDX (IDX: this buildpack's index, "
                    "digits)",
                    argc > 0 ? argv[0] : "supply");
        return 2;
    }
    char err[512];
    char *root = fs_program_root(err, sizeof err); /* <root>/bin/supply */
    if (root == NULL) {
        log_failure(stderr, "finding the buildpack: %s", err);
        return 1;
    }
    struct stager st = {
        .build_dir = argv[1],
        .cache_dir = argv[2],
        .deps_dir = argv[3],
        .idx = argv[4],
        .buildpack_root = root,
        .env = environ,
        .out = stdout,
        .errout = stderr,
    };
    int rc = supply_run(&st);
    free(root);
    return rc;
}
