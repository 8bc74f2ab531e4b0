/* The TLS identity record in the run dir: written by the launcher's prepare, read by the
 * agent. One "key value" a line: certfile, keyfile, cafile, app, then any number of allow. */
#include "launch/tls_identity.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/guid.h"
#include "common/strbuf.h"
#include "launch/run_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX_BYTES 16384

void tls_identity_free(struct tls_identity *id)
{
    free(id->certfile);
    free(id->keyfile);
    free(id->cafile);
    free(id->app_guid);
    for (size_t i = 0; i < id->allow_count; i++)
        free(id->allow[i]);
    memset(id, 0, sizeof *id);
}

static bool path_valid(const char *path)
{
    return path != NULL && path[0] == '/' && strchr(path, '\n') == NULL;
}

/* "app:<guid>" or "space:<guid>". */
static bool allow_valid(const char *ou)
{
    if (ou == NULL)
        return false;
    if (strncmp(ou, "app:", 4) == 0)
        return guid_valid(ou + 4);
    if (strncmp(ou, "space:", 6) == 0)
        return guid_valid(ou + 6);
    return false;
}

/* What is wrong with *id, or NULL. */
static const char *identity_problem(const struct tls_identity *id)
{
    if (!path_valid(id->certfile))
        return "the certificate path is not absolute or spans lines";
    if (!path_valid(id->keyfile))
        return "the key path is not absolute or spans lines";
    if (!path_valid(id->cafile))
        return "the CA file path is not absolute or spans lines";
    if (id->app_guid == NULL || !guid_valid(id->app_guid))
        return "the app GUID is not 8-4-4-4-12 hex digits";
    if (id->allow_count > TLS_IDENTITY_MAX_ALLOW)
        return "too many allowed apps";
    for (size_t i = 0; i < id->allow_count; i++)
        if (!allow_valid(id->allow[i]))
            return "an allowed peer is not app:<guid> or space:<guid>";
    return NULL;
}

int tls_identity_write(const char *run_dir, const struct tls_identity *id, char *err,
                       size_t errlen)
{
    const char *problem = identity_problem(id);
    if (problem != NULL)
        return set_error(err, errlen, "TLS identity record: %s", problem);
    struct strbuf out = {0};
    int rc = strbuf_appendf(&out, "certfile %s\nkeyfile %s\ncafile %s\napp %s\n", id->certfile,
                            id->keyfile, id->cafile, id->app_guid);
    for (size_t i = 0; i < id->allow_count; i++)
        rc |= strbuf_appendf(&out, "allow %s\n", id->allow[i]);
    if (rc != 0)
        rc = set_error(err, errlen, "out of memory writing the TLS identity record");
    else
        rc = launch_write_run_file(run_dir, RUN_FILE_TLS_IDENTITY, strbuf_text(&out), err,
                                   errlen);
    strbuf_release(&out);
    return rc;
}

int tls_identity_remove(const char *run_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (launch_run_path(path, sizeof path, run_dir, RUN_FILE_TLS_IDENTITY) != 0)
        return set_error(err, errlen, "run dir path too long: %s", run_dir);
    if (unlink(path) != 0 && errno != ENOENT)
        return set_error(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* One "key value" line into *id; -1 on an unknown key, a repeated one or no memory. */
static int take_line(struct tls_identity *id, const char *line)
{
    const char *space = strchr(line, ' ');
    if (space == NULL || space[1] == '\0')
        return -1;
    size_t keylen = (size_t)(space - line);
    char **slot = NULL;
    if (keylen == 8 && strncmp(line, "certfile", 8) == 0)
        slot = &id->certfile;
    else if (keylen == 7 && strncmp(line, "keyfile", 7) == 0)
        slot = &id->keyfile;
    else if (keylen == 6 && strncmp(line, "cafile", 6) == 0)
        slot = &id->cafile;
    else if (keylen == 3 && strncmp(line, "app", 3) == 0)
        slot = &id->app_guid;
    else if (keylen == 5 && strncmp(line, "allow", 5) == 0 &&
             id->allow_count < TLS_IDENTITY_MAX_ALLOW)
        slot = &id->allow[id->allow_count++];
    if (slot == NULL || *slot != NULL)
        return -1;
    *slot = strdup(space + 1);
    return *slot ? 0 : -1;
}

int tls_identity_read(const char *run_dir, struct tls_identity *id, char *err, size_t errlen)
{
    memset(id, 0, sizeof *id);
    char path[PATH_MAX];
    if (launch_run_path(path, sizeof path, run_dir, RUN_FILE_TLS_IDENTITY) != 0)
        return set_error(err, errlen, "run dir path too long: %s", run_dir);
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return 0;
    char *text = NULL;
    if (fs_read_file(path, RECORD_MAX_BYTES, &text, NULL, err, errlen) != 0)
        return -1;
    int rc = 1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (take_line(id, line) != 0) {
            rc = set_error(err, errlen, "TLS identity record %s: unexpected line (the launch "
                           "step writes it; restart the app)", path);
            break;
        }
    }
    free(text);
    const char *problem = rc == 1 ? identity_problem(id) : NULL;
    if (problem != NULL)
        rc = set_error(err, errlen, "TLS identity record %s: %s", path, problem);
    if (rc != 1)
        tls_identity_free(id);
    return rc;
}
