#include "launch/mix_release.h"

#include "common/env.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "common/text.h"
#include "launch/relx_vm_args.h"
#include "launch/run_dir.h"
#include "launch/start_style.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCAN_MAX 32 /* directory entries looked at in each of bin/, _build/, _build/ENV/rel/ */
#define ENV_SH_MAX (256 * 1024)
#define RELEASE_ENV_MARK "# erlang-cluster-buildpack, added at launch"

static bool regular_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    return snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path &&
           stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sorted names in dir (no dot files), at most SCAN_MAX; NULL-terminated, caller frees. */
static char **list_dir(const char *dir)
{
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, NULL, alphasort);
    if (n < 0)
        return NULL;
    char **names = calloc(SCAN_MAX + 1, sizeof *names);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        if (names != NULL && count < SCAN_MAX && entries[i]->d_name[0] != '.') {
            names[count] = strdup(entries[i]->d_name);
            if (names[count] != NULL)
                count++;
        }
        free(entries[i]);
    }
    free(entries);
    return names;
}

static void free_list(char **names)
{
    for (char **n = names; n && *n; n++)
        free(*n);
    free(names);
}

/* root's Mix release script, when root is a Mix release. */
static char *release_script_in(const char *root)
{
    char releases[PATH_MAX], bin[PATH_MAX];
    if (snprintf(releases, sizeof releases, "%s/releases", root) >= (int)sizeof releases ||
        snprintf(bin, sizeof bin, "%s/bin", root) >= (int)sizeof bin ||
        !regular_file(releases, "start_erl.data") || !regular_file(releases, "COOKIE"))
        return NULL;
    char **names = list_dir(bin), *found = NULL;
    for (char **n = names; n && *n && found == NULL; n++) {
        char path[PATH_MAX];
        enum start_style style;
        if (snprintf(path, sizeof path, "%s/%s", bin, *n) < (int)sizeof path &&
            launch_release_script_style(path, &style) && style == START_STYLE_MIX_RELEASE)
            found = realpath(path, NULL);
    }
    free_list(names);
    return found;
}

/* The first release under build/ENV/rel/ for ENV = prod, then the others in order. */
static char *release_under_build(const char *build)
{
    char **envs = list_dir(build), *found = NULL;
    for (int pass = 0; pass < 2 && found == NULL; pass++) {
        for (char **e = envs; e && *e && found == NULL; e++) {
            if ((strcmp(*e, "prod") == 0) != (pass == 0))
                continue;
            char rel[PATH_MAX];
            if (snprintf(rel, sizeof rel, "%s/%s/rel", build, *e) >= (int)sizeof rel)
                continue;
            char **names = list_dir(rel);
            for (char **n = names; n && *n && found == NULL; n++) {
                char root[PATH_MAX];
                if (snprintf(root, sizeof root, "%s/%s", rel, *n) < (int)sizeof root)
                    found = release_script_in(root);
            }
            free_list(names);
        }
    }
    free_list(envs);
    return found;
}

char *launch_find_mix_release(const char *app_dir)
{
    char *found = release_script_in(app_dir);
    char build[PATH_MAX];
    if (found == NULL && snprintf(build, sizeof build, "%s/_build", app_dir) < (int)sizeof build)
        found = release_under_build(build);
    return found;
}

/* The release's args file (the user's RELEASE_VM_ARGS-like override, else vsn_dir/name)
 * without name and cookie, as run file out_name. Returns 1 written, 0 no such file, -1. */
static int write_filtered_args(const struct launch_plan *plan, const char *vsn_dir,
                               const char *name, const char *override_var,
                               const char *out_name, char *err, size_t errlen)
{
    char source[PATH_MAX];
    const char *user = env_lookup(plan->env, override_var);
    if (snprintf(source, sizeof source, "%s", user && *user ? user : "") >= (int)sizeof source ||
        (!(user && *user) &&
         snprintf(source, sizeof source, "%s/%s", vsn_dir, name) >= (int)sizeof source))
        return set_error(err, errlen, "release path too long: %s", vsn_dir);
    struct stat st;
    if (stat(source, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    struct strbuf text = {0};
    bool tls = plan->tls != NULL && plan->tls->outcome == TLS_OUTCOME_ON;
    int rc = relx_render_vm_args(source, NULL, "", tls, &text, err, errlen);
    if (rc == 0)
        rc = launch_write_run_file(plan->run_dir, out_name, strbuf_text(&text), err, errlen);
    strbuf_release(&text);
    return rc == 0 ? 1 : -1;
}

static int append_export(struct strbuf *sb, const char *name, const char *value)
{
    if (strbuf_appendf(sb, "export %s=", name) != 0 || shell_quote_append(sb, value) != 0)
        return -1;
    return strbuf_append(sb, "\n");
}

/* Ends the release's env.sh with a line that sources release.env (once: a later start in
 * this container finds it there). The droplet is extracted afresh into every container, so
 * the change lives as long as this container. */
static void source_from_release_env_sh(const struct launch_plan *plan, const char *vsn_dir)
{
    char path[PATH_MAX], err[512] = "", *text = NULL;
    size_t len = 0;
    struct stat st;
    if (snprintf(path, sizeof path, "%s/env.sh", vsn_dir) >= (int)sizeof path ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return; /* every Mix release has one; without it nothing overrides ours */
    if (fs_read_file(path, ENV_SH_MAX, &text, &len, err, sizeof err) != 0) {
        fprintf(stderr, "erlang-cluster: cannot read %s (%s); settings it exports may win "
                "over the cluster's\n", path, err);
        return;
    }
    if (strstr(text, RELEASE_ENV_MARK) == NULL) {
        struct strbuf sb = {0};
        int rc = strbuf_append(&sb, text);
        rc |= strbuf_appendf(&sb, "%s\n" RELEASE_ENV_MARK ": the cluster's node name, cookie "
                             "and vm.args win\n# over any set above (README, \"Start styles\").\n"
                             "if [ -r '%s/" RUN_FILE_RELEASE_ENV "' ]; then . '%s/"
                             RUN_FILE_RELEASE_ENV "'; fi\n",
                             len > 0 && text[len - 1] != '\n' ? "\n" : "", plan->run_dir,
                             plan->run_dir);
        if (rc != 0)
            snprintf(err, sizeof err, "out of memory");
        else
            fs_write_atomic(path, sb.data, sb.len, st.st_mode & 07777, err, sizeof err);
        if (rc != 0 || err[0])
            fprintf(stderr, "erlang-cluster: cannot add the cluster's settings to %s (%s); "
                    "settings it exports may win over the cluster's\n", path, err);
        strbuf_release(&sb);
    }
    free(text);
}

int launch_write_mix_release_files(const struct launch_plan *plan, char *err, size_t errlen)
{
    char vsn_dir[PATH_MAX], vm_args[PATH_MAX], remote_args[PATH_MAX];
    if (release_vsn_dir(plan->mix_release, vsn_dir, sizeof vsn_dir, err, errlen) != 0)
        return -1;
    if (launch_run_path(vm_args, sizeof vm_args, plan->run_dir, RUN_FILE_RELEASE_VM_ARGS) != 0 ||
        launch_run_path(remote_args, sizeof remote_args, plan->run_dir,
                        RUN_FILE_RELEASE_REMOTE_VM_ARGS) != 0)
        return set_error(err, errlen, "run dir path too long: %s", plan->run_dir);
    int have_vm = write_filtered_args(plan, vsn_dir, "vm.args", "RELEASE_VM_ARGS",
                                      RUN_FILE_RELEASE_VM_ARGS, err, errlen);
    int have_remote = have_vm < 0 ? -1 : write_filtered_args(plan, vsn_dir, "remote.vm.args",
                                                             "RELEASE_REMOTE_VM_ARGS",
                                                             RUN_FILE_RELEASE_REMOTE_VM_ARGS,
                                                             err, errlen);
    if (have_remote < 0)
        return -1;
    struct strbuf env = {.secret = true};
    int rc = strbuf_append(&env, "# Written by erlang-cluster-agent prepare; sourced at the end "
                                 "of the Mix release's env.sh.\n");
    rc |= append_export(&env, "RELEASE_DISTRIBUTION", "name");
    rc |= append_export(&env, "RELEASE_NODE", plan->node_name);
    rc |= append_export(&env, "RELEASE_COOKIE", plan->cookie);
    if (have_vm)
        rc |= append_export(&env, "RELEASE_VM_ARGS", vm_args);
    if (have_remote)
        rc |= append_export(&env, "RELEASE_REMOTE_VM_ARGS", remote_args);
    if (rc != 0)
        set_error(err, errlen, "out of memory rendering " RUN_FILE_RELEASE_ENV);
    else
        rc = launch_write_run_file(plan->run_dir, RUN_FILE_RELEASE_ENV, strbuf_text(&env), err,
                                   errlen);
    strbuf_release(&env);
    if (rc == 0)
        source_from_release_env_sh(plan, vsn_dir);
    return rc == 0 ? 0 : -1;
}
