/* `erlang-cluster-agent run`: sets up what the loop needs (configuration, the run dir's lock,
 * the app node's name and cookie, stop signals, the discovery back end, the Erlang side) and
 * runs the loop. */
#include "agent/commands.h"
#include "agent/erlang_node.h"
#include "agent/loop.h"
#include "common/config.h"
#include "common/cookie.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/node_name.h"
#include "common/secret.h"
#include "discovery/registry.h"
#include "launch/run_dir.h"
#include "launch/tls_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

extern char **environ;

struct run_options {
    const char *config_path;
    const char *run_dir;
    const char *cookie_file;
    int node_wait_s;
};

/* Everything a run holds, released by run_free whichever step it stopped at. */
struct run {
    struct run_options opts;
    int exit_code; /* when a step ends the run */
    char *config_path;
    struct config cfg;
    char run_dir_buf[PATH_MAX];
    const char *run_dir;
    int lock_fd;
    char *node_name;
    char *cookie; /* secret */
    int signal_fd;
    struct registry_backend reg;
    struct tls_identity tls; /* when tls_on, until the node takes it over */
    bool tls_on;
    struct erlang_node node;
    bool node_ready;
};

/* <deps>/<idx>/bin/erlang-cluster-agent -> <deps>/<idx>/config.yml, if it exists. */
static char *default_config_path(void)
{
    char err[256];
    char *root = fs_program_root(err, sizeof err);
    if (root == NULL)
        return NULL;
    char *path = fs_join(root, "config.yml");
    free(root);
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
                fprintf(stderr, AGENT_PROGRAM ": --node-wait: \"%s\" is not a number of seconds "
                                "(1..86400)\n", optarg);
                return -1;
            }
            opts->node_wait_s = (int)v;
            break;
        }
        case 'h': agent_usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, AGENT_PROGRAM " run: unexpected argument \"%s\"\n", argv[optind]);
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
    char *cookie = NULL;
    (void)cookie_read_file(path, &cookie, err, sizeof err);
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

/* The steps of a run. Each returns true to go on, or false to end the run with
 * run->exit_code (1 unless the step says otherwise). */

static bool load_config(struct run *run, struct log_sink *log)
{
    char err[1024];
    run->config_path = run->opts.config_path ? strdup(run->opts.config_path)
                                             : default_config_path();
    if (run->opts.config_path && !run->config_path) {
        LOG_ERROR(log, "out of memory");
        return false;
    }
    struct config_inputs in = {.env = environ, .staged_config_path = run->config_path};
    if (config_resolve(&in, &run->cfg, err, sizeof err) != 0) {
        LOG_ERROR(log, "configuration error, this instance stays unclustered: %s", err);
        return false;
    }
    log->level = run->cfg.log_level;
    if (run->cfg.disabled) {
        LOG_INFO(log, "clustering is disabled (ERLANG_CLUSTER_DISABLE); nothing to do");
        run->exit_code = 0;
        return false;
    }
    if (!run->cfg.instance_ip) {
        LOG_ERROR(log, "CF_INSTANCE_INTERNAL_IP is not set; the agent runs only inside an app "
                       "instance");
        return false;
    }
    if (!run->cfg.node_basename || !run->cfg.cluster_name) {
        LOG_ERROR(log, "no cluster name: set ERLANG_CLUSTER_NAME, or run where VCAP_APPLICATION "
                       "names the app");
        return false;
    }
    return true;
}

/* The run dir, made if missing, and its lock: one agent per container. */
static bool claim_run_dir(struct run *run, const struct log_sink *log)
{
    char err[1024];
    run->run_dir = run->opts.run_dir;
    if (!run->run_dir) {
        if (launch_default_run_dir(environ, run->run_dir_buf, sizeof run->run_dir_buf) != 0) {
            LOG_ERROR(log, "TMPDIR is too long for the run dir");
            return false;
        }
        run->run_dir = run->run_dir_buf;
    }
    /* Made if missing, then held to what prepare holds it to: ours, a directory, 0700. */
    if (fs_mkdir_p(run->run_dir, 0700, err, sizeof err) != 0 ||
        launch_ensure_run_dir(run->run_dir, err, sizeof err) != 0) {
        LOG_ERROR(log, "%s", err);
        return false;
    }
    int locked = take_lock(run->run_dir, log, &run->lock_fd);
    if (locked > 0)
        run->exit_code = 0; /* another agent does the job */
    return locked == 0;
}

/* The app node's name and cookie. */
static bool identify_app_node(struct run *run, const struct log_sink *log)
{
    run->node_name = app_node_name(run->run_dir, &run->cfg);
    run->cookie = read_cookie(&run->opts, &run->cfg, log);
    return run->node_name && run->cookie;
}

/* SIGTERM and SIGINT through a signalfd the loop watches; SIGPIPE ignored (a peer or the
 * registry closing a socket is an error return, not a death). */
static bool take_signals(struct run *run, const struct log_sink *log)
{
    run->signal_fd = make_signal_fd(log);
    if (run->signal_fd < 0)
        return false;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        LOG_ERROR(log, "cannot ignore SIGPIPE: %s", strerror(errno));
        return false;
    }
    return true;
}

/* The discovery back end for the configured mode (src/discovery/registry.c chooses it). */
static bool set_up_discovery(struct run *run, const struct log_sink *log)
{
    char err[1024];
    const char *cert_path = getenv("CF_SYSTEM_CERT_PATH");
    char *trust_dir = fs_join(run->run_dir, RUN_DIR_TRUSTED_CERTS);
    if (!trust_dir) {
        LOG_ERROR(log, "cannot set up discovery: out of memory");
        return false;
    }
    struct registry_runtime rt = {
        .node_name = run->node_name,
        .ca_dir = cert_path && *cert_path ? cert_path : NULL,
        .trust_dir = trust_dir,
        .interrupt_fd = run->signal_fd,
        .log = log,
    };
    int made = registry_new(&run->cfg, &rt, &run->reg, err, sizeof err);
    free(trust_dir); /* the back end keeps its own copy */
    if (made != 0) {
        LOG_ERROR(log, "%s", err);
        return false;
    }
    return true;
}

/* TLS distribution or clear text, as prepare recorded for the app node. An unreadable record
 * ends the run: the node runs TLS and must not be dialled in clear text. */
static bool choose_distribution(struct run *run, const struct log_sink *log)
{
    char err[1024];
    int rc = tls_identity_read(run->run_dir, &run->tls, err, sizeof err);
    if (rc < 0) {
        LOG_ERROR(log, "%s; this instance stays unclustered (the agent does not dial a TLS node "
                       "in clear text)", err);
        return false;
    }
    run->tls_on = rc == 1;
    if (run->tls_on)
        LOG_INFO(log, "distribution: TLS with the instance identity (app %s, certificate %s)",
                 run->tls.app_guid, run->tls.certfile);
    else
        LOG_INFO(log, "distribution: clear text");
    return true;
}

static bool set_up_erlang_node(struct run *run, const struct log_sink *log)
{
    char err[1024];
    if (erlang_node_init(&run->node, run->node_name, run->cfg.dist_port, run->cfg.epmd,
                         run->cookie, err, sizeof err) != 0) {
        LOG_ERROR(log, "%s", err);
        return false;
    }
    if (run->tls_on)
        erlang_node_use_tls(&run->node, &run->tls);
    run->tls_on = false;
    run->node_ready = true;
    return true;
}

static int run_loop(struct run *run, const struct log_sink *log)
{
    const struct config *cfg = &run->cfg;
    LOG_INFO(log, "starting: discovery %s (%s), cluster %s, node %s, %s port %d",
             discovery_mode_name(cfg->discovery), cfg->discovery_reason ? cfg->discovery_reason : "",
             cfg->cluster_name, run->node_name, cfg->epmd ? "epmd, listen" : "epmd-less",
             cfg->dist_port);
    struct loop_settings settings = {
        .mode = discovery_mode_name(cfg->discovery),
        .cluster = cfg->cluster_name,
        .node_name = run->node_name,
        .instance_id = run->reg.instance_id,
        .run_dir = run->run_dir,
        .poll_interval_s = cfg->poll_interval,
        .heartbeat_interval_s = cfg->heartbeat_interval,
        .node_wait_s = run->opts.node_wait_s,
        .signal_fd = run->signal_fd,
    };
    return agent_loop_run(&settings, &run->reg, &run->node, log);
}

static void run_free(struct run *run)
{
    if (run->node_ready)
        erlang_node_free(&run->node);
    if (run->tls_on)
        tls_identity_free(&run->tls);
    if (run->reg.destroy)
        run->reg.destroy(run->reg.state);
    secret_free(run->cookie);
    free(run->node_name);
    free(run->config_path);
    config_free(&run->cfg);
    if (run->signal_fd >= 0)
        close(run->signal_fd);
    if (run->lock_fd >= 0)
        close(run->lock_fd);
}

int run_command(int argc, char **argv)
{
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_INFO, .program = AGENT_PROGRAM,
                           .timestamps = true};
    struct run run = {.exit_code = 1, .lock_fd = -1, .signal_fd = -1, .node = {.fd = -1}};
    if (parse_run_options(argc, argv, &run.opts) != 0)
        return 2;
    if (load_config(&run, &log) && claim_run_dir(&run, &log) && choose_distribution(&run, &log) &&
        identify_app_node(&run, &log) &&
        take_signals(&run, &log) && set_up_discovery(&run, &log) &&
        set_up_erlang_node(&run, &log))
        run.exit_code = run_loop(&run, &log);
    run_free(&run);
    return run.exit_code;
}
