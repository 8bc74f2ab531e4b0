#include "agent/dist_links.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define TCP_ESTABLISHED_HEX 0x01 /* the "st" column */

/* FNV-1a of the text, then mixed (splitmix64's finaliser), so that summing the lines' hashes
 * gives a fingerprint that does not depend on their order. */
static uint64_t line_hash(const char *text)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* One file's established connections on the port into out. false when it cannot be read. */
static bool read_table(const char *path, int port, struct dist_links *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (header) { /* "sl local_address rem_address st ..." */
            header = false;
            continue;
        }
        char local[40], remote[40];
        unsigned local_port, remote_port, state;
        if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x", local, &local_port,
                   remote, &remote_port, &state) != 5)
            continue;
        if (state != TCP_ESTABLISHED_HEX ||
            (local_port != (unsigned)port && remote_port != (unsigned)port))
            continue;
        char pair[100];
        snprintf(pair, sizeof pair, "%s:%x-%s:%x", local, local_port, remote, remote_port);
        out->count++;
        out->fingerprint += line_hash(pair);
    }
    bool failed = ferror(f);
    fclose(f); /* read only: nothing to lose */
    return !failed;
}

int dist_links_read(const char *proc_net_dir, int port, struct dist_links *out, char *err,
                    size_t errlen)
{
    *out = (struct dist_links){0};
    char path[256];
    snprintf(path, sizeof path, "%s/tcp", proc_net_dir);
    if (!read_table(path, port, out)) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/tcp6", proc_net_dir);
    if (!read_table(path, port, out) && errno != ENOENT) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
