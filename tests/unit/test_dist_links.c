/* The app node's distribution connections from /proc/net/tcp and tcp6: only established ones
 * on the distribution port count, the fingerprint ignores the order of the lines and changes
 * when a connection goes or is replaced, and an unreadable table is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/dist_links.h"
#include "scratch_dir.h"

#define HEADER                                                                                 \
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "     \
    "timeout inode\n"
/* Port 9001 is 2329 in hex. 10.0.0.5 is 0500000A in the kernel's byte order. */
#define LISTEN "   0: 00000000:2329 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2000 0 11 1\n"
#define FROM_6 "   1: 0500000A:2329 0600000A:9C40 01 00000000:00000000 02:00000AF2 00000000  2000 0 12 2\n"
#define TO_7   "   2: 0500000A:A3B2 0700000A:2329 01 00000000:00000000 02:00000AF2 00000000  2000 0 13 2\n"
#define OTHER  "   3: 0500000A:1F90 0800000A:C350 01 00000000:00000000 02:00000AF2 00000000  2000 0 14 2\n"
#define GOING  "   4: 0500000A:2329 0900000A:9C41 06 00000000:00000000 03:00000298 00000000     0 0 0 3\n"
#define TO_7_V6                                                                                \
    "   0: 0000000000000000FFFF00000500000A:A3B4 0000000000000000FFFF00000700000A:2329 01 "   \
    "00000000:00000000 02:00000AF2 00000000  2000 0 15 2\n"

static void only_established_connections_on_the_port_count(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "net/tcp", HEADER LISTEN FROM_6 TO_7 OTHER GOING);
    char net[128];
    snprintf(net, sizeof net, "%s/net", fx->dir);
    struct dist_links links;
    assert_int_equal(dist_links_read(net, 9001, &links, fx->err, sizeof fx->err), 0);
    assert_int_equal(links.count, 2); /* not the listener, another port, or one closing */
    struct dist_links again;
    assert_int_equal(dist_links_read(net, 9001, &again, fx->err, sizeof fx->err), 0);
    assert_int_equal(again.fingerprint, links.fingerprint);

    write_file(fx->dir, "net/tcp6", HEADER TO_7_V6);
    assert_int_equal(dist_links_read(net, 9001, &again, fx->err, sizeof fx->err), 0);
    assert_int_equal(again.count, 3); /* tcp6 too */
}

static void the_fingerprint_follows_the_connections_not_the_line_order(void **state)
{
    struct fixture *fx = *state;
    char net[128];
    snprintf(net, sizeof net, "%s/net", fx->dir);
    struct dist_links before, reordered, one_gone, replaced;
    write_file(fx->dir, "net/tcp", HEADER FROM_6 TO_7);
    assert_int_equal(dist_links_read(net, 9001, &before, fx->err, sizeof fx->err), 0);
    write_file(fx->dir, "net/tcp", HEADER TO_7 FROM_6);
    assert_int_equal(dist_links_read(net, 9001, &reordered, fx->err, sizeof fx->err), 0);
    assert_int_equal(reordered.fingerprint, before.fingerprint);
    write_file(fx->dir, "net/tcp", HEADER FROM_6);
    assert_int_equal(dist_links_read(net, 9001, &one_gone, fx->err, sizeof fx->err), 0);
    assert_int_equal(one_gone.count, 1);
    assert_int_not_equal(one_gone.fingerprint, before.fingerprint);
    /* The same peer connected again, from another port: the same count, a new fingerprint. */
    write_file(fx->dir, "net/tcp",
               HEADER FROM_6
               "   2: 0500000A:A3B3 0700000A:2329 01 00000000:00000000 02:00000AF2 00000000  2000 0 16 2\n");
    assert_int_equal(dist_links_read(net, 9001, &replaced, fx->err, sizeof fx->err), 0);
    assert_int_equal(replaced.count, before.count);
    assert_int_not_equal(replaced.fingerprint, before.fingerprint);
}

static void an_unreadable_table_is_an_error(void **state)
{
    struct fixture *fx = *state;
    char net[128];
    snprintf(net, sizeof net, "%s/nothing-here", fx->dir);
    struct dist_links links;
    assert_int_equal(dist_links_read(net, 9001, &links, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "nothing-here/tcp"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(only_established_connections_on_the_port_count, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_fingerprint_follows_the_connections_not_the_line_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreadable_table_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
