#include "launch/relx_vm_args.h"

#include "common/env.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "launch/flag_guard.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_ARGS_MAX (256 * 1024)

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

int release_vsn_dir(const char *script, char *buf, size_t buflen, char *err, size_t errlen)
{
    char root[PATH_MAX], data_path[PATH_MAX], *data = NULL;
    if (snprintf(root, sizeof root, "%s", script) >= (int)sizeof root)
        return set_error(err, errlen, "release path too long: %s", script);
    for (int up = 0; up < 2; up++) { /* <root>/bin/<script> -> <root> */
        char *slash = strrchr(root, '/');
        if (slash == NULL || slash == root)
            return set_error(err, errlen, "cannot find the release root above %s", script);
        *slash = '\0';
    }
    if (snprintf(data_path, sizeof data_path, "%s/releases/start_erl.data", root) >=
        (int)sizeof data_path)
        return set_error(err, errlen, "release path too long: %s", root);
    if (fs_read_file(data_path, 4096, &data, NULL, err, errlen) != 0)
        return -1;
    char erts_vsn[128], rel_vsn[128];
    int fields = sscanf(data, "%127s %127s", erts_vsn, rel_vsn);
    free(data);
    if (fields != 2 || strchr(rel_vsn, '/') != NULL)
        return set_error(err, errlen, "%s is not \"ERTS_VSN REL_VSN\"", data_path);
    if (snprintf(buf, buflen, "%s/releases/%s", root, rel_vsn) >= (int)buflen)
        return set_error(err, errlen, "release path too long: %s", root);
    return 0;
}

int relx_source_vm_args(const char *script, char *const *env, char *buf, size_t buflen,
                        char *err, size_t errlen)
{
    const char *user = env_lookup(env, "VMARGS_PATH");
    char vsn_dir[PATH_MAX];
    if (user && *user) {
        if (snprintf(buf, buflen, "%s", user) >= (int)buflen)
            return set_error(err, errlen, "release path too long: %s", user);
        return 0;
    }
    if (release_vsn_dir(script, vsn_dir, sizeof vsn_dir, err, errlen) != 0)
        return -1;
    if (snprintf(buf, buflen, "%s/vm.args", vsn_dir) >= (int)buflen)
        return set_error(err, errlen, "release path too long: %s", script);
    return 0;
}

int relx_render_vm_args(const char *source_path, const char *node_name,
                        const char *dist_flags, bool drop_guarded, struct strbuf *out,
                        char *err, size_t errlen)
{
    char *text = NULL;
    if (fs_read_file(source_path, VM_ARGS_MAX, &text, NULL, err, errlen) != 0)
        return -1;
    if (drop_guarded) { /* launch/flag_guard.h has said so */
        struct strbuf kept = {0};
        int removed = flag_guard_strip(text, true, &kept);
        free(text);
        if (removed < 0) {
            strbuf_release(&kept);
            return set_error(err, errlen, "out of memory rendering vm.args");
        }
        text = strbuf_detach(&kept, NULL);
        if (text == NULL)
            return set_error(err, errlen, "out of memory rendering vm.args");
    }
    int rc = strbuf_appendf(out, "## The release's %s without its name and cookie, then the "
                                 "cluster's flags (erlang-cluster-agent prepare).\n",
                            source_path);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (!line_starts_with_flag(line, len, "-name") &&
            !line_starts_with_flag(line, len, "-sname") &&
            !line_starts_with_flag(line, len, "-setcookie")) {
            rc |= strbuf_append_len(out, line, len);
            rc |= strbuf_append(out, "\n");
        }
        line += len + (nl ? 1 : 0);
    }
    free(text);
    if (node_name != NULL)
        rc |= strbuf_appendf(out, "-name %s\n", node_name);
    rc |= strbuf_append(out, dist_flags);
    if (rc != 0)
        return set_error(err, errlen, "out of memory rendering vm.args");
    return 0;
}
