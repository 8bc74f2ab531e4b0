/* The agent's TLS channel without a node: setup, and the errors ei cannot tell (it only
 * reports an errno), which tls_socket_error names. tests/e2e/tls-dist.bats runs it against
 * real TLS-distribution nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/tls_socket.h"

static void setup_copies_its_arguments_and_needs_all_three_files(void **state)
{
    (void)state;
    char cert[] = "/id/instance.crt";
    struct tls_socket_setup setup;
    char err[128] = "";
    assert_int_equal(tls_socket_setup_init(&setup, cert, "/id/instance.key", "/id/ca.pem", NULL,
                                           err, sizeof err),
                     0);
    cert[1] = 'X';
    assert_string_equal(setup.certfile, "/id/instance.crt");
    assert_null(setup.app_guid);
    assert_string_equal(tls_socket_error(&setup), "");
    assert_false(tls_socket_pending(&setup, 0));
    tls_socket_setup_free(&setup);

    assert_int_equal(tls_socket_setup_init(&setup, "/c", "/k", NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "TLS: the certificate, key and CA file paths are all needed");
}

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

static void an_unreadable_certificate_is_named(void **state)
{
    (void)state;
    assert_int_equal(ei_init(), 0);
    int port, lfd = listener(&port);
    struct tls_socket_setup setup;
    char err[128];
    assert_int_equal(tls_socket_setup_init(&setup, "/nonexistent/instance.crt",
                                           "/nonexistent/instance.key", "/nonexistent/ca.pem",
                                           NULL, err, sizeof err),
                     0);
    ei_cnode ec;
    assert_true(tls_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    int fd = ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000);
    assert_true(fd < 0);
    const char *want = "TLS: cannot use the certificate /nonexistent/instance.crt";
    assert_memory_equal(tls_socket_error(&setup), want, strlen(want));
    /* ei closed the failed connection through the callbacks. */
    assert_null(setup.live);
    tls_socket_setup_free(&setup);
    close(lfd);
}

static void a_closed_port_is_no_tls_error_and_leaves_nothing_open(void **state)
{
    (void)state;
    int port, lfd = listener(&port);
    close(lfd); /* the port is now closed */
    struct tls_socket_setup setup;
    char err[128];
    assert_int_equal(tls_socket_setup_init(&setup, "/c", "/k", "/ca", NULL, err, sizeof err), 0);
    ei_cnode ec;
    assert_true(tls_socket_xinit(&ec, "127.0.0.1", "t", "t@127.0.0.1", "cookie", 1, &setup) >= 0);
    assert_true(ei_connect_host_port_tmo(&ec, "127.0.0.1", port, 2000) < 0);
    assert_string_equal(tls_socket_error(&setup), "");
    assert_null(setup.live);
    tls_socket_setup_free(&setup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(setup_copies_its_arguments_and_needs_all_three_files),
        cmocka_unit_test(an_unreadable_certificate_is_named),
        cmocka_unit_test(a_closed_port_is_no_tls_error_and_leaves_nothing_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
