/* The TLS decision at launch (launch/tls_setup.c): off, on with which identity and peers,
 * clear text under auto without an identity, and unclustered (never clear text) when TLS is
 * asked for but cannot run. Real BEAMs with the result: tests/bats/launch_tls.bats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "launch/tls_setup.h"
#include "scratch_dir.h"

#define APP "0b0c2a4e-2f9e-4f55-9d6a-3a0c7f3e1c2d"
#define OTHER_APP "7d1f0000-aaaa-4bbb-8ccc-dddddddddddd"
#define SPACE "5b7e1c8a-1111-4222-8333-944455556666"
#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

/* A config as resolution leaves it at run time with TLS in mode, and an identity in dir. */
static struct config identity_config(const struct fixture *fx, enum cluster_tls mode,
                                     char *cert, char *key)
{
    write_file(fx->dir, "id/instance.crt", PEM PEM);
    write_file(fx->dir, "id/instance.key", "-----BEGIN RSA PRIVATE KEY-----\nx\n");
    snprintf(cert, 256, "%s/id/instance.crt", fx->dir);
    snprintf(key, 256, "%s/id/instance.key", fx->dir);
    struct config cfg = {.tls = mode, .instance_cert = cert, .instance_key = key,
                         .app_id = APP};
    cfg.source[FIELD_TLS] = SOURCE_ENV;
    return cfg;
}

static void decide(const struct config *cfg, const char *release_root, struct tls_decision *d)
{
    char err[256];
    assert_int_equal(tls_decide(cfg, release_root, d, err, sizeof err), 0);
}

static void off_means_clear_text_and_says_nothing(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256];
    struct config cfg = identity_config(fx, CLUSTER_TLS_OFF, cert, key);
    struct tls_decision d;
    decide(&cfg, NULL, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_CLEAR);
    assert_string_equal(d.line, "");
    assert_null(d.id.certfile);
    tls_decision_free(&d);
}

static void true_with_the_identity_uses_it_and_its_own_issuer(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256];
    struct config cfg = identity_config(fx, CLUSTER_TLS_ON, cert, key);
    struct tls_decision d;
    decide(&cfg, NULL, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_ON);
    assert_string_equal(d.id.certfile, cert);
    assert_string_equal(d.id.keyfile, key);
    assert_string_equal(d.id.cafile, cert); /* a peer chains to the same issuer as ours */
    assert_string_equal(d.id.app_guid, APP);
    assert_int_equal(d.id.allow_count, 0);
    assert_non_null(strstr(d.line, "mutual TLS with the instance identity "
                                    "(ERLANG_CLUSTER_TLS=true from environment; peers: this "
                                    "app's instances)"));
    char err[256];
    char *optfile = tls_render_optfile(&d.id, err, sizeof err);
    assert_non_null(optfile);
    assert_non_null(strstr(optfile, "Allowed = [<<\"app:" APP "\">>]"));
    free(optfile);
    tls_decision_free(&d);
}

static void auto_with_the_identity_is_on(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256];
    struct config cfg = identity_config(fx, CLUSTER_TLS_AUTO, cert, key);
    struct tls_decision d;
    decide(&cfg, NULL, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_ON);
    assert_non_null(strstr(d.line, "ERLANG_CLUSTER_TLS=auto from environment"));
    tls_decision_free(&d);
}

static void a_ca_file_and_allowed_peers_are_taken_as_set(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256], ca[256];
    struct config cfg = identity_config(fx, CLUSTER_TLS_ON, cert, key);
    write_file(fx->dir, "peers-ca.pem", PEM);
    snprintf(ca, sizeof ca, "%s/peers-ca.pem", fx->dir);
    cfg.tls_ca_file = ca;
    cfg.tls_allow = OTHER_APP "," APP ",space," OTHER_APP; /* own app and repeats: once */
    cfg.space_id = "5B7E1C8A-1111-4222-8333-944455556666";
    cfg.app_id = "0B0C2A4E-2F9E-4F55-9D6A-3A0C7F3E1C2D";
    struct tls_decision d;
    decide(&cfg, NULL, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_ON);
    assert_string_equal(d.id.cafile, ca);
    assert_string_equal(d.id.app_guid, APP);
    assert_int_equal(d.id.allow_count, 2);
    assert_string_equal(d.id.allow[0], "app:" OTHER_APP);
    assert_string_equal(d.id.allow[1], "space:" SPACE);
    assert_non_null(strstr(d.line, "peers: any app of space " SPACE));
    char err[256];
    char *optfile = tls_render_optfile(&d.id, err, sizeof err);
    assert_non_null(optfile);
    assert_non_null(strstr(optfile, "Allowed = [<<\"app:" APP "\">>, <<\"app:" OTHER_APP
                                    "\">>, <<\"space:" SPACE "\">>]"));
    free(optfile);
    tls_decision_free(&d);
}

/* One line, naming what is wrong and how to go on, and never TLS_OUTCOME_CLEAR. */
static void expect_unclustered(const struct config *cfg, const char *release_root,
                               const char *why)
{
    struct tls_decision d;
    decide(cfg, release_root, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_UNCLUSTERED);
    if (strstr(d.line, why) == NULL)
        fail_msg("line \"%s\" lacks \"%s\"", d.line, why);
    assert_null(strchr(d.line, '\n'));
    assert_null(d.id.certfile);
    tls_decision_free(&d);
}

static void true_without_a_usable_identity_leaves_the_app_unclustered(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256], missing[300];
    struct config cfg = identity_config(fx, CLUSTER_TLS_ON, cert, key);
    snprintf(missing, sizeof missing, "%s/nowhere.crt", fx->dir);

    struct config unset = cfg;
    unset.instance_cert = NULL;
    expect_unclustered(&unset, NULL, "ERLANG_CLUSTER_TLS=true (from environment) but "
                                     "CF_INSTANCE_CERT is not set; the app starts unclustered");
    struct config no_key = cfg;
    no_key.instance_key = NULL;
    expect_unclustered(&no_key, NULL, "CF_INSTANCE_KEY is not set");
    struct config gone = cfg;
    gone.instance_cert = missing;
    expect_unclustered(&gone, NULL, "No such file or directory");
    struct config dir_as_key = cfg;
    dir_as_key.instance_key = fx->dir;
    expect_unclustered(&dir_as_key, NULL, "not a non-empty regular file");
    write_file(fx->dir, "junk.crt", "not a certificate\n");
    char junk[300];
    snprintf(junk, sizeof junk, "%s/junk.crt", fx->dir);
    struct config not_pem = cfg;
    not_pem.instance_cert = junk;
    expect_unclustered(&not_pem, NULL, "holds no PEM certificate");
    struct config bad_ca = cfg;
    bad_ca.tls_ca_file = missing;
    expect_unclustered(&bad_ca, NULL, "ERLANG_CLUSTER_TLS_CA_FILE cannot be read");
    struct config no_app = cfg;
    no_app.app_id = NULL;
    expect_unclustered(&no_app, NULL, "application_id is missing");
    struct config no_space = cfg;
    no_space.tls_allow = "space";
    no_space.space_id = "space-guid";
    expect_unclustered(&no_space, NULL, "space_id is not a GUID");
    /* auto goes on in clear text only when there is no identity: a broken one is an error. */
    struct config auto_gone_key = cfg;
    auto_gone_key.tls = CLUSTER_TLS_AUTO;
    auto_gone_key.instance_key = fx->dir;
    expect_unclustered(&auto_gone_key, NULL, "ERLANG_CLUSTER_TLS=auto");
}

static void auto_without_an_identity_is_clear_text_and_says_so(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256], missing[300];
    struct config cfg = identity_config(fx, CLUSTER_TLS_AUTO, cert, key);
    cfg.instance_cert = NULL;
    struct tls_decision d;
    decide(&cfg, NULL, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_CLEAR);
    assert_string_equal(d.line, "clear text (ERLANG_CLUSTER_TLS=auto from environment: no "
                                "instance identity, CF_INSTANCE_CERT is not set)");
    tls_decision_free(&d);
    snprintf(missing, sizeof missing, "%s/nowhere.key", fx->dir);
    cfg.instance_cert = cert;
    cfg.instance_key = missing;
    decide(&cfg, NULL, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_CLEAR);
    assert_non_null(strstr(d.line, "no instance identity, CF_INSTANCE_KEY"));
    tls_decision_free(&d);
}

static void a_release_without_ssl_cannot_run_tls(void **state)
{
    struct fixture *fx = *state;
    char cert[256], key[256], release[256];
    struct config cfg = identity_config(fx, CLUSTER_TLS_ON, cert, key);
    write_file(fx->dir, "rel/lib/kernel-8.5.3/ebin/kernel.app", "x");
    write_file(fx->dir, "rel/lib/ssl_verify_fun-1.1/ebin/x.app", "x"); /* not ssl */
    snprintf(release, sizeof release, "%s/rel", fx->dir);
    expect_unclustered(&cfg, release, "has no ssl application (no lib/ssl-*)");
    expect_unclustered(&cfg, release, "add :ssl to extra_applications in mix.exs");

    struct config automatic = cfg;
    automatic.tls = CLUSTER_TLS_AUTO;
    struct tls_decision d;
    decide(&automatic, release, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_CLEAR);
    assert_non_null(strstr(d.line, "clear text (ERLANG_CLUSTER_TLS=auto from environment: "
                                   "the release in"));
    tls_decision_free(&d);

    write_file(fx->dir, "rel/lib/ssl-10.8.7/ebin/ssl.app", "x");
    decide(&cfg, release, &d);
    assert_int_equal(d.outcome, TLS_OUTCOME_ON);
    tls_decision_free(&d);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(off_means_clear_text_and_says_nothing),
        T(true_with_the_identity_uses_it_and_its_own_issuer),
        T(auto_with_the_identity_is_on),
        T(a_ca_file_and_allowed_peers_are_taken_as_set),
        T(true_without_a_usable_identity_leaves_the_app_unclustered),
        T(auto_without_an_identity_is_clear_text_and_says_so),
        T(a_release_without_ssl_cannot_run_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
