/* erlang-cluster-agent: the heartbeat agent of the erlang-cluster buildpack.
 * Subcommands: prepare (launch files), run (the loop), status (the agent's current view). */
#include "agent/erlang_node.h"
#include "discovery/eureka.h"
#include "discovery/http.h"
#include "launch/prepare.h"
#include "agent/loop.h"
#include "discovery/dns.h"
#include "discovery/static.h"
#include "agent/status.h"
#include "common/config.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/node_name.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define PROGRAM "erlang-cluster-agent"
#define DEFAULT_NODE_WAIT_S 600

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: " PROGRAM " COMMAND [OPTIONS]\n"
        "\n"
        "The heartbeat agent of the erlang-cluster buildpack: registers this instance with the\n"
        "cluster's registry, renews its lease, discovers the other instances and has the local\n"
        "Erlang node connect to them.\n"
        "\n"
        "Commands:\n"
        "  run      run the agent loop until SIGTERM/SIGINT or the app node's death\n"
        "  status   print the running agent's current view (mode, registration, peers)\n"
        "  prepare  write the launch files for the launch wrapper (see docs/internals.md)\n"
        "  --version, --help\n"
        "\n"
        "Options of run:\n"
        "  --config FILE       staged settings (default: config.yml beside the agent's bin/)\n"
        "  --run-dir DIR       run dir (default: ${TMPDIR:-/tmp}/" RUN_DIR_NAME ")\n"
        "  --cookie-file FILE  the app node's cookie (default: $HOME/.erlang.cookie)\n"
        "  --node-wait SECONDS how long to wait for the app node to come up (default %d)\n"
        "Options of status:\n"
        "  --run-dir DIR       as above\n"
        "  --json              print status.json as it is\n"
        "\n"
        "Settings (run-time environment first, then the staged config.yml, then defaults):\n",
        DEFAULT_NODE_WAIT_S);
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *fallback = config_field_builtin(f);
        fprintf(out, "  %-34s %s%s%s%s\n", config_field_variable(f), config_field_help(f),
                fallback ? " (default " : "", fallback ? fallback : "", fallback ? ")" : "");
    }
    fprintf(out,
        "Platform: VCAP_SERVICES (registry credentials, read at run time), VCAP_APPLICATION,\n"
        "  CF_INSTANCE_INTERNAL_IP, INSTANCE_GUID or CF_INSTANCE_GUID, CF_INSTANCE_INDEX,\n"
        "  CF_SYSTEM_CERT_PATH (extra CA certificates to trust), HOME, TMPDIR.\n");
}

/* <deps>/<idx>/bin/erlang-cluster-agent -> <deps>/<idx>/config.yml, if it exists. */
static char *default_config_path(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *bin_dir = dirname(exe);
    char *root = dirname(bin_dir);
    char *path = fs_join(root, "config.yml");
    if (path && access(path, R_OK) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

static int take_lock(const char *run_dir, const struct log_sink *log, int *lock_fd)
{
    char *path = fs_join(run_dir, RUN_FILE_AGENT_LOCK);
    if (!path) {
        LOG_ERROR(log, "out of memory");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOG_ERROR(log, "cannot open the lock %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            LOG_INFO(log, "another agent already runs in this container (lock %s held)", path);
        else
            LOG_ERROR(log, "cannot lock %s: %s", path, strerror(e));
        close(fd);
        free(path);
        return e == EWOULDBLOCK ? 1 : -1;
    }
    free(path);
    *lock_fd = fd;
    return 0;
}

/* The app node's name: what prepare recorded in the run dir, else basename@ip. */
static char *app_node_name(const char *run_dir, const struct config *cfg)
{
    char *path = fs_join(run_dir, RUN_FILE_NODE_NAME);
    char *text = NULL;
    char err[256];
    if (path && fs_read_file(path, 1024, &text, NULL, err, sizeof err) == 0) {
        text[strcspn(text, "\r\n")] = '\0';
        if (node_name_valid(text)) {
            free(path);
            return text;
        }
        free(text);
    }
    free(path);
    size_t n = strlen(cfg->node_basename) + strlen(cfg->instance_ip) + 2;
    char *name = malloc(n);
    if (name)
        snprintf(name, n, "%s@%s", cfg->node_basename, cfg->instance_ip);
    return name;
}

struct run_options {
    const char *config_path;
    const char *run_dir;
    const char *cookie_file;
    int node_wait_s;
};

static int parse_run_options(int argc, char **argv, struct run_options *opts)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"run-dir", required_argument, NULL, 'r'},
        {"cookie-file", required_argument, NULL, 'k'},
        {"node-wait", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opts->node_wait_s = DEFAULT_NODE_WAIT_S;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opts->config_path = optarg; break;
        case 'r': opts->run_dir = optarg; break;
        case 'k': opts->cookie_file = optarg; break;
        case 'w': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > 86400) {
                fprintf(stderr, PROGRAM ": --node-wait: \"%s\" is not a number of seconds "
                                "(1..86400)\n", optarg);
                return -1;
            }
            opts->node_wait_s = (int)v;
            break;
        }
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROGRAM " run: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    return 0;
}

static int make_signal_fd(const struct log_sink *log)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        LOG_ERROR(log, "cannot block signals: %s", strerror(errno));
        return -1;
    }
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        LOG_ERROR(log, "cannot create a signalfd: %s", strerror(errno));
    return fd;
}

static char *read_cookie(const struct run_options *opts, const struct config *cfg,
                         const struct log_sink *log)
{
    char err[512];
    char *path = NULL;
    if (opts->cookie_file) {
        path = strdup(opts->cookie_file);
    } else {
        const char *home = getenv("HOME");
        path = fs_join(home && *home ? home : ".", ".erlang.cookie");
    }
    if (!path) {
        LOG_ERROR(log, "out of memory");
        return NULL;
    }
    char *cookie = erlang_read_cookie(path, err, sizeof err);
    if (!cookie && cfg->cookie) {
        LOG_DEBUG(log, "%s; using ERLANG_CLUSTER_COOKIE", err);
        cookie = strdup(cfg->cookie);
    } else if (!cookie) {
        LOG_ERROR(log, "no cookie for the app node: %s (the app's cookie file is "
                       "$HOME/.erlang.cookie; --cookie-file FILE points elsewhere)", err);
    }
    free(path);
    return cookie;
}

/* The eureka back end owns its HTTP client: *http stays NULL. */
static int build_registry(const struct config *cfg, const char *node_name, int signal_fd,
                          const struct log_sink *log, struct http_client **http,
                          struct registry_backend *reg, char **instance_id)
{
    (void)http;
    char err[1024];
    const char *cert_path = getenv("CF_SYSTEM_CERT_PATH");
    struct registry_runtime rt = {
        .node_name = node_name,
        .ca_dir = cert_path && *cert_path ? cert_path : NULL,
        .interrupt_fd = signal_fd,
        .log = log,
    };
    if (registry_new(cfg, &rt, reg, err, sizeof err) != 0) {
        LOG_ERROR(log, "%s", err);
        return -1;
    }
    if (reg->instance_id && !(*instance_id = strdup(reg->instance_id))) {
        LOG_ERROR(log, "out of memory");
        return -1;
    }
    return 0;
}

static int run_main(int argc, char **argv)
{
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_INFO, .program = PROGRAM,
                           .timestamps = true};
    struct run_options opts = {0};
    if (parse_run_options(argc, argv, &opts) != 0)
        return 2;

    char *config_path = opts.config_path ? strdup(opts.config_path) : default_config_path();
    struct config_inputs in = {.env = environ, .staged_config_path = config_path};
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[1024];
    int rc = 1;
    int lock_fd = -1, signal_fd = -1;
    char run_dir_buf[PATH_MAX];
    char *node_name = NULL, *cookie = NULL, *instance_id = NULL;
    struct http_client *http = NULL;
    struct registry_backend reg = {0};
    struct erlang_node node = {.fd = -1};
    bool node_ready = false;

    if (config_resolve(&in, &cfg, err, sizeof err) != 0) {
        LOG_ERROR(&log, "configuration error, this instance stays unclustered: %s", err);
        goto out;
    }
    log.level = cfg.log_level;
    if (cfg.disabled) {
        LOG_INFO(&log, "clustering is disabled (ERLANG_CLUSTER_DISABLE); nothing to do");
        rc = 0;
        goto out;
    }
    if (!cfg.instance_ip) {
        LOG_ERROR(&log, "CF_INSTANCE_INTERNAL_IP is not set; the agent runs only inside an app "
                        "instance");
        goto out;
    }
    if (!cfg.node_basename || !cfg.cluster_name) {
        LOG_ERROR(&log, "no cluster name: set ERLANG_CLUSTER_NAME, or run where VCAP_APPLICATION "
                        "names the app");
        goto out;
    }
    const char *run_dir = opts.run_dir;
    if (!run_dir) {
        if (launch_default_run_dir(environ, run_dir_buf, sizeof run_dir_buf) != 0) {
            LOG_ERROR(&log, "TMPDIR is too long for the run dir");
            goto out;
        }
        run_dir = run_dir_buf;
    }
    if (fs_mkdir_p(run_dir, 0700, err, sizeof err) != 0) {
        LOG_ERROR(&log, "%s", err);
        goto out;
    }
    int locked = take_lock(run_dir, &log, &lock_fd);
    if (locked != 0) {
        rc = locked > 0 ? 0 : 1;
        goto out;
    }
    node_name = app_node_name(run_dir, &cfg);
    cookie = read_cookie(&opts, &cfg, &log);
    if (!node_name || !cookie)
        goto out;
    signal_fd = make_signal_fd(&log);
    if (signal_fd < 0)
        goto out;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        LOG_ERROR(&log, "cannot ignore SIGPIPE: %s", strerror(errno));
        goto out;
    }
    if (build_registry(&cfg, node_name, signal_fd, &log, &http, &reg, &instance_id) != 0)
        goto out;
    if (erlang_node_init(&node, node_name, cfg.dist_port, cfg.epmd, cookie, err, sizeof err) != 0) {
        LOG_ERROR(&log, "%s", err);
        goto out;
    }
    node_ready = true;
    LOG_INFO(&log, "starting: discovery %s (%s), cluster %s, node %s, %s port %d",
             discovery_mode_name(cfg.discovery), cfg.discovery_reason ? cfg.discovery_reason : "",
             cfg.cluster_name, node_name, cfg.epmd ? "epmd, listen" : "epmd-less", cfg.dist_port);

    struct loop_settings settings = {
        .mode = discovery_mode_name(cfg.discovery),
        .cluster = cfg.cluster_name,
        .node_name = node_name,
        .instance_id = instance_id,
        .run_dir = run_dir,
        .poll_interval_s = cfg.poll_interval,
        .heartbeat_interval_s = cfg.heartbeat_interval,
        .node_wait_s = opts.node_wait_s,
        .signal_fd = signal_fd,
    };
    rc = agent_loop_run(&settings, &reg, &node, &log);
out:
    if (node_ready)
        erlang_node_free(&node);
    if (reg.destroy)
        reg.destroy(reg.state);
    http_client_free(http);
    if (cookie) {
        explicit_bzero(cookie, strlen(cookie));
        free(cookie);
    }
    free(node_name);
    free(instance_id);
    free(config_path);
    config_free(&cfg);
    if (signal_fd >= 0)
        close(signal_fd);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

static int status_main(int argc, char **argv)
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
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    char buf[PATH_MAX];
    if (!run_dir) {
        if (launch_default_run_dir(environ, buf, sizeof buf) != 0) {
            fprintf(stderr, PROGRAM " status: TMPDIR is too long\n");
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
        fprintf(stderr, PROGRAM " status: out of memory\n");
        goto done;
    }
    if (fs_read_file(path, 1u << 20, &json, NULL, err, sizeof err) != 0) {
        fprintf(stderr, PROGRAM " status: no agent status here (%s); is the app clustered?\n", err);
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
        fprintf(stderr, PROGRAM " status: %s: %s\n", path, err);
        goto done;
    }
    rc = 0;
done:
    free(path);
    free(lock_path);
    free(json);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "prepare") == 0)
        return launch_prepare_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, PROGRAM ": cannot initialise libcurl\n");
            return 1;
        }
        int rc = run_main(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return status_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf(PROGRAM " %s\n", ECB_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
