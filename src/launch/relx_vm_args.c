#include "launch/relx_vm_args.h"

#include "common/env.h"
#include "common/error.h"
#include "common/fsutil.h"

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

int relx_source_vm_args(const char *script, char *const *env, char *buf, size_t buflen,
                        char *err, size_t errlen)
{
    const char *user = env_lookup(env, "VMARGS_PATH");
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
        if (slash == NULL || slash == root)
            return set_error(err, errlen, "cannot find the release root above %s", script);
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
    if (fields != 2 || strchr(rel_vsn, '/') != NULL)
        return set_error(err, errlen, "%s is not \"ERTS_VSN REL_VSN\"", data_path);
    if (snprintf(buf, buflen, "%s/releases/%s/vm.args", root, rel_vsn) >= (int)buflen)
        goto too_long;
    return 0;
too_long:
    return set_error(err, errlen, "release path too long: %s", script);
}

int relx_render_vm_args(const char *source_path, const char *node_name,
                        const char *dist_flags, struct strbuf *out, char *err, size_t errlen)
{
    char *text = NULL;
    if (fs_read_file(source_path, VM_ARGS_MAX, &text, NULL, err, errlen) != 0)
        return -1;
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
