/* Logging. Programs keep their own `struct log_sink` (no global state here); the staging
 * helpers print in the style Cloud Foundry users know from every official buildpack:
 * `-----> Step` lines and details indented under them. */
#ifndef ECB_LOG_H
#define ECB_LOG_H

#include <stdbool.h>
#include <stdio.h>


enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct log_sink {
    FILE *stream;            /* where lines go (stderr for the agent) */
    enum log_level level;    /* lines above this level are dropped */
    const char *program;     /* prefix, e.g. "erlang-cluster-agent" */
    bool timestamps;         /* prefix each line with UTC ISO-8601 time */
};

#define ECB_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))

/* Every line reaches its stream in one write(2) of at most LOG_LINE_MAX bytes (PIPE_BUF, so
 * a pipe takes it atomically): the agent shares stderr with the BEAM, and a line written in
 * pieces could interleave with the node's output in `cf logs`. Longer lines are cut, ending
 * in "...". */
#define LOG_LINE_MAX 4096

/* One line: "[time ]program: LEVEL: message". Dropped when level > sink->level. */
void log_write(const struct log_sink *sink, enum log_level level, const char *fmt, ...)
    ECB_PRINTF(3, 4);

#define LOG_ERROR(sink, ...) log_write((sink), LOG_LEVEL_ERROR, __VA_ARGS__)
#define LOG_WARN(sink, ...) log_write((sink), LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO(sink, ...) log_write((sink), LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_DEBUG(sink, ...) log_write((sink), LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Staging output. */
void log_step(FILE *out, const char *fmt, ...) ECB_PRINTF(2, 3);    /* "-----> msg" */
void log_detail(FILE *out, const char *fmt, ...) ECB_PRINTF(2, 3);  /* "       msg" */
void log_warning(FILE *out, const char *fmt, ...) ECB_PRINTF(2, 3); /* "       **WARNING** msg" */
void log_failure(FILE *out, const char *fmt, ...) ECB_PRINTF(2, 3); /* "       **ERROR** msg" */

#endif
