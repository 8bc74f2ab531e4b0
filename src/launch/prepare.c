/* `erlang-cluster-agent prepare`: everything the launch wrapper needs that is easier done in
 * C than in a profile script: resolve the run-time config (same precedence as staging), pick
 * the start style, and write the run dir's files so the app's BEAM gets its name, cookie and
 * distribution flags exactly once and every other BEAM in the container gets guest flags.
 * See docs/internals.md, "Launch". */
#include "launch/prepare.h"
#include "common/secret.h"

#include "common/config.h"
#include "common/fsutil.h"
#include "common/node_name.h"
#include "common/vm_args.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define LOG_PREFIX "erlang-cluster: "
#define NOT_CLUSTERING LOG_PREFIX "not clustering this process: "
#define RELEASE_SCRIPT_MAX (256 * 1024)
#define VM_ARGS_MAX (256 * 1024)
#define COOKIE_MAX 1024

/* A growable string; every append reports allocation failure. */
struct strbuf {
    char *data;
    size_t len;
    size_t cap;
};

static int sb_append_len(struct strbuf *sb, const char *text, size_t len)
{
    if (sb->len + len + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + len + 1)
            cap *= 2;
        char *data = realloc(sb->data, cap);
        if (data == NULL)
            return -1;
        sb->data = data;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, text, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
    return 0;
}

static int sb_append(struct strbuf *sb, const char *text)
{
    return sb_append_len(sb, text, strlen(text));
}

__attribute__((format(printf, 2, 3)))
static int sb_appendf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char *tmp = malloc((size_t)n + 1);
    if (tmp == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = sb_append_len(sb, tmp, (size_t)n);
    free(tmp);
    return rc;
}

/* Appends text as one POSIX shell word in single quotes: nothing in it is ever expanded. */
static int sb_append_shell_quoted(struct strbuf *sb, const char *text)
{
    if (sb_append(sb, "'") != 0)
        return -1;
    for (const char *p = text; *p; p++) {
        int rc = *p == '\'' ? sb_append(sb, "'\\''") : sb_append_len(sb, p, 1);
        if (rc != 0)
            return -1;
    }
    return sb_append(sb, "'");
}

static int sb_append_export(struct strbuf *sb, const char *name, const char *value)
{
    if (sb_appendf(sb, "export %s=", name) != 0 || sb_append_shell_quoted(sb, value) != 0)
        return -1;
    return sb_append(sb, "\n");
}

/* Error lines may be cut short; they are still one clear line. */
__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *env_get(char *const *env, const char *name)
{
    size_t len = strlen(name);
    for (char *const *e = env; e && *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

static int path_join(char *buf, size_t buflen, const char *dir, const char *name)
{
    return snprintf(buf, buflen, "%s/%s", dir, name) < (int)buflen ? 0 : -1;
}

int launch_default_run_dir(char *const *env, char *buf, size_t buflen)
{
    const char *tmpdir = env_get(env, "TMPDIR");
    if (tmpdir == NULL || *tmpdir == '\0')
        tmpdir = "/tmp";
    return path_join(buf, buflen, tmpdir, RUN_DIR_NAME);
}

/* The run dir holds the claim file every BEAM reads: it must be ours and private. */
static int ensure_run_dir(const char *run_dir, char *err, size_t errlen)
{
    if (mkdir(run_dir, 0700) != 0 && errno != EEXIST) {
        set_err(err, errlen, "cannot create the run dir %s: %s", run_dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(run_dir, &st) != 0) {
        set_err(err, errlen, "cannot stat the run dir %s: %s", run_dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        set_err(err, errlen, "the run dir %s is not a directory owned by this user", run_dir);
        return -1;
    }
    if ((st.st_mode & 0777) != 0700 && chmod(run_dir, 0700) != 0) {
        set_err(err, errlen, "cannot chmod the run dir %s: %s", run_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int launch_release_name_claim(const char *run_dir, char *err, size_t errlen)
{
    char guest[PATH_MAX], node[PATH_MAX], tmp[PATH_MAX];
    if (path_join(guest, sizeof guest, run_dir, RUN_FILE_GUEST_ARGS) != 0 ||
        path_join(node, sizeof node, run_dir, RUN_FILE_NODE_ARGS) != 0 ||
        path_join(tmp, sizeof tmp, run_dir, RUN_FILE_NODE_ARGS ".release") != 0) {
        set_err(err, errlen, "run dir path too long: %s", run_dir);
        return -1;
    }
    /* A hard link keeps guest.args for shells that read it directly; rename is atomic. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        set_err(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (link(guest, tmp) != 0) {
        set_err(err, errlen, "cannot link %s to %s: %s", guest, tmp, strerror(errno));
        return -1;
    }
    if (rename(tmp, node) != 0) {
        set_err(err, errlen, "cannot rename %s to %s: %s", tmp, node, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* When node.args already was that file, rename(2) does nothing and tmp stays. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        set_err(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. It
 * tells a live claim owner from an unrelated process that was given the same PID later. */
static int process_start_time(pid_t pid, unsigned long long *start)
{
    char path[64], *text = NULL, ignored[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (fs_read_file(path, 4096, &text, NULL, ignored, sizeof ignored) != 0)
        return -1;
    /* The command name (field 2) may hold blanks and parentheses: count after the last ')'. */
    const char *p = strrchr(text, ')');
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
    char path[PATH_MAX], line[64];
    if (process_start_time(owner, &start) != 0) {
        set_err(err, errlen, "cannot read the start time of process %ld", (long)owner);
        return -1;
    }
    if (path_join(path, sizeof path, run_dir, RUN_FILE_CLAIM_OWNER) != 0) {
        set_err(err, errlen, "run dir path too long: %s", run_dir);
        return -1;
    }
    int n = snprintf(line, sizeof line, "%ld %llu\n", (long)owner, start);
    return fs_write_atomic(path, line, (size_t)n, 0600, err, errlen);
}

/* Probing takes a shared lock for an instant: an agent starting at that very moment would
 * take itself for a second one. Only a second launcher in a running container probes. */
static bool agent_lock_held(const char *run_dir)
{
    char path[PATH_MAX];
    if (path_join(path, sizeof path, run_dir, RUN_FILE_AGENT_LOCK) != 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

bool launch_claim_live(const char *run_dir, char *why, size_t whylen)
{
    char path[PATH_MAX], *text = NULL, ignored[256];
    if (agent_lock_held(run_dir)) {
        set_err(why, whylen, "the app's agent holds %s/" RUN_FILE_AGENT_LOCK, run_dir);
        return true;
    }
    if (path_join(path, sizeof path, run_dir, RUN_FILE_CLAIM_OWNER) != 0 ||
        fs_read_file(path, 64, &text, NULL, ignored, sizeof ignored) != 0)
        return false;
    long pid;
    unsigned long long recorded, now;
    bool live = sscanf(text, "%ld %llu", &pid, &recorded) == 2 && pid > 0 &&
                process_start_time((pid_t)pid, &now) == 0 && now == recorded;
    free(text);
    if (live)
        set_err(why, whylen, "process %ld, which claimed it, still runs", pid);
    return live;
}

static bool is_release_command(const char *word)
{
    static const char *const commands[] = {"start", "foreground", "console", "start_iex",
                                           "daemon", "daemon_iex", NULL};
    for (const char *const *c = commands; *c; c++)
        if (strcmp(word, *c) == 0)
            return true;
    return false;
}

/* Splits a start command into words at blanks and shell operators, dropping quote marks:
 * enough to find `[cd DIR &&] [exec] path/bin/app start`, not a shell parser. */
static char **split_command_words(const char *command)
{
    size_t cap = strlen(command) + 2;
    char **words = calloc(cap, sizeof *words);
    char *word = malloc(strlen(command) + 1);
    if (words == NULL || word == NULL) {
        free(words);
        free(word);
        return NULL;
    }
    size_t count = 0, len = 0;
    for (const char *p = command;; p++) {
        bool end = *p == '\0' || strchr(" \t\n;&|()", *p) != NULL;
        if (!end) {
            if (*p != '\'' && *p != '"')
                word[len++] = *p;
            continue;
        }
        if (len > 0) {
            word[len] = '\0';
            words[count] = strdup(word);
            if (words[count] == NULL)
                break;
            count++;
            len = 0;
        }
        if (*p == '\0')
            break;
    }
    free(word);
    return words;
}

static void free_words(char **words)
{
    for (char **w = words; w && *w; w++)
        free(*w);
    free(words);
}

/* Which kind of release script is at path: the Elixir one defaults RELEASE_DISTRIBUTION,
 * relx's extended script reads VMARGS_PATH. */
static bool script_style(const char *path, enum start_style *style)
{
    char err[256], *text = NULL;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (fs_read_file(path, RELEASE_SCRIPT_MAX, &text, NULL, err, sizeof err) != 0)
        return false;
    bool found = true;
    if (strstr(text, "RELEASE_DISTRIBUTION") != NULL)
        *style = START_STYLE_MIX_RELEASE;
    else if (strstr(text, "VMARGS_PATH") != NULL)
        *style = START_STYLE_RELX;
    else
        found = false;
    free(text);
    return found;
}

enum start_style launch_detect_start_style(const char *start_command, const char *app_dir,
                                           char **script)
{
    *script = NULL;
    enum start_style style = START_STYLE_ERL;
    char **words = split_command_words(start_command ? start_command : "");
    const char *cd_dir = NULL;
    for (size_t i = 0; words && words[i]; i++) {
        if (strcmp(words[i], "cd") == 0 && words[i + 1]) {
            cd_dir = words[i + 1];
            continue;
        }
        if (strstr(words[i], "bin/") == NULL || words[i + 1] == NULL ||
            !is_release_command(words[i + 1]))
            continue;
        char path[PATH_MAX];
        int n;
        if (words[i][0] == '/')
            n = snprintf(path, sizeof path, "%s", words[i]);
        else if (cd_dir && cd_dir[0] == '/')
            n = snprintf(path, sizeof path, "%s/%s", cd_dir, words[i]);
        else if (cd_dir)
            n = snprintf(path, sizeof path, "%s/%s/%s", app_dir, cd_dir, words[i]);
        else
            n = snprintf(path, sizeof path, "%s/%s", app_dir, words[i]);
        if (n < 0 || n >= (int)sizeof path)
            continue;
        enum start_style found;
        if (script_style(path, &found)) {
            *script = realpath(path, NULL);
            if (*script != NULL) {
                style = found;
                break;
            }
        }
    }
    free_words(words);
    return style;
}

/* Appends the distribution flags (common/vm_args.h) for the app or for guests. */
static int render_dist_flags(const struct config *cfg, bool guest, struct strbuf *out)
{
    char *flags = vm_args_render(cfg, guest ? VM_ARGS_GUEST : VM_ARGS_APP);
    if (flags == NULL)
        return -1;
    int rc = sb_append(out, flags);
    free(flags);
    return rc;
}

/* First word of an args-file line, for dropping the release's own name and cookie. */
static bool line_starts_with_flag(const char *line, size_t len, const char *flag)
{
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    size_t flen = strlen(flag);
    return len >= flen && strncmp(line, flag, flen) == 0 &&
           (len == flen || line[flen] == ' ' || line[flen] == '\t' || line[flen] == '\r');
}

/* The relx release's vm.args: $VMARGS_PATH if the user set one, else
 * <release>/releases/<vsn>/vm.args with vsn from releases/start_erl.data. */
static int relx_source_vm_args(const char *script, char *const *env, char *buf, size_t buflen,
                               char *err, size_t errlen)
{
    const char *user = env_get(env, "VMARGS_PATH");
    if (user && *user) {
        if (snprintf(buf, buflen, "%s", user) >= (int)buflen)
            goto too_long;
        return 0;
    }
    char root[PATH_MAX], data_path[PATH_MAX];
    if (snprintf(root, sizeof root, "%s", script) >= (int)sizeof root)
        goto too_long;
    for (int up = 0; up < 2; up++) { /* <root>/bin/<script> -> <root> */
        char *slash = strrchr(root, '/');
        if (slash == NULL || slash == root) {
            set_err(err, errlen, "cannot find the release root above %s", script);
            return -1;
        }
        *slash = '\0';
    }
    if (snprintf(data_path, sizeof data_path, "%s/releases/start_erl.data", root) >=
        (int)sizeof data_path)
        goto too_long;
    char *data = NULL;
    if (fs_read_file(data_path, 4096, &data, NULL, err, errlen) != 0)
        return -1;
    char erts_vsn[128], rel_vsn[128];
    int fields = sscanf(data, "%127s %127s", erts_vsn, rel_vsn);
    free(data);
    if (fields != 2 || strchr(rel_vsn, '/') != NULL) {
        set_err(err, errlen, "%s is not \"ERTS_VSN REL_VSN\"", data_path);
        return -1;
    }
    if (snprintf(buf, buflen, "%s/releases/%s/vm.args", root, rel_vsn) >= (int)buflen)
        goto too_long;
    return 0;
too_long:
    set_err(err, errlen, "release path too long: %s", script);
    return -1;
}

/* relx refuses to start unless its vm.args has exactly one -name/-sname, and a second
 * -setcookie would make the node ignore both: keep the release's other flags, drop those,
 * and add ours. */
static int render_relx_vm_args(const char *source_path, const struct config *cfg,
                               const char *node_name, struct strbuf *out, char *err,
                               size_t errlen)
{
    char *text = NULL;
    if (fs_read_file(source_path, VM_ARGS_MAX, &text, NULL, err, errlen) != 0)
        return -1;
    int rc = sb_appendf(out, "## The release's %s without its name and cookie, then the "
                             "cluster's flags (erlang-cluster-agent prepare).\n",
                        source_path);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (!line_starts_with_flag(line, len, "-name") &&
            !line_starts_with_flag(line, len, "-sname") &&
            !line_starts_with_flag(line, len, "-setcookie")) {
            rc |= sb_append_len(out, line, len);
            rc |= sb_append(out, "\n");
        }
        line += len + (nl ? 1 : 0);
    }
    free(text);
    rc |= sb_appendf(out, "-name %s\n", node_name);
    rc |= render_dist_flags(cfg, false, out);
    if (rc != 0) {
        set_err(err, errlen, "out of memory rendering vm.args");
        return -1;
    }
    return 0;
}

static void trim_trailing_space(char *text)
{
    size_t len = strlen(text);
    while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
        text[--len] = '\0';
}

/* The cookie the app's BEAM will use: a run-time one (env or service) replaces the staged
 * ~/.erlang.cookie when it differs; otherwise the staged file is the cookie. *cookie is
 * the value (caller frees), needed for Mix releases, which take it on argv. */
static int settle_cookie(const struct config *cfg, const char *home, char **cookie,
                         char *err, size_t errlen)
{
    *cookie = NULL;
    char path[PATH_MAX];
    if (home == NULL || *home == '\0') {
        set_err(err, errlen, "HOME is not set; the cookie file lives in $HOME/.erlang.cookie");
        return -1;
    }
    if (path_join(path, sizeof path, home, ".erlang.cookie") != 0) {
        set_err(err, errlen, "HOME is too long: %s", home);
        return -1;
    }
    char *staged = NULL, ignored[256];
    if (fs_read_file(path, COOKIE_MAX, &staged, NULL, ignored, sizeof ignored) == 0)
        trim_trailing_space(staged);

    if (cfg->cookie == NULL) {
        if (staged == NULL || !cookie_text_valid(staged)) {
            set_err(err, errlen,
                     "%s is missing or not 1..255 printable characters without blanks; "
                     "restage, or set ERLANG_CLUSTER_COOKIE",
                     path);
            secret_free(staged);
            return -1;
        }
        *cookie = staged;
        return 0;
    }
    if (!cookie_text_valid(cfg->cookie)) {
        set_err(err, errlen,
                 "the cookie from %s is not 1..255 printable characters without blanks",
                 config_source_name(cfg->source[FIELD_COOKIE]));
        secret_free(staged);
        return -1;
    }
    bool same = staged != NULL && strcmp(staged, cfg->cookie) == 0;
    secret_free(staged);
    if (!same) {
        if (fs_write_atomic(path, cfg->cookie, strlen(cfg->cookie), 0400, err, errlen) != 0)
            return -1;
    }
    *cookie = strdup(cfg->cookie);
    if (*cookie == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

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

/* The droplet layer this binary lives in: <layer>/bin/erlang-cluster-agent. */
static int own_layer_dir(char *buf, size_t buflen, char *err, size_t errlen)
{
    char *exe = realpath("/proc/self/exe", NULL);
    if (exe == NULL) {
        set_err(err, errlen, "cannot resolve /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int up = 0; up < 2 && rc == 0; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL || slash == exe)
            rc = -1;
        else
            *slash = '\0';
    }
    if (rc == 0 && snprintf(buf, buflen, "%s", exe) >= (int)buflen)
        rc = -1;
    if (rc != 0)
        set_err(err, errlen, "cannot find the buildpack layer above %s", exe);
    free(exe);
    return rc;
}

/* ERL_AFLAGS with our -args_file first, keeping whatever the user set, without stacking our
 * own entry twice when the environment already carries one. */
static int build_erl_aflags(const char *run_dir, const char *args_file, const char *previous,
                            struct strbuf *out)
{
    struct strbuf ours = {0};
    int rc = sb_appendf(&ours, "-args_file '%s/%s'", run_dir, args_file);
    rc |= sb_append_len(out, ours.data ? ours.data : "", ours.len);
    if (rc == 0 && previous && *previous) {
        const char *rest = previous;
        for (const char *name = RUN_FILE_NODE_ARGS;; name = RUN_FILE_GUEST_ARGS) {
            struct strbuf mine = {0};
            rc |= sb_appendf(&mine, "-args_file '%s/%s'", run_dir, name);
            if (rc == 0 && strncmp(rest, mine.data, mine.len) == 0)
                rest += mine.len;
            free(mine.data);
            if (strcmp(name, RUN_FILE_GUEST_ARGS) == 0)
                break;
        }
        while (*rest == ' ')
            rest++;
        if (*rest)
            rc |= sb_appendf(out, " %s", rest);
    }
    free(ours.data);
    return rc ? -1 : 0;
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
    char *cookie;
};

static void prepare_state_free(struct prepare_state *st)
{
    if (st->cfg_resolved)
        config_free(&st->cfg);
    free(st->release_script);
    if (st->cookie) {
        explicit_bzero(st->cookie, strlen(st->cookie));
        free(st->cookie);
    }
}

static int write_run_file(const char *run_dir, const char *name, const char *content,
                          char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (path_join(path, sizeof path, run_dir, name) != 0) {
        set_err(err, errlen, "run dir path too long: %s", run_dir);
        return -1;
    }
    return fs_write_atomic(path, content, strlen(content), 0600, err, errlen);
}

/* The style the launcher's prepare recorded in the run dir, for later shells. */
static enum start_style recorded_start_style(const char *run_dir)
{
    char path[PATH_MAX], *recorded = NULL, ignored[256];
    enum start_style style = START_STYLE_ERL;
    if (path_join(path, sizeof path, run_dir, RUN_FILE_START_STYLE) != 0 ||
        fs_read_file(path, 64, &recorded, NULL, ignored, sizeof ignored) != 0)
        return style;
    trim_trailing_space(recorded);
    if (strcmp(recorded, start_style_name(START_STYLE_MIX_RELEASE)) == 0)
        style = START_STYLE_MIX_RELEASE;
    else if (strcmp(recorded, start_style_name(START_STYLE_RELX)) == 0)
        style = START_STYLE_RELX;
    free(recorded);
    return style;
}

/* The start style: ERLANG_CLUSTER_START_STYLE unless auto, else detected from the start
 * command in the launcher, else (other shells) what the launcher recorded. */
static int choose_start_style(const struct prepare_request *req, struct prepare_state *st,
                              char *err, size_t errlen)
{
    enum start_style forced = st->cfg.start_style;
    if (!req->launcher) {
        st->style = forced == START_STYLE_AUTO ? recorded_start_style(req->run_dir) : forced;
        return 0;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) {
        set_err(err, errlen, "cannot get the working directory: %s", strerror(errno));
        return -1;
    }
    enum start_style detected =
        launch_detect_start_style(req->start_command, cwd, &st->release_script);
    st->style = forced == START_STYLE_AUTO ? detected : forced;
    if (st->style == START_STYLE_RELX && st->release_script == NULL) {
        set_err(err, errlen,
                 "ERLANG_CLUSTER_START_STYLE is relx but the start command runs no relx "
                 "release script (expected PATH/bin/APP foreground)");
        return -1;
    }
    return 0;
}

static int render_env_file(const struct prepare_request *req, char *const *env,
                           const struct prepare_state *st, struct strbuf *out)
{
    struct strbuf aflags = {0};
    const char *args_file = req->launcher ? RUN_FILE_NODE_ARGS : RUN_FILE_GUEST_ARGS;
    int rc = build_erl_aflags(req->run_dir, args_file, env_get(env, "ERL_AFLAGS"), &aflags);
    rc |= sb_append(out, "# Written by erlang-cluster-agent prepare; sourced by the launch "
                         "wrapper.\n");
    rc |= sb_append_export(out, "ERL_AFLAGS", aflags.data ? aflags.data : "");
    free(aflags.data);
    if (st->style == START_STYLE_MIX_RELEASE) {
        rc |= sb_append_export(out, "RELEASE_DISTRIBUTION", "name");
        rc |= sb_append_export(out, "RELEASE_NODE", st->node_name);
        rc |= sb_append_export(out, "RELEASE_COOKIE", st->cookie);
    } else if (st->style == START_STYLE_RELX) {
        char vm_args[PATH_MAX];
        if (path_join(vm_args, sizeof vm_args, req->run_dir, RUN_FILE_VM_ARGS) != 0)
            return -1;
        rc |= sb_append_export(out, "VMARGS_PATH", vm_args);
        /* Not for the app: relx would add a second -erl_epmd_port, and a VM given the flag
         * twice ignores it (the node then listens on a random port). In other shells it
         * lets relx's ping/rpc/eval reach the epmd-less node. */
        if (!req->launcher && !st->cfg.epmd) {
            char port[16];
            snprintf(port, sizeof port, "%d", st->cfg.dist_port);
            rc |= sb_append_export(out, "ERL_DIST_PORT", port);
        }
    }
    return rc ? -1 : 0;
}

/* Writes guest.args, then (launcher) vm.args for relx and the claim file node.args, then the
 * env file; the env file comes last so the wrapper never sources one whose files are not
 * there yet. */
static int write_launch_files(const struct prepare_request *req, char *const *env,
                              const struct prepare_state *st, char *err, size_t errlen)
{
    struct strbuf guest = {0}, node = {0}, vm_args = {0}, envsh = {0}, line = {0};
    int rc = -1;
    if (render_dist_flags(&st->cfg, true, &guest) != 0)
        goto oom;
    if (write_run_file(req->run_dir, RUN_FILE_GUEST_ARGS, guest.data, err, errlen) != 0)
        goto out;
    if (req->launcher) {
        if (st->style == START_STYLE_RELX) {
            char source[PATH_MAX];
            if (relx_source_vm_args(st->release_script, env, source, sizeof source, err,
                                    errlen) != 0 ||
                render_relx_vm_args(source, &st->cfg, st->node_name, &vm_args, err, errlen) !=
                    0 ||
                write_run_file(req->run_dir, RUN_FILE_VM_ARGS, vm_args.data, err, errlen) != 0)
                goto out;
        }
        /* The shell that runs prepare becomes the app by exec: while it lives, so does the
         * claim, and a later --launcher in this container is refused. */
        if (launch_record_claim_owner(req->run_dir, getppid(), err, errlen) != 0)
            goto out;
        /* relx: the name is in vm.args; a Mix release passes --name itself. */
        if (sb_append(&node, "") != 0 ||
            (st->style == START_STYLE_ERL && sb_appendf(&node, "-name %s\n", st->node_name)) ||
            (st->style != START_STYLE_RELX && render_dist_flags(&st->cfg, false, &node)))
            goto oom;
        if (write_run_file(req->run_dir, RUN_FILE_NODE_ARGS, node.data, err, errlen) != 0)
            goto out;
        if (sb_appendf(&line, "%s\n", start_style_name(st->style)) != 0)
            goto oom;
        if (write_run_file(req->run_dir, RUN_FILE_START_STYLE, line.data, err, errlen) != 0)
            goto out;
        line.len = 0;
        if (sb_appendf(&line, "%s\n", st->node_name) != 0)
            goto oom;
        if (write_run_file(req->run_dir, RUN_FILE_NODE_NAME, line.data, err, errlen) != 0)
            goto out;
    }
    if (render_env_file(req, env, st, &envsh) != 0)
        goto oom;
    rc = write_run_file(req->run_dir, req->launcher ? RUN_FILE_ENV : RUN_FILE_SHELL_ENV,
                        envsh.data, err, errlen);
    goto out;
oom:
    set_err(err, errlen, "out of memory rendering the launch files");
out:
    if (envsh.data)
        explicit_bzero(envsh.data, envsh.len);
    free(guest.data);
    free(node.data);
    free(vm_args.data);
    free(envsh.data);
    free(line.data);
    return rc;
}

static int prepare(const struct prepare_request *req, char *const *env,
                   struct prepare_state *st, char *err, size_t errlen)
{
    char layer[PATH_MAX], staged_config[PATH_MAX];
    if (own_layer_dir(layer, sizeof layer, err, errlen) != 0)
        return PREPARE_FAILED;
    if (path_join(staged_config, sizeof staged_config, layer, "config.yml") != 0) {
        set_err(err, errlen, "path too long: %s", layer);
        return PREPARE_FAILED;
    }
    struct config_inputs in = {.env = env, .manifest_path = NULL,
                               .staged_config_path = staged_config};
    if (config_resolve(&in, &st->cfg, err, errlen) != 0)
        return PREPARE_FAILED;
    st->cfg_resolved = true;

    if (st->cfg.disabled) {
        set_err(err, errlen, LOG_PREFIX "ERLANG_CLUSTER_DISABLE is true (from %s); "
                 "the app starts unclustered",
                 config_source_name(st->cfg.source[FIELD_DISABLE]));
        return PREPARE_NOT_CLUSTERED;
    }
    const char *type = st->cfg.process_type ? st->cfg.process_type : "web";
    if (!process_type_selected(&st->cfg, type)) {
        set_err(err, errlen, LOG_PREFIX "process type '%s' is not in "
                 "ERLANG_CLUSTER_PROCESS_TYPES; the process starts unclustered", type);
        return PREPARE_NOT_CLUSTERED;
    }
    if (!ip_literal_valid(st->cfg.instance_ip)) {
        set_err(err, errlen, "CF_INSTANCE_INTERNAL_IP is %s; expected the container's IP "
                 "address", st->cfg.instance_ip ? "not an IP literal" : "not set");
        return PREPARE_FAILED;
    }
    if (!node_basename_valid(st->cfg.node_basename)) {
        set_err(err, errlen, "ERLANG_CLUSTER_NODE_BASENAME (from %s) is not 1..%d "
                 "characters of A-Z a-z 0-9 _ -",
                 config_source_name(st->cfg.source[FIELD_NODE_BASENAME]), NODE_BASENAME_MAX);
        return PREPARE_FAILED;
    }
    snprintf(st->node_name, sizeof st->node_name, "%s@%s", st->cfg.node_basename,
             st->cfg.instance_ip);
    if (strchr(req->run_dir, '\'') != NULL || req->run_dir[0] != '/') {
        set_err(err, errlen, "TMPDIR must be an absolute path without a ' (run dir %s)",
                 req->run_dir);
        return PREPARE_FAILED;
    }
    if (choose_start_style(req, st, err, errlen) != 0)
        return PREPARE_FAILED;
    if (ensure_run_dir(req->run_dir, err, errlen) != 0)
        return PREPARE_FAILED;
    if (settle_cookie(&st->cfg, env_get(env, "HOME"), &st->cookie, err, errlen) != 0)
        return PREPARE_FAILED;
    if (write_launch_files(req, env, st, err, errlen) != 0)
        return PREPARE_FAILED;
    return PREPARE_CLUSTERED;
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

int launch_prepare_main(int argc, char **argv)
{
    struct prepare_request req = {0};
    char default_run_dir[PATH_MAX];
    bool mode_given = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < argc) {
            req.run_dir = argv[++i];
        } else if (strcmp(argv[i], "--launcher") == 0 && i + 1 < argc && !mode_given) {
            req.launcher = true;
            req.start_command = argv[++i];
            mode_given = true;
        } else if (strcmp(argv[i], "--shell") == 0 && !mode_given) {
            mode_given = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else {
            print_usage(stderr);
            return PREPARE_USAGE;
        }
    }
    if (!mode_given) {
        print_usage(stderr);
        return PREPARE_USAGE;
    }
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
    if (status == PREPARE_FAILED) {
        fprintf(stderr, NOT_CLUSTERING "%s\n", err);
    } else if (status == PREPARE_NOT_CLUSTERED) {
        if (req.launcher)
            printf("%s\n", err);
    } else if (req.launcher) {
        const char *cookie_from = st.cfg.cookie
                                      ? config_source_name(st.cfg.source[FIELD_COOKIE])
                                      : "the droplet";
        if (st.cfg.epmd)
            printf(LOG_PREFIX "node %s, epmd with listen port %d, start style %s, cookie "
                   "from %s\n",
                   st.node_name, st.cfg.dist_port, start_style_name(st.style), cookie_from);
        else
            printf(LOG_PREFIX "node %s, epmd-less distribution port %d, start style %s, "
                   "cookie from %s\n",
                   st.node_name, st.cfg.dist_port, start_style_name(st.style), cookie_from);
    }
    if (fflush(stdout) != 0 && status == PREPARE_CLUSTERED) {
        fprintf(stderr, NOT_CLUSTERING "cannot write to stdout: %s\n", strerror(errno));
        status = PREPARE_FAILED;
    }
    prepare_state_free(&st);
    return status;
}
