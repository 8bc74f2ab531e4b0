#include "launch/run_dir.h"

#include "common/env.h"
#include "common/error.h"
#include "common/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int launch_run_path(char *buf, size_t buflen, const char *run_dir, const char *name)
{
    int n = snprintf(buf, buflen, "%s/%s", run_dir, name);
    return n >= 0 && (size_t)n < buflen ? 0 : -1;
}

int launch_default_run_dir(char *const *env, char *buf, size_t buflen)
{
    const char *tmpdir = env_lookup(env, "TMPDIR");
    if (tmpdir == NULL || *tmpdir == '\0')
        tmpdir = "/tmp";
    return launch_run_path(buf, buflen, tmpdir, RUN_DIR_NAME);
}

int launch_ensure_run_dir(const char *run_dir, char *err, size_t errlen)
{
    if (mkdir(run_dir, 0700) != 0 && errno != EEXIST)
        return set_error(err, errlen, "cannot create the run dir %s: %s", run_dir,
                         strerror(errno));
    struct stat st;
    if (lstat(run_dir, &st) != 0)
        return set_error(err, errlen, "cannot stat the run dir %s: %s", run_dir,
                         strerror(errno));
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return set_error(err, errlen, "the run dir %s is not a directory owned by this user",
                         run_dir);
    if ((st.st_mode & 0777) != 0700 && chmod(run_dir, 0700) != 0)
        return set_error(err, errlen, "cannot chmod the run dir %s: %s", run_dir,
                         strerror(errno));
    return 0;
}

int launch_write_run_file(const char *run_dir, const char *name, const char *content,
                          char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (launch_run_path(path, sizeof path, run_dir, name) != 0)
        return set_error(err, errlen, "run dir path too long: %s", run_dir);
    return fs_write_atomic(path, content, strlen(content), 0600, err, errlen);
}
