/* `erlang-cluster-agent prepare`: everything the launch wrapper needs that is easier done in
 * C than in a profile script. The outline: resolve the run-time config (same precedence as
 * staging), pick the start style (start_style.c), make the run dir (run_dir.c), settle the
 * cookie (settle_cookie.c) and write the run dir's files (launch_files.c), so the app's BEAM
 * gets its name, cookie and distribution flags exactly once and every other BEAM in the
 * container gets guest flags; the name claim (claim.c) decides which shell is the app's.
 * See docs/internals.md, "Launch". */
#include "launch/prepare.h"

#include "common/config.h"
#include "common/env.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/node_name.h"
#include "common/secret.h"
#include "launch/claim.h"
#include "launch/launch_files.h"
#include "launch/mix_release.h"
#include "launch/run_dir.h"
#include "launch/settle_cookie.h"
#include "launch/start_style.h"
#include "launch/tls_setup.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define LOG_PREFIX "erlang-cluster: "
#define NOT_CLUSTERING LOG_PREFIX "not clustering this process: "

static bool process_type_selected(const struct config *cfg, const char *type)
{
    const char *list = cfg->process_types ? cfg->process_types : "web";
    size_t tlen = strlen(type);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        if ((size_t)(last - p) == tlen && strncmp(p, type, tlen) == 0)
            return true;
        p = end;
    }
    return false;
}

struct prepare_request {
    const char *run_dir;
    bool launcher;             /* the launcher's shell (else a cf ssh shell or the like) */
    const char *start_command; /* launcher only */
};

struct prepare_state {
    struct config cfg;
    bool cfg_resolved;
    char node_name[NODE_NAME_MAX + 1];
    enum start_style style;
    char *release_script;
    char *mix_release; /* launcher: the droplet's Mix release script */
    char *cookie;
    struct tls_decision tls;
};

static void prepare_state_free(struct prepare_state *st)
{
    if (st->cfg_resolved)
        config_free(&st->cfg);
    free(st->release_script);
    free(st->mix_release);
    secret_free(st->cookie);
    tls_decision_free(&st->tls);
}

/* The start style: ERLANG_CLUSTER_START_STYLE unless auto, else detected from the start
 * command in the launcher, else (other shells) what the launcher recorded. */
static int choose_start_style(const struct prepare_request *req, struct prepare_state *st,
                              char *err, size_t errlen)
{
    enum start_style forced = st->cfg.start_style;
    if (!req->launcher) {
        st->style =
            forced == START_STYLE_AUTO ? launch_recorded_start_style(req->run_dir) : forced;
        return 0;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return set_error(err, errlen, "cannot get the working directory: %s",
                         strerror(errno));
    enum start_style detected =
        launch_detect_start_style(req->start_command, cwd, &st->release_script);
    /* A Mix release is recognised from the droplet, however the command starts it (bin/server,
     * a script, bin/migrate && …); a command that runs mix/elixir/iex/erl stays erl. */
    if (forced != START_STYLE_RELX && forced != START_STYLE_ERL && detected != START_STYLE_RELX)
        st->mix_release = launch_find_mix_release(cwd);
    if (detected == START_STYLE_ERL && st->mix_release != NULL &&
        !launch_command_runs_beam_cli(req->start_command)) {
        detected = START_STYLE_MIX_RELEASE;
        st->release_script = strdup(st->mix_release);
        if (st->release_script == NULL)
            return set_error(err, errlen, "out of memory");
    }
    st->style = forced == START_STYLE_AUTO ? detected : forced;
    if (st->style == START_STYLE_RELX && st->release_script == NULL)
        return set_error(err, errlen,
                         "ERLANG_CLUSTER_START_STYLE is relx but the start command runs no "
                         "relx release script (expected PATH/bin/APP foreground)");
    return 0;
}

/* The config as staging resolved it, with the run-time environment over it: the staged
 * config.yml sits in the droplet layer this binary lives in (<layer>/bin/<program>). */
static int resolve_config(char *const *env, struct prepare_state *st, char *err, size_t errlen)
{
    char layer_err[512];
    char *layer = fs_program_root(layer_err, sizeof layer_err);
    if (layer == NULL)
        return set_error(err, errlen, "cannot find the buildpack layer: %s", layer_err);
    char *staged_config = fs_join(layer, "config.yml");
    free(layer);
    if (staged_config == NULL)
        return set_error(err, errlen, "out of memory");
    struct config_inputs in = {.env = env, .manifest_path = NULL,
                               .staged_config_path = staged_config};
    int rc = config_resolve(&in, &st->cfg, err, errlen);
    free(staged_config);
    if (rc == 0)
        st->cfg_resolved = true;
    return rc;
}

/* Whether this process is to be clustered at all: not when disabled, nor when its process
 * type is not selected (PREPARE_NOT_CLUSTERED, with the line to print in err). */
static int clustering_wanted(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->disabled) {
        set_error(err, errlen, LOG_PREFIX "ERLANG_CLUSTER_DISABLE is true (from %s); "
                  "the app starts unclustered",
                  config_source_name(cfg->source[FIELD_DISABLE]));
        return PREPARE_NOT_CLUSTERED;
    }
    const char *type = cfg->process_type ? cfg->process_type : "web";
    if (!process_type_selected(cfg, type)) {
        set_error(err, errlen, LOG_PREFIX "process type '%s' is not in "
                  "ERLANG_CLUSTER_PROCESS_TYPES; the process starts unclustered", type);
        return PREPARE_NOT_CLUSTERED;
    }
    return PREPARE_CLUSTERED;
}

/* The app node's name, basename@CF_INSTANCE_INTERNAL_IP, into st->node_name. */
static int name_the_node(struct prepare_state *st, char *err, size_t errlen)
{
    if (!ip_literal_valid(st->cfg.instance_ip))
        return set_error(err, errlen, "CF_INSTANCE_INTERNAL_IP is %s; expected the container's "
                         "IP address", st->cfg.instance_ip ? "not an IP literal" : "not set");
    if (!node_basename_valid(st->cfg.node_basename))
        return set_error(err, errlen, "ERLANG_CLUSTER_NODE_BASENAME (from %s) is not 1..%d "
                         "characters of A-Z a-z 0-9 _ -",
                         config_source_name(st->cfg.source[FIELD_NODE_BASENAME]),
                         NODE_BASENAME_MAX);
    snprintf(st->node_name, sizeof st->node_name, "%s@%s", st->cfg.node_basename,
             st->cfg.instance_ip);
    return 0;
}

/* The run dir goes into env files inside single quotes: it must be absolute and hold none. */
static int run_dir_usable(const char *run_dir, char *err, size_t errlen)
{
    if (strchr(run_dir, '\'') != NULL || run_dir[0] != '/')
        return set_error(err, errlen, "TMPDIR must be an absolute path without a ' (run dir %s)",
                         run_dir);
    return 0;
}

/* TLS distribution on, off, or impossible (PREPARE_NOT_CLUSTERED with the line in err). A
 * release the launcher starts must carry ssl: its root is two levels above its script. */
static int decide_tls(struct prepare_state *st, char *err, size_t errlen)
{
    char *root = NULL;
    if (st->release_script != NULL && st->style != START_STYLE_ERL) {
        root = strdup(st->release_script);
        if (root == NULL)
            return set_error(err, errlen, "out of memory");
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(root, '/');
            if (slash != NULL && slash != root)
                *slash = '\0';
        }
    }
    int rc = tls_decide(&st->cfg, root, &st->tls, err, errlen);
    free(root);
    if (rc != 0)
        return PREPARE_FAILED;
    if (st->tls.outcome == TLS_OUTCOME_UNCLUSTERED) {
        set_error(err, errlen, LOG_PREFIX "%s", st->tls.line);
        return PREPARE_NOT_CLUSTERED;
    }
    return PREPARE_CLUSTERED;
}

static int prepare(const struct prepare_request *req, char *const *env,
                   struct prepare_state *st, char *err, size_t errlen)
{
    if (resolve_config(env, st, err, errlen) != 0)
        return PREPARE_FAILED;
    int wanted = clustering_wanted(&st->cfg, err, errlen);
    if (wanted != PREPARE_CLUSTERED)
        return wanted;
    if (name_the_node(st, err, errlen) != 0 || run_dir_usable(req->run_dir, err, errlen) != 0 ||
        choose_start_style(req, st, err, errlen) != 0)
        return PREPARE_FAILED;
    wanted = decide_tls(st, err, errlen);
    if (wanted != PREPARE_CLUSTERED)
        return wanted;
    if (launch_ensure_run_dir(req->run_dir, err, errlen) != 0 ||
        launch_settle_cookie(&st->cfg, env_lookup(env, "HOME"), &st->cookie, err, errlen) != 0)
        return PREPARE_FAILED;
    struct launch_plan plan = {.run_dir = req->run_dir, .launcher = req->launcher, .env = env,
                               .cfg = &st->cfg, .node_name = st->node_name, .style = st->style,
                               .release_script = st->release_script,
                               .mix_release = st->mix_release, .cookie = st->cookie,
                               .tls = &st->tls};
    return launch_write_files(&plan, err, errlen) == 0 ? PREPARE_CLUSTERED : PREPARE_FAILED;
}

static void print_usage(FILE *to)
{
    fprintf(to,
            "usage: erlang-cluster-agent prepare [--run-dir DIR] --launcher START_COMMAND\n"
            "       erlang-cluster-agent prepare [--run-dir DIR] --shell\n"
            "Writes the launch files into DIR (default ${TMPDIR:-/tmp}/" RUN_DIR_NAME ").\n"
            "ERLANG_CLUSTER_START_STYLE (auto|erl|mix-release|relx, default auto) says how\n"
            "the app's BEAM is started; auto detects it from START_COMMAND.\n"
            "--launcher claims the app's node name, unless an earlier start in this container\n"
            "still holds it: then it writes what --shell writes and exits %d.\n"
            "Exit status: 0 clustered, %d not clustered (disabled, process type), %d guest,\n"
            "else error.\n",
            PREPARE_GUEST, PREPARE_NOT_CLUSTERED, PREPARE_GUEST);
}

/* The command line into req. Returns -1 to go on, else the status to exit with (after
 * --help, or a usage error). */
static int parse_arguments(int argc, char **argv, struct prepare_request *req)
{
    bool mode_given = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < argc) {
            req->run_dir = argv[++i];
        } else if (strcmp(argv[i], "--launcher") == 0 && i + 1 < argc && !mode_given) {
            req->launcher = true;
            req->start_command = argv[++i];
            mode_given = true;
        } else if (strcmp(argv[i], "--shell") == 0 && !mode_given) {
            mode_given = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else {
            mode_given = false;
            break;
        }
    }
    if (!mode_given) {
        print_usage(stderr);
        return PREPARE_USAGE;
    }
    return -1;
}

/* The one line the launcher's log shows: what was prepared, or why the process is left
 * alone; a failure goes to stderr in any shell. */
static void print_outcome(int status, const struct prepare_request *req,
                          const struct prepare_state *st, const char *err)
{
    if (status == PREPARE_FAILED) {
        fprintf(stderr, NOT_CLUSTERING "%s\n", err);
    } else if (status == PREPARE_NOT_CLUSTERED) {
        if (req->launcher)
            printf("%s\n", err);
    } else if (req->launcher) {
        const char *cookie_from = st->cfg.cookie
                                      ? config_source_name(st->cfg.source[FIELD_COOKIE])
                                      : "the droplet";
        /* With ERLANG_CLUSTER_TLS true or auto, the line says what this start decided. */
        const char *tls_sep = st->tls.line[0] ? ", " : "";
        if (st->cfg.epmd)
            printf(LOG_PREFIX "node %s, epmd with listen port %d%s%s, start style %s, cookie "
                   "from %s\n",
                   st->node_name, st->cfg.dist_port, tls_sep, st->tls.line,
                   start_style_name(st->style), cookie_from);
        else
            printf(LOG_PREFIX "node %s, epmd-less distribution port %d%s%s, start style %s, "
                   "cookie from %s\n",
                   st->node_name, st->cfg.dist_port, tls_sep, st->tls.line,
                   start_style_name(st->style), cookie_from);
    }
}

int launch_prepare_main(int argc, char **argv)
{
    struct prepare_request req = {0};
    char default_run_dir[PATH_MAX];
    int done = parse_arguments(argc, argv, &req);
    if (done >= 0)
        return done;
    if (req.run_dir == NULL) {
        if (launch_default_run_dir(environ, default_run_dir, sizeof default_run_dir) != 0) {
            fprintf(stderr, NOT_CLUSTERING "TMPDIR is too long\n");
            return PREPARE_FAILED;
        }
        req.run_dir = default_run_dir;
    }

    /* The app's name is claimed once per container: a second --launcher (a cf ssh shell
     * the wrapper took for the launcher, a sidecar) gets what --shell gets. */
    char claimed_by[PATH_MAX + 128] = "";
    bool refused = req.launcher && launch_claim_live(req.run_dir, claimed_by, sizeof claimed_by);
    if (refused) {
        req.launcher = false;
        req.start_command = NULL;
    }

    struct prepare_state st = {.style = START_STYLE_ERL};
    char err[1024] = "";
    int status = prepare(&req, environ, &st, err, sizeof err);
    if (refused && status == PREPARE_CLUSTERED) {
        fprintf(stderr, LOG_PREFIX "not claiming the app's node name again (%s); this shell "
                "starts guest BEAMs (" RUN_FILE_SHELL_ENV ")\n", claimed_by);
        status = PREPARE_GUEST;
    }
    print_outcome(status, &req, &st, err);
    if (fflush(stdout) != 0 && status == PREPARE_CLUSTERED) {
        fprintf(stderr, NOT_CLUSTERING "cannot write to stdout: %s\n", strerror(errno));
        status = PREPARE_FAILED;
    }
    prepare_state_free(&st);
    return status;
}
