/* The boot expression every BEAM started from the app's environment evaluates (through
 * node.args) before its own -s/-eval and before Elixir's CLI: it gives the node its name only
 * when this BEAM is the app's long-lived server, so that pre-steps in the start command
 * (`bin/migrate && bin/server`, `mix ecto.migrate && mix phx.server`) run unnamed and never
 * hold the distribution port. See docs/internals.md, "Pre-steps". */
#ifndef ECB_LAUNCH_BOOT_EVAL_H
#define ECB_LAUNCH_BOOT_EVAL_H

#include "common/config.h"
#include "common/strbuf.h"

/* Appends one args-file line `-eval '…'` that, in a BEAM not yet alive, starts distribution
 * as node_name (longnames; with epmd it first starts epmd as erl would) when the BEAM is a
 * server: a plain erl BEAM (no Elixir on its code path), or an Elixir one whose command line
 * has --no-halt or phx.server. Any other Elixir BEAM, and any escript, is a pre-step and
 * stays unnamed. The
 * expression never raises. node_name must be a valid name (basename@IP literal). Returns 0,
 * or -1 when out of memory. */
int launch_append_boot_eval(const struct config *cfg, const char *node_name,
                            struct strbuf *out);

#endif
