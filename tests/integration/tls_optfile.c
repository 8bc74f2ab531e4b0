/* tls-optfile: prints the ssl_dist_optfile the launch step renders (launch/tls_options.h) for
 * the given identity and allowed apps, so tests can run real nodes with it:
 *
 *   tls-optfile --cert PATH --key PATH --ca PATH --app GUID [--allow GUID]... [--space GUID]
 *
 * Exit status: 0 printed, 1 the renderer refused the input (its error line on stderr),
 * 2 usage. Used by tests/e2e/tls-dist.bats. */
#include "launch/tls_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALLOW 16

static int usage(void)
{
    fputs("usage: tls-optfile --cert PATH --key PATH --ca PATH --app GUID [--allow GUID]... "
          "[--space GUID]\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *allow[MAX_ALLOW];
    struct tls_options o = {.allow_apps = allow};
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--cert") == 0)
            o.certfile = val;
        else if (strcmp(opt, "--key") == 0)
            o.keyfile = val;
        else if (strcmp(opt, "--ca") == 0)
            o.cacertfile = val;
        else if (strcmp(opt, "--app") == 0)
            o.app_guid = val;
        else if (strcmp(opt, "--space") == 0)
            o.space_guid = val;
        else if (strcmp(opt, "--allow") == 0 && o.allow_apps_count < MAX_ALLOW)
            allow[o.allow_apps_count++] = val;
        else
            return usage();
    }
    char err[512];
    char *text = tls_options_render(&o, err, sizeof err);
    if (text == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = fputs(text, stdout) == EOF || fflush(stdout) != 0 ? 1 : 0;
    free(text);
    if (rc != 0)
        fputs("tls-optfile: cannot write the options to stdout\n", stderr);
    return rc;
}
