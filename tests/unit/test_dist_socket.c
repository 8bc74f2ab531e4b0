/* The agent's distribution sockets without a node: setup, the errors ei cannot tell (it only
 * reports an errno), which dist_socket_error names. tests/e2e/tls-dist.bats,
 * tests/integration/tls.bats and agent.bats run them against real nodes. Also the capability
 * flags the handshake offers, which newer nodes require. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/dist_socket.h"

/* A TCP listener on 127.0.0.1 that never accepts: connections complete in its backlog. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static void a_fresh_setup_has_no_error_and_nothing_pending(void **state)
{
    (void)state;
    struct dist_socket_setup setup;
    dist_socket_setup_init(&setup, NULL);
    assert_string_equal(dist_socket_error(&setup), "");
    assert_int_equal(setup.refusal, DIST_REFUSED_NOT);
    assert_false(dist_socket_pending(&setup, 0));
}

static void an_unreadable_certificate_is_named(void **state)
{
    (void)state;
    assert_int_equal(ei_init(), 0);
    int port, lfd = listener(&port);
    struct tls_identity id = {.certfile = "/nonexistent/instance.crt",
                              .keyfile = "/nonexistent/instance.key",
                              .cafile = "/nonexistent/ca.pem",
                              .app_guid = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"};
    struct dist_socket_setup setup;
    dist_socket_setup_init(&setup, &id);
    ei_cnode ec;
    assert_true(dist_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    int fd = ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000);
    assert_true(fd < 0);
    const char *want = "TLS: cannot use the certificate /nonexistent/instance.crt";
    assert_memory_equal(dist_socket_error(&setup), want, strlen(want));
    /* Our own files are no refusal by the node. */
    assert_int_equal(setup.refusal, DIST_REFUSED_NOT);
    /* ei closed the failed connection through the callbacks. */
    assert_null(setup.live);
    close(lfd);
}

static void without_an_app_guid_no_node_is_accepted_and_the_error_says_why(void **state)
{
    (void)state;
    assert_int_equal(ei_init(), 0);
    int port, lfd = listener(&port);
    struct tls_identity id = {.certfile = "/c", .keyfile = "/k", .cafile = "/ca"};
    struct dist_socket_setup setup;
    dist_socket_setup_init(&setup, &id);
    ei_cnode ec;
    assert_true(dist_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    assert_true(ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000) < 0);
    assert_string_equal(dist_socket_error(&setup),
                        "TLS: no app GUID in the identity, so no node certificate can be accepted");
    /* Our own identity is no refusal by the node. */
    assert_int_equal(setup.refusal, DIST_REFUSED_NOT);
    assert_null(setup.live);
    close(lfd);
}

static void a_closed_port_is_no_error_and_leaves_nothing_open(void **state)
{
    (void)state;
    int port, lfd = listener(&port);
    close(lfd); /* the port is now closed */
    struct tls_identity id = {.certfile = "/c", .keyfile = "/k", .cafile = "/ca"};
    struct dist_socket_setup setup;
    dist_socket_setup_init(&setup, &id);
    ei_cnode ec;
    assert_true(dist_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    assert_true(ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000) < 0);
    assert_string_equal(dist_socket_error(&setup), "");
    assert_int_equal(setup.refusal, DIST_REFUSED_NOT);
    assert_null(setup.live);
}

/* The listening side of a_connection_sends_without_delay: accepts one connection, waits for
 * the dialler's first packet, then finds the dialler's socket in this process by its local
 * port and reads its TCP_NODELAY. */
struct dialled {
    int listen_fd;
    int nodelay; /* -1: the dialler's socket was not found */
};

static void *accept_and_look(void *arg)
{
    struct dialled *d = arg;
    d->nodelay = -1;
    int afd = accept(d->listen_fd, NULL, NULL);
    if (afd < 0)
        return NULL;
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    char first[64];
    if (getpeername(afd, (struct sockaddr *)&peer, &len) == 0 &&
        recv(afd, first, sizeof first, 0) > 0) {
        for (int fd = 0; fd < 1024; fd++) {
            struct sockaddr_in local;
            socklen_t llen = sizeof local;
            int on = 0;
            socklen_t olen = sizeof on;
            if (fd != afd && fd != d->listen_fd &&
                getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
                local.sin_family == AF_INET && local.sin_port == peer.sin_port &&
                getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &olen) == 0)
                d->nodelay = on;
        }
    }
    close(afd);
    return NULL;
}

/* An rpc is a few small writes: with Nagle's algorithm each would wait for the node's delayed
 * ACK (40 ms). libei's own sockets set TCP_NODELAY, so ours must too. */
static void a_connection_sends_without_delay(void **state)
{
    (void)state;
    assert_int_equal(ei_init(), 0);
    int port;
    struct dialled d = {.listen_fd = listener(&port)};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, accept_and_look, &d), 0);
    struct dist_socket_setup setup;
    dist_socket_setup_init(&setup, NULL);
    ei_cnode ec;
    assert_true(dist_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    /* The listener closes after the first packet: no handshake, the connection fails. */
    assert_true(ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000) < 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(d.nodelay, 1);
    assert_null(setup.live);
    close(d.listen_fd);
}

/* The listening side of the_handshake_offers_what_otp_26_to_28_require: reads the dialler's
 * first handshake packet (send_name) and keeps its tag and capability flags. */
struct named {
    int listen_fd;
    char tag;       /* 'N': protocol version 6 (OTP 23+); 0: nothing read */
    uint64_t flags;
};

static void *accept_and_read_name(void *arg)
{
    struct named *n = arg;
    n->tag = 0;
    int afd = accept(n->listen_fd, NULL, NULL);
    if (afd < 0)
        return NULL;
    /* 2 bytes length, 'N', 8 bytes flags, ...: one short packet, read in full. */
    unsigned char packet[64];
    size_t got = 0;
    while (got < 11) {
        ssize_t r = recv(afd, packet + got, sizeof packet - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got >= 11) {
        n->tag = (char)packet[2];
        for (int i = 0; i < 8; i++)
            n->flags = (n->flags << 8) | packet[3 + i];
    }
    close(afd);
    return NULL;
}

/* OTP 25 refuses a node that lacks any of these (erl_dist_protocol "Distribution Flags"), and
 * OTP 26 added DFLAG_V4_NC and DFLAG_UNLINK_ID (ei_connect_int.h DFLAG_DIST_MANDATORY_26);
 * OTP 27 and 28 require no more. docs/compatibility.md, "Distribution handshake". */
static void the_handshake_offers_what_otp_26_to_28_require(void **state)
{
    (void)state;
    const uint64_t mandatory_25 = 0x4 /* EXTENDED_REFERENCES */ | 0x10 /* FUN_TAGS */ |
                                  0x80 /* NEW_FUN_TAGS */ | 0x100 /* EXTENDED_PIDS_PORTS */ |
                                  0x200 /* EXPORT_PTR_TAG */ | 0x400 /* BIT_BINARIES */ |
                                  0x800 /* NEW_FLOATS */ | 0x10000 /* UTF8_ATOMS */ |
                                  0x20000 /* MAP_TAG */ | 0x40000 /* BIG_CREATION */ |
                                  0x1000000 /* HANDSHAKE_23 */;
    const uint64_t mandatory_26 = 0x2000000 /* UNLINK_ID */ | (UINT64_C(1) << 34) /* V4_NC */;
    assert_int_equal(ei_init(), 0);
    int port;
    struct named n = {.listen_fd = listener(&port)};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, accept_and_read_name, &n), 0);
    struct dist_socket_setup setup;
    dist_socket_setup_init(&setup, NULL);
    ei_cnode ec;
    assert_true(dist_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    /* The listener closes after send_name: the connection fails, the flags are read. */
    assert_true(ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000) < 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(n.tag, 'N');
    assert_int_equal(n.flags & mandatory_25, mandatory_25);
    assert_int_equal(n.flags & mandatory_26, mandatory_26);
    assert_int_equal(n.flags & 0x1 /* PUBLISHED */, 0); /* a hidden node */
    assert_null(setup.live);
    close(n.listen_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_fresh_setup_has_no_error_and_nothing_pending),
        cmocka_unit_test(an_unreadable_certificate_is_named),
        cmocka_unit_test(without_an_app_guid_no_node_is_accepted_and_the_error_says_why),
        cmocka_unit_test(a_closed_port_is_no_error_and_leaves_nothing_open),
        cmocka_unit_test(a_connection_sends_without_delay),
        cmocka_unit_test(the_handshake_offers_what_otp_26_to_28_require),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
