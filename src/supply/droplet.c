/* Writing the droplet: every file staging installs, from a plan checked beforehand. */
#include "supply/staging_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"

static int write_in(const char *dir, const char *name, const char *text, mode_t mode, char *err,
                    size_t errlen)
{
    char *path = fs_join(dir, name);
    if (path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = fs_write_atomic(path, text, strlen(text), mode, err, errlen);
    free(path);
    return rc;
}

static int copy_into(const char *src, const char *dir, const char *name, mode_t mode, char *err,
                     size_t errlen)
{
    char *dst = fs_join(dir, name);
    if (dst == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = fs_copy_file(src, dst, mode, err, errlen);
    free(dst);
    return rc;
}

int droplet_write(const struct stager *st, const struct config *cfg,
                  const struct staging_plan *plan, char *err, size_t errlen)
{
    const char *dir = plan->deps_idx_dir;
    char *bin = fs_join(dir, "bin"), *lib = fs_join(dir, "lib");
    char *profile = fs_join(dir, "profile.d"), *app_profile = fs_join(st->build_dir, ".profile.d");
    char *config_yml = fs_join(dir, "config.yml");
    int rc = -1;
    if (bin == NULL || lib == NULL || profile == NULL || app_profile == NULL ||
        config_yml == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (fs_mkdir_p(bin, 0755, err, errlen) != 0 || fs_mkdir_p(lib, 0755, err, errlen) != 0 ||
        fs_mkdir_p(profile, 0755, err, errlen) != 0 ||
        fs_mkdir_p(app_profile, 0755, err, errlen) != 0 ||
        copy_into(plan->agent_src, bin, AGENT_NAME, 0755, err, errlen) != 0 ||
        copy_into(plan->cjson_src, lib, CJSON_NAME, 0644, err, errlen) != 0 ||
        write_in(dir, "vm.args", plan->vm_args, 0644, err, errlen) != 0 ||
        config_write_staged(cfg, config_yml, err, errlen) != 0 ||
        write_in(profile, WRAPPER_NAME, plan->wrapper, 0644, err, errlen) != 0 ||
        write_in(app_profile, WRAPPER_NAME, plan->wrapper, 0644, err, errlen) != 0 ||
        cookie_plan_write(st, &plan->cookie, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    free(bin);
    free(lib);
    free(profile);
    free(app_profile);
    free(config_yml);
    return rc;
}
