#include "launch/guard_source.h"

#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole of a regular file into *text. 0 read, 1 no such file, -1 anything else (why says
 * what). O_NONBLOCK: a FIFO must not hold prepare up; it is refused after fstat. */
int guard_read_args_file(const char *path, char **text, char *why, size_t whylen)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", errno == ENOENT ? "no such file" : strerror(errno));
        return errno == ENOENT ? 1 : -1;
    }
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    const char *problem = NULL;
    if (fstat(fd, &st) != 0)
        problem = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        problem = "not a regular file";
    else if (st.st_size > GUARD_ARGS_FILE_MAX)
        problem = "larger than the limit";
    else if ((buf = malloc(GUARD_ARGS_FILE_MAX + 2)) == NULL)
        problem = "out of memory";
    while (problem == NULL) {
        ssize_t got = read(fd, buf + len, GUARD_ARGS_FILE_MAX + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            problem = strerror(errno);
        else if (got == 0)
            break;
        else if ((len += (size_t)got) > GUARD_ARGS_FILE_MAX)
            problem = "larger than the limit";
    }
    if (problem == NULL && memchr(buf, '\0', len) != NULL)
        problem = "it holds a NUL byte";
    if (close(fd) != 0 && problem == NULL)
        problem = strerror(errno);
    if (problem != NULL) {
        snprintf(why, whylen, "%s", problem);
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    *text = buf;
    return 0;
}

/* Where the app's BEAM starts, which a relative -args_file is read from: a relx script cds
 * to the release root first; a Mix release's script and erl stay where they were started,
 * which is where prepare runs. */
int guard_start_dir(const struct flag_guard_input *in, char *buf, size_t buflen, char *err,
                    size_t errlen)
{
    if (in->style == START_STYLE_RELX && in->release_script != NULL) {
        char real[PATH_MAX], cwd[PATH_MAX] = "";
        /* A script that is not there (yet) is taken as written: the release root above it. */
        if (realpath(in->release_script, real) == NULL) {
            bool relative = in->release_script[0] != '/';
            if (relative && getcwd(cwd, sizeof cwd) == NULL)
                return set_error(err, errlen, "cannot get the working directory: %s",
                                 strerror(errno));
            int n = snprintf(real, sizeof real, "%s%s%s", cwd, relative ? "/" : "",
                             in->release_script);
            if (n < 0 || (size_t)n >= sizeof real)
                return set_error(err, errlen, "path too long: %s", in->release_script);
        }
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(real, '/');
            if (slash == NULL || slash == real)
                return set_error(err, errlen, "%s is not <root>/bin/<name>", real);
            *slash = '\0';
        }
        snprintf(buf, buflen, "%s", real);
        return 0;
    }
    if (getcwd(buf, buflen) == NULL)
        return set_error(err, errlen, "cannot get the working directory: %s", strerror(errno));
    return 0;
}

/* A word in env.sh's text is a flag when blanks, quotes or '=' surround it. */
bool guard_text_has_flag(const char *line, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = strstr(line, flag); p; p = strstr(p + 1, flag)) {
        bool left = p == line || strchr(" \t\"'=", p[-1]) != NULL;
        bool right = p[n] == '\0' || strchr(" \t\"'\n\r;", p[n]) != NULL;
        if (left && right)
            return true;
    }
    return false;
}
