/* The peer's name as it says it in the distribution handshake. ei dials a node by address
 * (ei_connect_host_port) and never compares the name in the peer's challenge with the one it
 * meant to reach, so the socket layer reads it from the handshake packets as they come in:
 * the peer's second packet, after its status, is the challenge ('n' in protocol version 5,
 * 'N' from OTP 23 on), and both carry the peer's full node name. */
#include "agent/dist_socket.h"
#include "agent/dist_socket_private.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t be16(const unsigned char *p)
{
    return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int dist_challenge_name(const unsigned char *packet, size_t len, char *name, size_t namelen)
{
    const unsigned char *at;
    size_t n;
    if (len >= 11 && packet[0] == 'n') {
        /* 'n', version (2), flags (4), challenge (4), name (the rest) */
        at = packet + 11;
        n = len - 11;
    } else if (len >= 19 && packet[0] == 'N') {
        /* 'N', flags (8), challenge (4), creation (4), name length (2), name */
        n = be16(packet + 17);
        if (19 + n > len)
            return -1;
        at = packet + 19;
    } else {
        return -1;
    }
    if (n == 0 || n >= namelen || memchr(at, '\0', n) != NULL)
        return -1;
    memcpy(name, at, n);
    name[n] = '\0';
    return 0;
}

void dist_handshake_watch(struct dist_connection *c, const char *buf, size_t len)
{
    struct dist_socket_setup *setup = c->setup;
    if (c->handshake_done || setup->peer_name[0] != '\0' || c->hs_have >= sizeof c->hs_buf)
        return;
    size_t room = sizeof c->hs_buf - c->hs_have;
    size_t take = len < room ? len : room;
    memcpy(c->hs_buf + c->hs_have, buf, take);
    c->hs_have += take;
    /* Walk the complete packets received so far: a length header (2 bytes in clear text,
     * 4 under TLS), then the packet. */
    size_t header = setup->tls != NULL ? 4 : 2, pos = 0;
    while (c->hs_have - pos >= header) {
        size_t plen = header == 4 ? be32(c->hs_buf + pos) : be16(c->hs_buf + pos);
        if (plen > c->hs_have - pos - header)
            return; /* not all in yet (or longer than any handshake packet: never) */
        const unsigned char *packet = c->hs_buf + pos + header;
        if (plen > 0 && (packet[0] == 'n' || packet[0] == 'N')) {
            if (dist_challenge_name(packet, plen, setup->peer_name, sizeof setup->peer_name) != 0)
                setup->peer_name[0] = '\0';
            return;
        }
        pos += header + plen;
    }
}
