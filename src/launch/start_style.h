/* How the app's BEAM is started (plain erl/mix, a Mix release, a relx release), told from
 * the launcher's start command and the release script it runs. */
#ifndef ECB_LAUNCH_START_STYLE_H
#define ECB_LAUNCH_START_STYLE_H

#include "common/config.h"

#include <stdbool.h>

/* Detect the start style from the launcher's start command. app_dir is the directory the
 * command runs in (relative script paths are resolved against it). On success fills
 * *script with the release script's absolute path for the release styles (caller frees;
 * NULL for START_STYLE_ERL). Never returns START_STYLE_AUTO. */
enum start_style launch_detect_start_style(const char *start_command, const char *app_dir,
                                           char **script);

/* Whether the start command runs mix, elixir, iex or erl itself (a word that is, or ends
 * in /, one of them): then it is the erl style even when the droplet holds a release. */
bool launch_command_runs_beam_cli(const char *start_command);

/* Which kind of release script is at path: the Elixir one defaults RELEASE_DISTRIBUTION,
 * relx's extended script reads VMARGS_PATH. False for anything else (or no such file). */
bool launch_release_script_style(const char *path, enum start_style *style);

/* The style the launcher's prepare recorded in run_dir (RUN_FILE_START_STYLE), for later
 * shells; START_STYLE_ERL when none is recorded. */
enum start_style launch_recorded_start_style(const char *run_dir);

#endif
