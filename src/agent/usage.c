/* `erlang-cluster-agent --help`: the commands, their options and every setting with its
 * default, printed from the one settings table (common/config_fields.c). */
#include "agent/commands.h"
#include "common/config_fields.h"
#include "launch/run_dir.h"

#include <stdio.h>

void agent_usage(FILE *out)
{
    fprintf(out,
        "Usage: " AGENT_PROGRAM " COMMAND [OPTIONS]\n"
        "\n"
        "The heartbeat agent of the erlang-cluster buildpack: registers this instance with the\n"
        "cluster's registry, renews its lease, discovers the other instances and has the local\n"
        "Erlang node connect to them.\n"
        "\n"
        "Commands:\n"
        "  run      run the agent loop until SIGTERM/SIGINT or the app node's death\n"
        "  status   print the running agent's current view (mode, registration, peers)\n"
        "  prepare  write the launch files for the launch wrapper (see docs/internals.md)\n"
        "  --version, --help\n"
        "\n"
        "Options of run:\n"
        "  --config FILE       staged settings (default: config.yml beside the agent's bin/)\n"
        "  --run-dir DIR       run dir (default: ${TMPDIR:-/tmp}/" RUN_DIR_NAME ")\n"
        "  --cookie-file FILE  the app node's cookie (default: $HOME/.erlang.cookie)\n"
        "  --node-wait SECONDS how long to wait for the app node to come up (default %d)\n"
        "Options of status:\n"
        "  --run-dir DIR       as above\n"
        "  --json              print status.json as it is\n"
        "\n"
        "Settings (run-time environment first, then the staged config.yml, then defaults):\n",
        DEFAULT_NODE_WAIT_S);
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *fallback = config_field_builtin(f);
        fprintf(out, "  %-34s %s%s%s%s\n", config_field_variable(f), config_field_help(f),
                fallback ? " (default " : "", fallback ? fallback : "", fallback ? ")" : "");
    }
    fprintf(out,
        "Platform: VCAP_SERVICES (registry credentials, read at run time), VCAP_APPLICATION,\n"
        "  CF_INSTANCE_INTERNAL_IP, INSTANCE_GUID or CF_INSTANCE_GUID, CF_INSTANCE_INDEX,\n"
        "  CF_INSTANCE_CERT and CF_INSTANCE_KEY (the instance identity, for TLS distribution),\n"
        "  CF_SYSTEM_CERT_PATH (extra CA certificates to trust), HOME, TMPDIR.\n");
}
