/* `erlang-cluster-agent status`: prints the view the running agent keeps in the run dir. */
#include "agent/commands.h"
#include "agent/status.h"
#include "common/fsutil.h"
#include "launch/prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

extern char **environ;

int status_command(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"run-dir", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *run_dir = NULL;
    bool raw = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': run_dir = optarg; break;
        case 'j': raw = true; break;
        case 'h': agent_usage(stdout); return 0;
        default: return 2;
        }
    }
    char buf[PATH_MAX];
    if (!run_dir) {
        if (launch_default_run_dir(environ, buf, sizeof buf) != 0) {
            fprintf(stderr, AGENT_PROGRAM " status: TMPDIR is too long\n");
            return 1;
        }
        run_dir = buf;
    }
    char *path = fs_join(run_dir, "status.json");
    char *lock_path = fs_join(run_dir, RUN_FILE_AGENT_LOCK);
    char *json = NULL;
    char err[512];
    int rc = 1;
    if (!path || !lock_path) {
        fprintf(stderr, AGENT_PROGRAM " status: out of memory\n");
        goto done;
    }
    if (fs_read_file(path, 1u << 20, &json, NULL, err, sizeof err) != 0) {
        fprintf(stderr, AGENT_PROGRAM " status: no agent status here (%s); is the app clustered?\n", err);
        goto done;
    }
    if (raw) {
        fputs(json, stdout);
        fputc('\n', stdout);
        rc = 0;
        goto done;
    }
    /* The running agent holds the lock; if we can take it, the file is a last view. */
    bool running = false;
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        close(fd);
    }
    if (!running)
        printf("(the agent is not running; this is its last view)\n");
    if (status_print(json, stdout, err, sizeof err) != 0) {
        fprintf(stderr, AGENT_PROGRAM " status: %s: %s\n", path, err);
        goto done;
    }
    rc = 0;
done:
    free(path);
    free(lock_path);
    free(json);
    return rc;
}
