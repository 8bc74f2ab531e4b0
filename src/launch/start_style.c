#include "launch/start_style.h"

#include "common/fsutil.h"
#include "launch/run_dir.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RELEASE_SCRIPT_MAX (256 * 1024)

static bool is_release_command(const char *word)
{
    static const char *const commands[] = {"start", "foreground", "console", "start_iex",
                                           "daemon", "daemon_iex", NULL};
    for (const char *const *c = commands; *c; c++)
        if (strcmp(word, *c) == 0)
            return true;
    return false;
}

/* Splits a start command into words at blanks and shell operators, dropping quote marks:
 * enough to find `[cd DIR &&] [exec] path/bin/app start`, not a shell parser. */
static char **split_command_words(const char *command)
{
    size_t cap = strlen(command) + 2;
    char **words = calloc(cap, sizeof *words);
    char *word = malloc(strlen(command) + 1);
    if (words == NULL || word == NULL) {
        free(words);
        free(word);
        return NULL;
    }
    size_t count = 0, len = 0;
    for (const char *p = command;; p++) {
        bool end = *p == '\0' || strchr(" \t\n;&|()", *p) != NULL;
        if (!end) {
            if (*p != '\'' && *p != '"')
                word[len++] = *p;
            continue;
        }
        if (len > 0) {
            word[len] = '\0';
            words[count] = strdup(word);
            if (words[count] == NULL)
                break;
            count++;
            len = 0;
        }
        if (*p == '\0')
            break;
    }
    free(word);
    return words;
}

static void free_words(char **words)
{
    for (char **w = words; w && *w; w++)
        free(*w);
    free(words);
}

bool launch_release_script_style(const char *path, enum start_style *style)
{
    char err[256], *text = NULL;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (fs_read_file(path, RELEASE_SCRIPT_MAX, &text, NULL, err, sizeof err) != 0)
        return false;
    bool found = true;
    if (strstr(text, "RELEASE_DISTRIBUTION") != NULL)
        *style = START_STYLE_MIX_RELEASE;
    else if (strstr(text, "VMARGS_PATH") != NULL)
        *style = START_STYLE_RELX;
    else
        found = false;
    free(text);
    return found;
}

/* The script word as a path: absolute, or under the command's `cd DIR`, or under app_dir. */
static int script_path(const char *word, const char *cd_dir, const char *app_dir, char *path,
                       size_t pathlen)
{
    int n;
    if (word[0] == '/')
        n = snprintf(path, pathlen, "%s", word);
    else if (cd_dir && cd_dir[0] == '/')
        n = snprintf(path, pathlen, "%s/%s", cd_dir, word);
    else if (cd_dir)
        n = snprintf(path, pathlen, "%s/%s/%s", app_dir, cd_dir, word);
    else
        n = snprintf(path, pathlen, "%s/%s", app_dir, word);
    return n >= 0 && (size_t)n < pathlen ? 0 : -1;
}

enum start_style launch_detect_start_style(const char *start_command, const char *app_dir,
                                           char **script)
{
    *script = NULL;
    enum start_style style = START_STYLE_ERL;
    char **words = split_command_words(start_command ? start_command : "");
    const char *cd_dir = NULL;
    for (size_t i = 0; words && words[i]; i++) {
        if (strcmp(words[i], "cd") == 0 && words[i + 1]) {
            cd_dir = words[i + 1];
            continue;
        }
        if (strstr(words[i], "bin/") == NULL || words[i + 1] == NULL ||
            !is_release_command(words[i + 1]))
            continue;
        char path[PATH_MAX];
        enum start_style found;
        if (script_path(words[i], cd_dir, app_dir, path, sizeof path) != 0 ||
            !launch_release_script_style(path, &found))
            continue;
        *script = realpath(path, NULL);
        if (*script != NULL) {
            style = found;
            break;
        }
    }
    free_words(words);
    return style;
}

bool launch_command_runs_beam_cli(const char *start_command)
{
    static const char *const clis[] = {"mix", "elixir", "iex", "erl", NULL};
    char **words = split_command_words(start_command ? start_command : "");
    bool found = false;
    for (size_t i = 0; words && words[i] && !found; i++) {
        const char *slash = strrchr(words[i], '/');
        const char *base = slash ? slash + 1 : words[i];
        for (const char *const *c = clis; *c && !found; c++)
            found = strcmp(base, *c) == 0;
    }
    free_words(words);
    return found;
}

static void trim_trailing_space(char *text)
{
    size_t len = strlen(text);
    while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
        text[--len] = '\0';
}

enum start_style launch_recorded_start_style(const char *run_dir)
{
    char path[PATH_MAX], *recorded = NULL, ignored[256];
    enum start_style style = START_STYLE_ERL;
    if (launch_run_path(path, sizeof path, run_dir, RUN_FILE_START_STYLE) != 0 ||
        fs_read_file(path, 64, &recorded, NULL, ignored, sizeof ignored) != 0)
        return style;
    trim_trailing_space(recorded);
    if (strcmp(recorded, start_style_name(START_STYLE_MIX_RELEASE)) == 0)
        style = START_STYLE_MIX_RELEASE;
    else if (strcmp(recorded, start_style_name(START_STYLE_RELX)) == 0)
        style = START_STYLE_RELX;
    free(recorded);
    return style;
}
