/* The ssl_dist_optfile renderer: what it allows, the TLS settings of both roles, and one
 * error line per bad value. tests/e2e/tls-dist.bats runs the rendered text in real nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launch/tls_options.h"

#define APP "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
#define OTHER "99999999-8888-4777-8666-555544443333"
#define SPACE "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static struct tls_options base(void)
{
    return (struct tls_options){
        .certfile = "/etc/cf-instance-credentials/instance.crt",
        .keyfile = "/etc/cf-instance-credentials/instance.key",
        .cacertfile = "/home/vcap/tmp/erlang-cluster/ca.pem",
        .app_guid = APP,
    };
}

/* The text between the first occurrence of start and the next occurrence of end. */
static char *between(const char *text, const char *start, const char *end)
{
    const char *a = strstr(text, start);
    assert_non_null(a);
    const char *b = strstr(a + strlen(start), end);
    assert_non_null(b);
    return strndup(a, (size_t)(b - a));
}

static void one_expression_wrapped_in_a_fun(void **state)
{
    (void)state;
    struct tls_options o = base();
    char err[256] = "";
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    assert_string_equal(err, "");
    /* Comments, then the one expression; no binding left at the top level. */
    const char *expr = strstr(text, "\n(fun() ->\n");
    assert_non_null(expr);
    assert_null(strstr(expr + 2, "(fun() ->"));
    size_t len = strlen(text);
    assert_true(len > 8);
    assert_string_equal(text + len - 8, "end)().\n");
    for (const char *line = text; line < expr; line = strchr(line, '\n') + 1)
        assert_memory_equal(line, "%%", 2);
    free(text);
}

static void the_identity_files_by_path(void **state)
{
    (void)state;
    struct tls_options o = base();
    char err[256];
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    assert_non_null(strstr(text, "CertFile = \"/etc/cf-instance-credentials/instance.crt\",\n"));
    assert_non_null(strstr(text, "KeyFile = \"/etc/cf-instance-credentials/instance.key\",\n"));
    assert_non_null(strstr(text, "CaFile = \"/home/vcap/tmp/erlang-cluster/ca.pem\",\n"));
    assert_non_null(strstr(text, "[{certfile, CertFile}, {keyfile, KeyFile}, {cacertfile, CaFile},"));
    /* Read afresh for every connection (rotation), set before the fun's first binding. */
    const char *bypass = strstr(text, "    ok = application:set_env(ssl, bypass_pem_cache, true),\n");
    assert_non_null(bypass);
    assert_true(bypass < strstr(text, "CertFile = "));
    free(text);
}

static void both_roles_verify_the_peer_with_tls_1_2_or_later(void **state)
{
    (void)state;
    struct tls_options o = base();
    char err[256];
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    char *common = between(text, "Common = [", "],\n");
    assert_non_null(strstr(common, "{verify, verify_peer}"));
    assert_non_null(strstr(common, "{versions, ['tlsv1.3', 'tlsv1.2']}"));
    assert_non_null(strstr(common, "{verify_fun, {Verify, []}}"));
    /* The CA file's certificates are the anchors, intermediates included. */
    assert_non_null(strstr(common, "{partial_chain, PartialChain}"));
    char *partial = between(text, "PartialChain = fun(Chain) ->", "end,\n    Match");
    assert_non_null(strstr(partial, "lists:member(C, Trusted)"));
    assert_non_null(strstr(partial, "{trusted_ca, Ca}"));
    assert_non_null(strstr(text, "file:read_file(CaFile)"));
    free(partial);
    char *server = between(text, "{server, [", "]},\n");
    assert_non_null(strstr(server, "{fail_if_no_peer_cert, true}, {certificate_authorities, false} | Common"));
    char *client = between(text, "{client, [", "]}]\n");
    assert_non_null(strstr(client, "{customize_hostname_check, [{match_fun, Match}]} | Common"));
    assert_null(strstr(client, "fail_if_no_peer_cert"));
    /* The peer checks: the allowed OUs and the IP SAN against the connection's peer. */
    char *verify = between(text, "Verify = fun", "end,\n    Match");
    assert_non_null(strstr(verify, "lists:member(Ou, Allowed)"));
    assert_non_null(strstr(verify, "public_key:pkix_verify_hostname(Cert, [{ip, Ip}])"));
    assert_non_null(strstr(verify, "{fail, peer_is_not_an_allowed_app}"));
    assert_non_null(strstr(verify, "{fail, peer_address_unknown}"));
    free(common);
    free(server);
    free(client);
    free(verify);
    free(text);
}

/* The socket of a peer that passed every check reads 64 KB at a time (bench/RESULTS.md
 * section 9), only then, and only where the app's own kernel options size no socket
 * (tests/e2e/tls-dist.bats runs the cases). Nothing else changes the sockets' options. */
static void a_proven_peers_socket_reads_64_kb_at_a_time(void **state)
{
    (void)state;
    struct tls_options o = base();
    char err[256];
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    char *sizes = between(text, "AppSizes = fun(Key) ->", "end,\n    Widen");
    assert_non_null(strstr(sizes, "application:get_env(kernel, Key)"));
    assert_non_null(strstr(sizes, "undefined -> false;"));
    assert_non_null(strstr(sizes, "not (is_list(L) andalso is_integer(catch length(L)))"));
    assert_non_null(strstr(sizes, "lists:member(K, [buffer, recbuf, sndbuf])"));
    char *widen = between(text, "Widen = case", "end,\n");
    assert_non_null(strstr(widen, "AppSizes(inet_dist_listen_options) orelse AppSizes(inet_dist_connect_options)"));
    assert_non_null(strstr(widen, "true -> fun(_) -> ok end;"));
    assert_non_null(strstr(widen, "false -> fun(Port) -> catch inet:setopts(Port, [{buffer, 65536}]) end"));
    /* Called once, where the IP SAN check has passed, on the port whose peer it checked. */
    char *verify = between(text, "Verify = fun", "end,\n    Anchors");
    const char *widened = strstr(verify, "true -> _ = Widen(Port), {valid, S};");
    assert_non_null(widened);
    assert_null(strstr(widened + strlen("true -> _ = Widen("), "Widen("));
    assert_true(strstr(verify, "{ok, Ip, Port} ->") < widened);
    assert_true(strstr(verify, "lists:member(Ou, Allowed)") < widened);
    assert_null(strstr(text, "inet_dist_listen_options, ["));
    assert_null(strstr(text, "{buffer, 65536} |"));
    free(sizes);
    free(widen);
    free(verify);
    free(text);
}

static void only_this_app_by_default(void **state)
{
    (void)state;
    struct tls_options o = base();
    char err[256];
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    assert_non_null(strstr(text, "    Allowed = [<<\"app:" APP "\">>],\n"));
    free(text);
}

static void more_apps_and_the_space_in_lower_case(void **state)
{
    (void)state;
    const char *apps[] = {OTHER, "ABCDEF01-2345-4678-9ABC-DEF012345678"};
    struct tls_options o = base();
    o.app_guid = "6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9";
    o.allow_apps = apps;
    o.allow_apps_count = 2;
    o.space_guid = SPACE;
    char err[256];
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    assert_non_null(strstr(text, "    Allowed = [<<\"app:" APP "\">>, <<\"app:" OTHER
                                 "\">>, <<\"app:abcdef01-2345-4678-9abc-def012345678\">>, "
                                 "<<\"space:" SPACE "\">>],\n"));
    free(text);
}

static void quotes_and_backslashes_in_paths_are_escaped(void **state)
{
    (void)state;
    struct tls_options o = base();
    o.certfile = "/tmp/a \"b\"\\c.crt";
    char err[256];
    char *text = tls_options_render(&o, err, sizeof err);
    assert_non_null(text);
    assert_non_null(strstr(text, "CertFile = \"/tmp/a \\\"b\\\"\\\\c.crt\",\n"));
    free(text);
}

static void expect_error(struct tls_options *o, const char *message)
{
    char err[256] = "";
    char *text = tls_options_render(o, err, sizeof err);
    assert_null(text);
    assert_string_equal(err, message);
}

static void bad_paths_are_named(void **state)
{
    (void)state;
    struct tls_options o = base();
    o.keyfile = "instance.key";
    expect_error(&o, "TLS distribution: the key path must be absolute (got 'instance.key')");
    o = base();
    o.cacertfile = NULL;
    expect_error(&o, "TLS distribution: the CA file path must be absolute (got '')");
    o = base();
    o.certfile = "/tmp/caf\xc3\xa9.crt";
    expect_error(&o, "TLS distribution: the certificate path /tmp/caf\xc3\xa9.crt has characters "
                     "other than printable ASCII: move the file to a plain path");
    o = base();
    o.certfile = "/tmp/a\nb";
    assert_null(tls_options_render(&o, (char[256]){0}, 256));
}

static void bad_guids_are_named(void **state)
{
    (void)state;
    struct tls_options o = base();
    o.app_guid = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f";
    expect_error(&o, "TLS distribution: the app GUID '6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f' is not "
                     "a GUID (8-4-4-4-12 hex digits, as cf app --guid prints)");
    o = base();
    o.app_guid = APP "0";
    assert_null(tls_options_render(&o, (char[256]){0}, 256));
    o = base();
    o.app_guid = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fg";
    assert_null(tls_options_render(&o, (char[256]){0}, 256));
    const char *apps[] = {APP, "space"};
    o = base();
    o.allow_apps = apps;
    o.allow_apps_count = 2;
    expect_error(&o, "TLS distribution: the allowed app 'space' is not a GUID (8-4-4-4-12 hex "
                     "digits, as cf app --guid prints)");
    o = base();
    o.space_guid = "\">>, <<\"app:x";
    expect_error(&o, "TLS distribution: the space GUID '\">>, <<\"app:x' is not a GUID (8-4-4-4-12 "
                     "hex digits, as cf app --guid prints)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_expression_wrapped_in_a_fun),
        cmocka_unit_test(the_identity_files_by_path),
        cmocka_unit_test(both_roles_verify_the_peer_with_tls_1_2_or_later),
        cmocka_unit_test(a_proven_peers_socket_reads_64_kb_at_a_time),
        cmocka_unit_test(only_this_app_by_default),
        cmocka_unit_test(more_apps_and_the_space_in_lower_case),
        cmocka_unit_test(quotes_and_backslashes_in_paths_are_escaped),
        cmocka_unit_test(bad_paths_are_named),
        cmocka_unit_test(bad_guids_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
