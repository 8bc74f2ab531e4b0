/* erlang-cluster-agent: the heartbeat agent of the erlang-cluster buildpack. Dispatches the
 * subcommands: prepare (launch files, src/launch), run (the loop) and status (the agent's
 * current view). */
#include "agent/commands.h"
#include "launch/prepare.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *command = argc >= 2 ? argv[1] : "";
    if (strcmp(command, "prepare") == 0)
        return launch_prepare_main(argc - 1, argv + 1);
    if (strcmp(command, "run") == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, AGENT_PROGRAM ": cannot initialise libcurl\n");
            return 1;
        }
        int rc = run_command(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    if (strcmp(command, "status") == 0)
        return status_command(argc - 1, argv + 1);
    if (strcmp(command, "--version") == 0) {
        printf(AGENT_PROGRAM " %s\n", ECB_VERSION);
        return 0;
    }
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        agent_usage(stdout);
        return 0;
    }
    agent_usage(stderr);
    return 2;
}
