/* Registry scale: the cost of one discovery round of the heartbeat agent for a registry answer
 * of N instances, with the agent's own code: eureka_parse_peers (parse + filter), the loop's
 * step that takes the list (loop_take_discovery: which names are new, then the wanted diff),
 * then the look at nodes() (peer_set_update_connected, with every peer connected) and the dial
 * decisions (peer_set_take_due), in the steady state where the peer set already holds
 * everyone.
 *
 *   registry-scale N [REPEATS]   prints one line:
 *     N BODY_BYTES PEERS MEDIAN_MS MIN_MS PEAK_RSS_KB BASE_RSS_KB
 *   PEAK_RSS_KB is the process's VmHWM after the rounds, BASE_RSS_KB its VmHWM with the
 *   answer built but not yet parsed (the difference is what the rounds needed at most).
 *
 * Under callgrind (--collect-atstart=no), only the timed rounds are counted: divide the total
 * by REPEATS for the instructions of one round. */
#include "discovery/eureka.h"
#include "agent/loop.h"
#include "agent/peers.h"
#include "common/strlist.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define CLUSTER "cluster-app"

/* Appends printf output to a growing buffer. */
struct buffer {
    char *data;
    size_t len;
    size_t cap;
};

static int buffer_printf(struct buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buffer_printf(struct buffer *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        size_t ncap = (b->cap + (size_t)n + 1) * 2;
        char *ndata = realloc(b->data, ncap);
        if (!ndata)
            return -1;
        b->data = ndata;
        b->cap = ncap;
    }
}

static void instance_ip(size_t i, char *out, size_t outlen)
{
    snprintf(out, outlen, "10.%zu.%zu.%zu", 10 + i / 65536, (i / 256) % 256, i % 256);
}

/* A GET /apps/CLUSTER-APP answer as the registry double (and a real server) writes it: every
 * instance UP, registered by this buildpack, with the usual Eureka fields. */
static char *registry_answer(size_t n)
{
    struct buffer b = {0};
    if (buffer_printf(&b, "{\"application\":{\"name\":\"CLUSTER-APP\",\"instance\":[") != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char ip[32];
        instance_ip(i, ip, sizeof ip);
        if (buffer_printf(&b,
                "%s{\"instanceId\":\"%s:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1%02zx\","
                "\"hostName\":\"%s\",\"app\":\"CLUSTER-APP\",\"ipAddr\":\"%s\","
                "\"status\":\"UP\",\"overriddenStatus\":\"UNKNOWN\","
                "\"port\":{\"$\":9001,\"@enabled\":\"true\"},"
                "\"securePort\":{\"$\":443,\"@enabled\":\"false\"},\"countryId\":1,"
                "\"dataCenterInfo\":{\"@class\":\"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo\","
                "\"name\":\"MyOwn\"},"
                "\"leaseInfo\":{\"renewalIntervalInSecs\":30,\"durationInSecs\":90,"
                "\"registrationTimestamp\":1764170000000,\"lastRenewalTimestamp\":1764170090000,"
                "\"evictionTimestamp\":0,\"serviceUpTimestamp\":1764170000000},"
                "\"metadata\":{\"" EUREKA_META_NODE_NAME "\":\"" CLUSTER "@%s\","
                "\"" EUREKA_META_DIST_PORT "\":\"9001\",\"" EUREKA_META_DIST_MODE "\":\"epmd-less\","
                "\"" EUREKA_META_CLUSTER "\":\"" CLUSTER "\"},"
                "\"homePageUrl\":\"http://%s:9001/\",\"statusPageUrl\":\"http://%s:9001/info\","
                "\"healthCheckUrl\":\"http://%s:9001/health\",\"vipAddress\":\"cluster-app\","
                "\"secureVipAddress\":\"cluster-app\",\"isCoordinatingDiscoveryServer\":\"false\","
                "\"lastUpdatedTimestamp\":\"1764170000000\",\"lastDirtyTimestamp\":\"1764170000000\","
                "\"actionType\":\"ADDED\"}",
                i ? "," : "", ip, i % 256, ip, ip, ip, ip, ip, ip) != 0)
            goto fail;
    }
    if (buffer_printf(&b, "]}}") != 0)
        goto fail;
    return b.data;
fail:
    free(b.data);
    return NULL;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        fprintf(stderr, "registry-scale: cannot open /proc/self/status: %s\n", strerror(errno));
        return -1;
    }
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One discovery round as the agent does it. Returns the number of peers, or -1. */
static long discovery_round(const char *body, const struct eureka_self *self,
                            struct peer_set *set, int64_t now, const struct log_sink *log)
{
    char err[256];
    struct strlist found = {0};
    if (eureka_parse_peers(body, self, &found, NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "registry-scale: the answer did not parse: %s\n", err);
        strlist_clear(&found);
        return -1;
    }
    struct peer_changes changes = {0};
    struct strlist due = {0};
    long peers = (long)found.len;
    /* Steady state: nodes() lists every peer the registry lists. */
    if (loop_take_discovery(set, &found, now, log) != 0 ||
        peer_set_update_connected(set, &found, now, &changes) != 0 ||
        peer_set_take_due(set, now, &due) != 0) {
        fprintf(stderr, "registry-scale: out of memory in the peer set\n");
        peers = -1;
    }
    strlist_clear(&due);
    peer_changes_clear(&changes);
    strlist_clear(&found);
    return peers;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: registry-scale N [REPEATS]\n");
        return 2;
    }
    char *end;
    errno = 0;
    unsigned long n = strtoul(argv[1], &end, 10);
    if (errno || *end || n < 1 || n > 1000000) {
        fprintf(stderr, "registry-scale: N '%s' is not a number from 1 to 1000000\n", argv[1]);
        return 2;
    }
    unsigned long repeats = 5;
    if (argc == 3) {
        repeats = strtoul(argv[2], &end, 10);
        if (*end || repeats < 1 || repeats > 1000) {
            fprintf(stderr, "registry-scale: REPEATS '%s' is not a number from 1 to 1000\n", argv[2]);
            return 2;
        }
    }
    char *body = registry_answer(n);
    if (!body) {
        fprintf(stderr, "registry-scale: out of memory building the answer\n");
        return 1;
    }
    char self_ip[32], self_name[64];
    instance_ip(0, self_ip, sizeof self_ip);
    snprintf(self_name, sizeof self_name, CLUSTER "@%s", self_ip);
    struct eureka_self self = {
        .cluster_name = CLUSTER, .node_name = self_name, .instance_ip = self_ip,
        .instance_guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e100", .instance_index = 0,
        .dist_port = 9001, .renewal_interval_s = 30, .lease_duration_s = 90,
    };
    /* The agent's level by default: the per-peer debug lines are formatted and dropped. */
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_INFO, .program = "registry-scale"};
    long base_kb = vm_hwm_kb();
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    double *times = calloc(repeats, sizeof *times);
    if (!times) {
        fprintf(stderr, "registry-scale: out of memory\n");
        free(body);
        return 1;
    }
    long peers = -1;
    int status = 0;
    /* The first round fills the peer set (an agent's first look); the timed ones repeat. */
    if (discovery_round(body, &self, &set, 0, &log) < 0)
        status = 1;
    for (unsigned long r = 0; r < repeats && status == 0; r++) {
        CALLGRIND_TOGGLE_COLLECT;
        double t0 = now_ms();
        peers = discovery_round(body, &self, &set, (int64_t)r + 1, &log);
        times[r] = now_ms() - t0;
        CALLGRIND_TOGGLE_COLLECT;
        if (peers < 0)
            status = 1;
    }
    long peak_kb = vm_hwm_kb();
    if (status == 0) {
        qsort(times, repeats, sizeof *times, compare_double);
        double median = repeats % 2 ? times[repeats / 2]
                                    : (times[repeats / 2 - 1] + times[repeats / 2]) / 2;
        printf("%lu %zu %ld %.3f %.3f %ld %ld\n", n, strlen(body), peers, median, times[0],
               peak_kb, base_kb);
    }
    peer_set_free(&set);
    free(times);
    free(body);
    return status;
}
