/* Reading the node's side of a distribution handshake (OTP's distribution protocol, "Distribution
 * Handshake"): after the status packet the node sends its challenge, which carries its own
 * node name. A node that refuses the agent still tells it that name, so a refusal can say
 * whether the node runs under another name. */
#include "agent/dist_socket.h"

#include <stdint.h>
#include <string.h>

/* A challenge packet's name: 'n' = tag, version (2), flags (4), challenge (4), name (rest);
 * 'N' = tag, flags (8), challenge (4), creation (4), name length (2), name. */
static bool challenge_name(const unsigned char *p, size_t n, char *out, size_t outlen)
{
    const unsigned char *name;
    size_t len;
    if (n >= 11 && p[0] == 'n') {
        name = p + 11;
        len = n - 11;
    } else if (n >= 19 && p[0] == 'N') {
        len = (size_t)p[17] << 8 | p[18];
        if (len > n - 19)
            return false;
        name = p + 19;
    } else {
        return false;
    }
    if (len == 0 || len >= outlen || memchr(name, '\0', len) != NULL)
        return false;
    memcpy(out, name, len);
    out[len] = '\0';
    return true;
}

bool dist_handshake_challenge_name(const unsigned char *buf, size_t len, size_t header,
                                   char *out, size_t outlen)
{
    size_t at = 0;
    while (header > 0 && header <= 4 && len - at >= header) {
        size_t body = 0;
        for (size_t i = 0; i < header; i++)
            body = body << 8 | buf[at + i];
        at += header;
        if (body > len - at)
            return false; /* the packet is not complete yet */
        if (challenge_name(buf + at, body, out, outlen))
            return true;
        at += body;
    }
    return false;
}
