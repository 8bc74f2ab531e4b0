/* Who we are in the registry: the instance id and the registration document. */
#include "discovery/eureka.h"

#include "common/config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *eureka_instance_id(const struct eureka_self *self)
{
    size_t n = strlen(self->instance_ip) + strlen(self->instance_guid) + 2;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s:%s", self->instance_ip, self->instance_guid);
    return id;
}

static cJSON *port_object(int port, bool enabled)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    if (!cJSON_AddNumberToObject(obj, "$", port) ||
        !cJSON_AddStringToObject(obj, "@enabled", enabled ? "true" : "false")) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

char *eureka_registration_body(const struct eureka_self *self)
{
    char *app = registry_app_name(self->cluster_name);
    char *instance_id = eureka_instance_id(self);
    cJSON *root = cJSON_CreateObject();
    cJSON *inst = cJSON_CreateObject();
    cJSON *dc = cJSON_CreateObject();
    cJSON *lease = cJSON_CreateObject();
    cJSON *meta = cJSON_CreateObject();
    cJSON *port = port_object(self->dist_port, true);
    cJSON *secure_port = port_object(443, false);
    char *text = NULL;
    if (!app || !instance_id || !root || !inst || !dc || !lease || !meta || !port ||
        !secure_port)
        goto done;

    char dist_port[16], index[16];
    snprintf(dist_port, sizeof dist_port, "%d", self->dist_port);
    snprintf(index, sizeof index, "%d", self->instance_index);
    bool ok = cJSON_AddStringToObject(dc, "@class",
                                      "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo") &&
              cJSON_AddStringToObject(dc, "name", "MyOwn") &&
              cJSON_AddNumberToObject(lease, "renewalIntervalInSecs", self->renewal_interval_s) &&
              cJSON_AddNumberToObject(lease, "durationInSecs", self->lease_duration_s) &&
              cJSON_AddStringToObject(meta, EUREKA_META_NODE_NAME, self->node_name) &&
              cJSON_AddStringToObject(meta, EUREKA_META_DIST_PORT, dist_port) &&
              cJSON_AddStringToObject(meta, EUREKA_META_DIST_MODE,
                                      self->epmd ? "epmd" : "epmd-less") &&
              cJSON_AddStringToObject(meta, EUREKA_META_CLUSTER, self->cluster_name) &&
              cJSON_AddStringToObject(meta, "cfAppGuid", self->app_guid ? self->app_guid : "") &&
              cJSON_AddStringToObject(meta, "cfInstanceIndex", index) &&
              cJSON_AddStringToObject(meta, "instanceId", self->instance_guid) &&
              cJSON_AddStringToObject(inst, "instanceId", instance_id) &&
              cJSON_AddStringToObject(inst, "hostName", self->instance_ip) &&
              cJSON_AddStringToObject(inst, "app", app) &&
              cJSON_AddStringToObject(inst, "ipAddr", self->instance_ip) &&
              cJSON_AddStringToObject(inst, "status", "UP") &&
              cJSON_AddStringToObject(inst, "vipAddress", self->cluster_name) &&
              cJSON_AddStringToObject(inst, "secureVipAddress", self->cluster_name);
    if (!ok)
        goto done;
    cJSON_AddItemToObject(inst, "port", port);
    port = NULL;
    cJSON_AddItemToObject(inst, "securePort", secure_port);
    secure_port = NULL;
    cJSON_AddItemToObject(inst, "dataCenterInfo", dc);
    dc = NULL;
    cJSON_AddItemToObject(inst, "leaseInfo", lease);
    lease = NULL;
    cJSON_AddItemToObject(inst, "metadata", meta);
    meta = NULL;
    cJSON_AddItemToObject(root, "instance", inst);
    inst = NULL;
    text = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(port);
    cJSON_Delete(secure_port);
    cJSON_Delete(dc);
    cJSON_Delete(lease);
    cJSON_Delete(meta);
    cJSON_Delete(inst);
    cJSON_Delete(root);
    free(app);
    free(instance_id);
    return text;
}
