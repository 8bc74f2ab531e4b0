/* A scratch directory per test, and files in it, for the unit tests that need files. Include
 * after <cmocka.h>. */
#ifndef ECB_TEST_SCRATCH_DIR_H
#define ECB_TEST_SCRATCH_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"

struct fixture {
    char dir[64];
    char err[512];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    strcpy(fx->dir, "/tmp/ecb_unit.XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* dir/rel with content (mode 0755, parents created). */
static void write_file(const char *dir, const char *rel, const char *content)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    assert_int_equal(fs_mkdir_p(path, 0755, err, sizeof err), 0);
    *slash = '/';
    assert_int_equal(fs_write_atomic(path, content, strlen(content), 0755, err, sizeof err), 0);
}

/* The content of dir/rel (caller frees). */
__attribute__((unused)) static char *read_back(const char *dir, const char *rel)
{
    char path[512], err[256], *text = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(fs_read_file(path, 1 << 20, &text, NULL, err, sizeof err), 0);
    return text;
}

#endif
