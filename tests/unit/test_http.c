/* The HTTP client against a one-shot server on loopback: redirects are not followed, bodies
 * are capped, the total timeout holds, the interrupt fd cuts a call short; and the trusted
 * certificates are the system store plus CF_SYSTEM_CERT_PATH, checked at start, written out
 * by subject hash only for HTTPS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "discovery/http.h"

#include <dlfcn.h>
#include <malloc.h>

/* The header lists http.c builds go through these stand-ins (the test binary's definitions
 * come before libcurl's): they can fail the Nth append, remember what was appended and count
 * list nodes made and freed. */
static int slist_fail_at;         /* 0: never fail; n: the nth call fails */
static int slist_calls;
static int slist_nodes_live;      /* made by append minus freed by free_all */
static char slist_seen[2048];     /* every appended line, '|'-separated */

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *line)
{
    static struct curl_slist *(*real)(struct curl_slist *, const char *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "curl_slist_append");
    if (++slist_calls == slist_fail_at)
        return NULL;
    strncat(slist_seen, line, sizeof slist_seen - strlen(slist_seen) - 2);
    strcat(slist_seen, "|");
    struct curl_slist *grown = real(list, line);
    if (grown)
        slist_nodes_live++;
    return grown;
}

void curl_slist_free_all(struct curl_slist *list)
{
    static void (*real)(struct curl_slist *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "curl_slist_free_all");
    for (struct curl_slist *n = list; n; n = n->next)
        slist_nodes_live--;
    real(list);
}

static void slist_reset(int fail_at)
{
    slist_fail_at = fail_at;
    slist_calls = 0;
    slist_nodes_live = 0;
    slist_seen[0] = '\0';
}

struct server {
    pid_t pid;
    int port;
    int request_fd; /* the request as the server saw it */
};

/* Forks a server that accepts one connection, passes the request back through a pipe and
 * answers with `response` (NULL: never answers). */
static void server_start(struct server *srv, const char *response)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(lfd, 4), 0);
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
    srv->port = ntohs(addr.sin_port);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    srv->pid = fork();
    assert_true(srv->pid >= 0);
    if (srv->pid == 0) {
        close(pipefd[0]);
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            _exit(1);
        char buf[8192];
        ssize_t n = recv(cfd, buf, sizeof buf, 0);
        if (n > 0 && write(pipefd[1], buf, (size_t)n) != n)
            _exit(1);
        close(pipefd[1]);
        if (!response)
            for (;;)
                pause();
        size_t left = strlen(response);
        while (left > 0) {
            ssize_t w = send(cfd, response, left, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            response += w;
            left -= (size_t)w;
        }
        close(cfd);
        _exit(0);
    }
    close(lfd);
    close(pipefd[1]);
    srv->request_fd = pipefd[0];
}

static void server_stop(struct server *srv, char *request, size_t len)
{
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, NULL, 0);
    if (request) {
        ssize_t n = read(srv->request_fd, request, len - 1);
        request[n > 0 ? n : 0] = '\0';
    }
    close(srv->request_fd);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct http_client *client_with(size_t max_body, int interrupt_fd)
{
    struct http_options opts = {.connect_timeout_ms = 1000, .max_body = max_body,
                                .interrupt_fd = interrupt_fd};
    char err[512];
    struct http_client *c = http_client_new(&opts, err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    return c;
}

static void answers_come_back_with_status_and_body_and_the_bearer_token_is_sent(void **state)
{
    (void)state;
    struct server srv;
    server_start(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    struct http_client *c = client_with(1024, -1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/eureka/apps/X", srv.port);
    struct http_request req = {.method = "GET", .url = url, .accept = "application/json",
                               .bearer_token = "tok-123", .timeout_ms = 2000};
    struct http_response resp;
    assert_int_equal(http_perform(c, &req, &resp), HTTP_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello");
    http_response_free(&resp);
    char request[8192];
    server_stop(&srv, request, sizeof request);
    assert_non_null(strstr(request, "GET /eureka/apps/X HTTP/1.1"));
    assert_non_null(strstr(request, "Authorization: Bearer tok-123"));
    assert_non_null(strstr(request, "Accept: application/json"));
    http_client_free(c);
}

/* The token goes to libcurl's bearer option, never into a header list of ours (whose copy
 * libcurl would free without wiping), and every list node made is freed. */
static void the_bearer_token_never_enters_a_header_list(void **state)
{
    (void)state;
    slist_reset(0);
    struct server srv;
    server_start(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    struct http_client *c = client_with(1024, -1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/eureka/apps/X", srv.port);
    struct http_request req = {.method = "GET", .url = url, .accept = "application/json",
                               .bearer_token = "tok-456", .timeout_ms = 2000};
    struct http_response resp;
    assert_int_equal(http_perform(c, &req, &resp), HTTP_OK);
    http_response_free(&resp);
    char request[8192];
    server_stop(&srv, request, sizeof request);
    assert_non_null(strstr(request, "Authorization: Bearer tok-456"));
    assert_true(slist_calls > 0);
    assert_null(strstr(slist_seen, "tok-456"));
    assert_int_equal(slist_nodes_live, 0);
    http_client_free(c);
}

/* An append that fails (out of memory) fails the request and leaks none of the list. */
static void a_failed_header_append_fails_the_request_without_a_leak(void **state)
{
    (void)state;
    struct http_client *c = client_with(1024, -1);
    for (int fail_at = 1; fail_at <= 3; fail_at++) {
        slist_reset(fail_at);
        struct http_request req = {.method = "PUT", .url = "http://127.0.0.1:1/eureka/apps/X",
                                   .accept = "application/json",
                                   .content_type = "application/json", .body = "{}",
                                   .timeout_ms = 2000};
        struct http_response resp;
        assert_int_equal(http_perform(c, &req, &resp), HTTP_FAILED);
        assert_non_null(strstr(resp.error, "out of memory"));
        assert_int_equal(slist_nodes_live, 0);
    }
    slist_reset(0);
    http_client_free(c);
}

static void redirects_are_not_followed_and_say_so(void **state)
{
    (void)state;
    struct server srv;
    server_start(&srv, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/steal?x=1\r\n"
                       "Content-Length: 0\r\nConnection: close\r\n\r\n");
    struct http_client *c = client_with(1024, -1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/oauth/token", srv.port);
    struct http_request req = {.method = "POST", .url = url, .body = "grant_type=client_credentials",
                               .basic_user = "id", .basic_password = "SECRET", .timeout_ms = 2000};
    struct http_response resp;
    assert_int_equal(http_perform(c, &req, &resp), HTTP_FAILED);
    assert_non_null(strstr(resp.error, "302"));
    assert_non_null(strstr(resp.error, "not followed"));
    assert_non_null(strstr(resp.error, "127.0.0.1:9/steal"));
    assert_null(strstr(resp.error, "SECRET"));
    assert_null(strstr(resp.error, "x=1"));
    server_stop(&srv, NULL, 0);
    http_client_free(c);
}

static void bodies_over_the_cap_fail(void **state)
{
    (void)state;
    static char response[8192];
    int n = snprintf(response, sizeof response,
                     "HTTP/1.1 200 OK\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n");
    memset(response + n, 'x', 4000);
    response[n + 4000] = '\0';
    struct server srv;
    server_start(&srv, response);
    struct http_client *c = client_with(1000, -1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    struct http_response resp;
    assert_int_equal(http_perform(c, &req, &resp), HTTP_FAILED);
    assert_non_null(strstr(resp.error, "larger than 1000 bytes"));
    server_stop(&srv, NULL, 0);
    http_client_free(c);
}

static void a_server_that_never_answers_fails_within_the_total_timeout(void **state)
{
    (void)state;
    struct server srv;
    server_start(&srv, NULL);
    struct http_client *c = client_with(1000, -1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
    struct http_request req = {.method = "PUT", .url = url, .timeout_ms = 300};
    struct http_response resp;
    int64_t start = now_ms();
    assert_int_equal(http_perform(c, &req, &resp), HTTP_FAILED);
    int64_t took = now_ms() - start;
    assert_true(took >= 250 && took < 1500);
    assert_non_null(strstr(resp.error, "timed out"));
    server_stop(&srv, NULL, 0);
    http_client_free(c);
}

static void a_readable_interrupt_fd_cuts_the_call_short(void **state)
{
    (void)state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    struct server srv;
    server_start(&srv, NULL);
    struct http_client *c = client_with(1000, pipefd[0]);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
    assert_int_equal(write(pipefd[1], "x", 1), 1);
    struct http_request req = {.method = "DELETE", .url = url, .timeout_ms = 5000};
    struct http_response resp;
    int64_t start = now_ms();
    assert_int_equal(http_perform(c, &req, &resp), HTTP_INTERRUPTED);
    assert_true(now_ms() - start < 1000);
    server_stop(&srv, NULL, 0);
    http_client_free(c);
    close(pipefd[0]);
    close(pipefd[1]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Test CAs (self-signed, P-256, valid until 2126): two subjects, and a second certificate
 * of the first subject, as a renewed CA has. */
static const char CA_ONE[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgzCCASmgAwIBAgIUMgf31unasNyRmvrC/LNISE6g9j4wCgYIKoZIzj0EAwIw\n"
    "FjEUMBIGA1UEAwwLdGVzdC1jYS1vbmUwIBcNMjYxMjA2MTE1OTAwWhgPMjEyNjEx\n"
    "MTIxMTU5MDBaMBYxFDASBgNVBAMMC3Rlc3QtY2Etb25lMFkwEwYHKoZIzj0CAQYI\n"
    "KoZIzj0DAQcDQgAEvPdj4kPDxxUcIzcLjpUoYwZVPe6en3S619lSJVtcyzkB+bLk\n"
    "wDEoOFmJKHgOd3uXuQym0juzrErusNPm6ujflaNTMFEwHQYDVR0OBBYEFA9cqfPw\n"
    "8y5K7EJmx+wnZC+JVqxRMB8GA1UdIwQYMBaAFA9cqfPw8y5K7EJmx+wnZC+JVqxR\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgF14cTV1dkxkbC+af\n"
    "WzJsqJqEC5nYaYnUemvRPirWuyACIQCBTlrIsLyrMBn+i1dWO6v40yN1J+7QyzQy\n"
    "LVfL+n0U3g==\n"
    "-----END CERTIFICATE-----\n";
static const char CA_TWO[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgjCCASmgAwIBAgIUONXO3MF06KqeJWRLDtlrRpGB7vkwCgYIKoZIzj0EAwIw\n"
    "FjEUMBIGA1UEAwwLdGVzdC1jYS10d28wIBcNMjYxMjA2MTE1OTAwWhgPMjEyNjEx\n"
    "MTIxMTU5MDBaMBYxFDASBgNVBAMMC3Rlc3QtY2EtdHdvMFkwEwYHKoZIzj0CAQYI\n"
    "KoZIzj0DAQcDQgAE0MAuWkISdmSL/tmcYN5BbHb4vBVk4DVTuE7zu/9pdS4Pxwfn\n"
    "GRlFAuHBC5owJx72XesBhLxJFRUOwUDk7i6rZ6NTMFEwHQYDVR0OBBYEFKTJ/IBD\n"
    "2Jps74C8ednhUxDlhqHPMB8GA1UdIwQYMBaAFKTJ/IBD2Jps74C8ednhUxDlhqHP\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgQy4SOiV5V/rTFOCK\n"
    "n3zKZjNkoqSHE+X8H0LHdzDLCLUCIGqoyC4MGcQtyHhhvI7p53eiCuzISxCfiTgG\n"
    "rI1s93fX\n"
    "-----END CERTIFICATE-----\n";
static const char CA_ONE_RENEWED[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBhDCCASmgAwIBAgIUOLFJxGtYOLZaXsDDdy3f1ArT4v0wCgYIKoZIzj0EAwIw\n"
    "FjEUMBIGA1UEAwwLdGVzdC1jYS1vbmUwIBcNMjYxMjA2MTE1OTAwWhgPMjEyNjEx\n"
    "MTIxMTU5MDBaMBYxFDASBgNVBAMMC3Rlc3QtY2Etb25lMFkwEwYHKoZIzj0CAQYI\n"
    "KoZIzj0DAQcDQgAEzxODLt+Qj4L5UXN1pf5ANAiRDXjnWo8hZ03hrX73/BkdrQvW\n"
    "WxOPuIvjl4CmJhpy5Xa0IMYVEmsdN7CqEm/BGKNTMFEwHQYDVR0OBBYEFKOtqTu6\n"
    "h8YzhDTExxojo87T7u9/MB8GA1UdIwQYMBaAFKOtqTu6h8YzhDTExxojo87T7u9/\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAMUXZzR6HafXaa2h\n"
    "+8lw1pc/Dz6nqHpP9EGZBiYILA9qAiEA53dcjTYzKFZ+9cfIQQ8gEqlS2QxVfAn3\n"
    "nq9IEBu2BXU=\n"
    "-----END CERTIFICATE-----\n";
#define CA_ONE_HASH "6f40ea63" /* openssl x509 -noout -subject_hash */
#define CA_TWO_HASH "7c81cabc"

/* The file at dir/name holds exactly text. */
static void assert_file_is(const char *dir, const char *name, const char *text)
{
    char path[512], got[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s is missing", path);
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = '\0';
    assert_string_equal(got, text);
}

static void remove_tree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void the_trust_dir_holds_the_system_store_and_platform_certificates_by_subject_hash(
    void **state)
{
    (void)state;
    char dir[] = "/tmp/test-http-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sys[256], certs[256], path[320], trust[256];
    snprintf(sys, sizeof sys, "%s/system.pem", dir);
    FILE *f = fopen(sys, "w");
    assert_non_null(f);
    fprintf(f, "# a system bundle: text between certificates is skipped\n%s\n%s", CA_ONE, CA_TWO);
    assert_int_equal(fclose(f), 0);
    snprintf(certs, sizeof certs, "%s/cf", dir);
    assert_int_equal(mkdir(certs, 0700), 0);
    snprintf(path, sizeof path, "%s/trusted-ca-1.crt", certs);
    write_file(path, CA_ONE_RENEWED);
    snprintf(path, sizeof path, "%s/trusted-ca-2.pem", certs);
    write_file(path, CA_TWO); /* also in the system store */
    snprintf(path, sizeof path, "%s/README.txt", certs);
    write_file(path, "NOT-A-CERT\n");
    /* An earlier run's directory is emptied first. */
    snprintf(trust, sizeof trust, "%s/trust", dir);
    assert_int_equal(mkdir(trust, 0700), 0);
    snprintf(path, sizeof path, "%s/" CA_ONE_HASH ".0", trust);
    write_file(path, CA_TWO);

    char err[512];
    assert_int_equal(http_write_trust_dir(sys, certs, trust, err, sizeof err), 4);
    assert_file_is(trust, CA_ONE_HASH ".0", CA_ONE);
    assert_file_is(trust, CA_ONE_HASH ".1", CA_ONE_RENEWED);
    assert_file_is(trust, CA_TWO_HASH ".0", CA_TWO);
    assert_file_is(trust, CA_TWO_HASH ".1", CA_TWO);
    snprintf(path, sizeof path, "%s/" CA_ONE_HASH ".2", trust);
    assert_int_equal(access(path, F_OK), -1);

    /* What is wrong is named. */
    char missing[320];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    assert_int_equal(http_write_trust_dir(sys, missing, trust, err, sizeof err), -1);
    assert_non_null(strstr(err, "CF_SYSTEM_CERT_PATH"));
    snprintf(path, sizeof path, "%s/trusted-ca-3.crt", certs);
    write_file(path, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                     "-----END CERTIFICATE-----\n");
    assert_int_equal(http_write_trust_dir(sys, certs, trust, err, sizeof err), -1);
    assert_non_null(strstr(err, "trusted-ca-3.crt"));
    snprintf(path, sizeof path, "%s/empty.pem", dir);
    write_file(path, "no certificate here\n");
    assert_int_equal(http_write_trust_dir(path, NULL, trust, err, sizeof err), -1);
    assert_non_null(strstr(err, "no CA certificates found"));
    remove_tree(dir);
}

/* Bytes the allocator has handed out and not had back (heap and mmapped chunks). */
static size_t bytes_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void a_plain_http_client_checks_the_ca_store_but_holds_and_writes_no_copy_of_it(
    void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* ASan's allocator does not report through mallinfo2 */
#endif
    char dir[] = "/tmp/test-http-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[320];
    snprintf(cert, sizeof cert, "%s/trusted-ca-1.crt", dir);
    FILE *f = fopen(cert, "w");
    assert_non_null(f);
    for (int i = 0; i < 8000; i++) /* 400 KB, twice a large system store */
        fputs("MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n", f);
    assert_int_equal(fclose(f), 0);

    char trust[320];
    snprintf(trust, sizeof trust, "%s/trust", dir);
    size_t before = bytes_in_use();
    struct http_options opts = {.extra_ca_dir = dir, .trust_dir = trust,
                                .connect_timeout_ms = 1000, .max_body = 1024,
                                .interrupt_fd = -1};
    char err[512];
    struct http_client *c = http_client_new(&opts, err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    struct server srv;
    server_start(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/eureka/apps/X", srv.port);
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    struct http_response resp;
    assert_int_equal(http_perform(c, &req, &resp), HTTP_OK);
    assert_int_equal(resp.status, 200);
    http_response_free(&resp);
    size_t held = bytes_in_use() - before;
    server_stop(&srv, NULL, 0);
    http_client_free(c);
    if (held >= 200 * 1024)
        fail_msg("a plain-http client holds %zu bytes after one request (the CA store is 400 KB "
                 "or more)", held);
    assert_int_equal(access(trust, F_OK), -1); /* nor writes the trust directory */

    /* The store is still checked when the client is made. */
    assert_int_equal(chmod(cert, 0), 0);
    if (access(cert, R_OK) != 0) { /* root reads it anyway */
        assert_null(http_client_new(&opts, err, sizeof err));
        assert_non_null(strstr(err, "trusted-ca-1.crt"));
    }
    char missing[320];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    opts.extra_ca_dir = missing;
    assert_null(http_client_new(&opts, err, sizeof err));
    assert_non_null(strstr(err, "CF_SYSTEM_CERT_PATH"));
    unlink(cert);
    rmdir(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_come_back_with_status_and_body_and_the_bearer_token_is_sent),
        cmocka_unit_test(the_bearer_token_never_enters_a_header_list),
        cmocka_unit_test(a_failed_header_append_fails_the_request_without_a_leak),
        cmocka_unit_test(redirects_are_not_followed_and_say_so),
        cmocka_unit_test(bodies_over_the_cap_fail),
        cmocka_unit_test(a_server_that_never_answers_fails_within_the_total_timeout),
        cmocka_unit_test(a_readable_interrupt_fd_cuts_the_call_short),
        cmocka_unit_test(
            the_trust_dir_holds_the_system_store_and_platform_certificates_by_subject_hash),
        cmocka_unit_test(a_plain_http_client_checks_the_ca_store_but_holds_and_writes_no_copy_of_it),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
