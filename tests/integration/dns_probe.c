/* dns-probe: runs the dns back end's discovery once, configured from the environment exactly
 * as the agent is (ERLANG_CLUSTER_DNS_QUERY or an apps.internal route, ERLANG_CLUSTER_DNS_SERVERS,
 * ERLANG_CLUSTER_NODE_BASENAME, CF_INSTANCE_INTERNAL_IP), and prints what it found:
 *
 *   resolving NAME          before the lookup starts
 *   status ok|failed|interrupted
 *   peer NODE               one line per peer
 *   error TEXT              when not ok
 *   elapsed_ms N            how long the discovery took
 *
 * The back end's log goes to stderr. SIGTERM and SIGINT are taken through a signalfd, as in
 * the agent, and interrupt the lookup. Exit status: 0 ok, 1 failed, 2 usage or setup error,
 * 3 interrupted. Used by tests/integration/dns.bats. */
#include "discovery/dns.h"
#include "common/config.h"
#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0; /* cannot fail with CLOCK_MONOTONIC on Linux */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_signal_fd(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        fprintf(stderr, "dns-probe: cannot block signals: %s\n", strerror(errno));
        return -1;
    }
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, "dns-probe: cannot create a signalfd: %s\n", strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    long budget_ms = DNS_DEFAULT_BUDGET_MS;
    if (argc == 3 && strcmp(argv[1], "--budget-ms") == 0) {
        char *end;
        budget_ms = strtol(argv[2], &end, 10);
        if (*end != '\0' || budget_ms < DNS_MIN_BUDGET_MS || budget_ms > 600000) {
            fprintf(stderr, "dns-probe: --budget-ms: \"%s\" is not %d..600000\n", argv[2],
                    DNS_MIN_BUDGET_MS);
            return 2;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: dns-probe [--budget-ms N]\n");
        return 2;
    }
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_DEBUG, .program = "dns-probe"};
    struct config cfg;
    char err[1024];
    struct config_inputs in = {.env = environ};
    if (config_resolve(&in, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "dns-probe: %s\n", err);
        return 2;
    }
    int rc = 2;
    int signal_fd = -1;
    struct registry_backend reg = {0};
    if (cfg.discovery != DISCOVERY_DNS) {
        fprintf(stderr, "dns-probe: discovery resolved to %s (%s), not dns\n",
                discovery_mode_name(cfg.discovery), cfg.discovery_reason);
        goto out;
    }
    signal_fd = open_signal_fd();
    if (signal_fd < 0)
        goto out;
    struct registry_runtime rt = {.node_name = NULL, .interrupt_fd = signal_fd,
                                  .budget_ms = budget_ms, .log = &log};
    if (registry_new(&cfg, &rt, &reg, err, sizeof err) != 0) {
        fprintf(stderr, "dns-probe: %s\n", err);
        goto out;
    }
    printf("resolving %s\n", cfg.dns_query);
    fflush(stdout);
    struct strlist peers = {0};
    err[0] = '\0';
    int64_t start = monotonic_ms();
    enum registry_status s = reg.discover(reg.state, start, &peers, err, sizeof err);
    int64_t elapsed = monotonic_ms() - start;
    printf("status %s\n", s == REGISTRY_OK ? "ok" : s == REGISTRY_INTERRUPTED ? "interrupted"
                                                                           : "failed");
    for (size_t i = 0; i < peers.len; i++)
        printf("peer %s\n", peers.items[i]);
    if (s != REGISTRY_OK)
        printf("error %s\n", err);
    printf("elapsed_ms %lld\n", (long long)elapsed);
    strlist_clear(&peers);
    rc = s == REGISTRY_OK ? 0 : s == REGISTRY_INTERRUPTED ? 3 : 1;
out:
    if (reg.destroy)
        reg.destroy(reg.state);
    if (signal_fd >= 0)
        close(signal_fd);
    config_free(&cfg);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "dns-probe: cannot write the result: %s\n", strerror(errno));
        return 2;
    }
    return rc;
}
