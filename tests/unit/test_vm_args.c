/* vm.args rendering for both port modes and both roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/vm_args.h"

static void epmd_less_app_and_guest(void **state)
{
    (void)state;
    struct config cfg = {.dist_port = 9001, .net_ticktime = 60};
    char *app = vm_args_render(&cfg, VM_ARGS_APP);
    assert_non_null(strstr(app, "\n-start_epmd false\n-erl_epmd_port 9001\n"));
    assert_non_null(strstr(app, "\n-kernel net_ticktime 60\n"));
    assert_null(strstr(app, "-dist_listen"));
    assert_null(strstr(app, "-name"));
    assert_null(strstr(app, "-setcookie"));
    assert_null(strstr(app, "inet_dist_listen"));
    char *guest = vm_args_render(&cfg, VM_ARGS_GUEST);
    assert_non_null(strstr(guest, "-erl_epmd_port 9001\n"));
    assert_non_null(strstr(guest, "\n-dist_listen false\n"));
    free(app);
    free(guest);
}

static void epmd_mode_pins_the_listen_port_for_the_app_only(void **state)
{
    (void)state;
    struct config cfg = {.dist_port = 9100, .net_ticktime = 15, .epmd = true};
    char *app = vm_args_render(&cfg, VM_ARGS_APP);
    assert_non_null(strstr(app, "\n-kernel inet_dist_listen_min 9100 inet_dist_listen_max 9100\n"));
    assert_non_null(strstr(app, "\n-kernel net_ticktime 15\n"));
    assert_null(strstr(app, "-start_epmd"));
    assert_null(strstr(app, "-erl_epmd_port"));
    char *guest = vm_args_render(&cfg, VM_ARGS_GUEST);
    assert_null(strstr(guest, "inet_dist_listen"));
    assert_non_null(strstr(guest, "-kernel net_ticktime 15\n"));
    free(app);
    free(guest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epmd_less_app_and_guest),
        cmocka_unit_test(epmd_mode_pins_the_listen_port_for_the_app_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
