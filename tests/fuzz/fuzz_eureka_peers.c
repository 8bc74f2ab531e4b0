/* Eureka registry answers (GET /eureka/apps/APP): whatever a registry sends, the peers the
 * agent would hand to Erlang are valid, distinct node names other than our own. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/eureka.h"
#include "common/node_name.h"
#include "fuzz_support.h"

static const struct eureka_self self = {
    .cluster_name = "shop",
    .node_name = "shop@10.0.0.1",
    .instance_ip = "10.0.0.1",
    .instance_guid = "6a3e1f0c-aaaa-bbbb-cccc-000000000001",
    .app_guid = "0c2d4f6a",
    .instance_index = 0,
    .dist_port = 9001,
    .renewal_interval_s = 30,
    .lease_duration_s = 90,
};

static void on_reject(void *ctx, const char *instance_id, const char *node_name,
                      const char *reason)
{
    (void)instance_id;
    (void)node_name;
    if (reason == NULL || reason[0] == '\0')
        fuzz_fail("an instance was rejected without a reason");
    (*(size_t *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_cstring(data, size);
    struct strlist peers = {0};
    size_t rejected = 0;
    char err[512] = "";
    if (eureka_parse_peers(body, &self, &peers, on_reject, &rejected, err, sizeof err) == 0) {
        for (size_t i = 0; i < peers.len; i++) {
            if (!node_name_valid(peers.items[i]))
                fuzz_fail("peer \"%s\" is not a valid node name", peers.items[i]);
            if (strcmp(peers.items[i], self.node_name) == 0)
                fuzz_fail("our own node name came back as a peer");
            for (size_t j = 0; j < i; j++)
                if (strcmp(peers.items[i], peers.items[j]) == 0)
                    fuzz_fail("peer \"%s\" listed twice", peers.items[i]);
        }
    } else {
        fuzz_check_message("eureka_parse_peers", err);
    }
    strlist_clear(&peers);
    free(body);
    return 0;
}
