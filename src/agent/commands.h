/* The agent's subcommands; main.c dispatches to them. */
#ifndef ECB_AGENT_COMMANDS_H
#define ECB_AGENT_COMMANDS_H

#include <stdio.h>

#define AGENT_PROGRAM "erlang-cluster-agent"
#define DEFAULT_NODE_WAIT_S 600

/* `run` (run_command.c): the loop, until a stop signal or the app node's death. argv[0] is
 * the subcommand. Returns the exit code. */
int run_command(int argc, char **argv);

/* `status` (status_command.c): the running agent's view from the run dir. */
int status_command(int argc, char **argv);

/* The usage text, with every setting and its default from the one settings table. */
void agent_usage(FILE *out);

#endif
