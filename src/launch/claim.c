#include "launch/claim.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "launch/run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int launch_release_name_claim(const char *run_dir, char *err, size_t errlen)
{
    char guest[PATH_MAX], node[PATH_MAX], tmp[PATH_MAX];
    if (launch_run_path(guest, sizeof guest, run_dir, RUN_FILE_GUEST_ARGS) != 0 ||
        launch_run_path(node, sizeof node, run_dir, RUN_FILE_NODE_ARGS) != 0 ||
        launch_run_path(tmp, sizeof tmp, run_dir, RUN_FILE_NODE_ARGS ".release") != 0)
        return set_error(err, errlen, "run dir path too long: %s", run_dir);
    /* A hard link keeps guest.args for shells that read it directly; rename is atomic. */
    if (unlink(tmp) != 0 && errno != ENOENT)
        return set_error(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
    if (link(guest, tmp) != 0)
        return set_error(err, errlen, "cannot link %s to %s: %s", guest, tmp, strerror(errno));
    if (rename(tmp, node) != 0) {
        set_error(err, errlen, "cannot rename %s to %s: %s", tmp, node, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* When node.args already was that file, rename(2) does nothing and tmp stays. */
    if (unlink(tmp) != 0 && errno != ENOENT)
        return set_error(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
    return 0;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. It
 * tells a live claim owner from an unrelated process that was given the same PID later.
 * A zombie (field 3 is Z: it has exited, its parent has not reaped it yet) counts as gone. */
static int process_start_time(pid_t pid, unsigned long long *start)
{
    char path[64], *text = NULL, ignored[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (fs_read_file(path, 4096, &text, NULL, ignored, sizeof ignored) != 0)
        return -1;
    /* The command name (field 2) may hold blanks and parentheses: count after the last ')'. */
    const char *p = strrchr(text, ')');
    if (p != NULL && p[1] == ' ' && p[2] == 'Z') {
        free(text);
        return -1;
    }
    int field = 2;
    while (p != NULL && *p && field < 22) {
        p = strchr(p + 1, ' ');
        if (p != NULL)
            field++;
    }
    int rc = p != NULL && field == 22 && sscanf(p, " %llu", start) == 1 ? 0 : -1;
    free(text);
    return rc;
}

int launch_record_claim_owner(const char *run_dir, pid_t owner, char *err, size_t errlen)
{
    unsigned long long start;
    char line[64];
    if (process_start_time(owner, &start) != 0)
        return set_error(err, errlen, "cannot read the start time of process %ld", (long)owner);
    snprintf(line, sizeof line, "%ld %llu\n", (long)owner, start);
    return launch_write_run_file(run_dir, RUN_FILE_CLAIM_OWNER, line, err, errlen);
}

/* Probing takes a shared lock for an instant: an agent starting at that very moment would
 * take itself for a second one. Only a second launcher in a running container probes. */
static bool agent_lock_held(const char *run_dir)
{
    char path[PATH_MAX];
    if (launch_run_path(path, sizeof path, run_dir, RUN_FILE_AGENT_LOCK) != 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* 1 when the claim owner recorded in run_dir still runs (its PID into *pid), 0 when it is
 * gone, -1 when none is recorded. */
static int claim_owner_state(const char *run_dir, long *pid)
{
    char path[PATH_MAX], *text = NULL, ignored[256];
    *pid = 0;
    if (launch_run_path(path, sizeof path, run_dir, RUN_FILE_CLAIM_OWNER) != 0 ||
        fs_read_file(path, 64, &text, NULL, ignored, sizeof ignored) != 0)
        return -1;
    unsigned long long recorded, now;
    bool live = sscanf(text, "%ld %llu", pid, &recorded) == 2 && *pid > 0 &&
                process_start_time((pid_t)*pid, &now) == 0 && now == recorded;
    free(text);
    return live ? 1 : 0;
}

int launch_claim_owner_state(const char *run_dir)
{
    long pid;
    return claim_owner_state(run_dir, &pid);
}

bool launch_claim_live(const char *run_dir, char *why, size_t whylen)
{
    if (agent_lock_held(run_dir)) {
        set_error(why, whylen, "the app's agent holds %s/" RUN_FILE_AGENT_LOCK, run_dir);
        return true;
    }
    long pid;
    bool live = claim_owner_state(run_dir, &pid) == 1;
    if (live)
        set_error(why, whylen, "process %ld, which claimed it, still runs", pid);
    return live;
}
