#include "common/log.h"

#include <stdarg.h>
#include <time.h>

const char *log_level_name(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR: return "error";
    case LOG_LEVEL_WARN: return "warn";
    case LOG_LEVEL_INFO: return "info";
    case LOG_LEVEL_DEBUG: return "debug";
    }
    return "unknown";
}

void log_write(const struct log_sink *sink, enum log_level level, const char *fmt, ...)
{
    if (level > sink->level)
        return;
    if (sink->timestamps) {
        char stamp[32] = "";
        struct timespec now;
        struct tm tm;
        if (clock_gettime(CLOCK_REALTIME, &now) == 0 && gmtime_r(&now.tv_sec, &tm) != NULL)
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(sink->stream, "%s ", stamp);
    }
    const char *tag = level == LOG_LEVEL_ERROR ? "ERROR"
                      : level == LOG_LEVEL_WARN ? "WARN"
                      : level == LOG_LEVEL_INFO ? "INFO"
                                                : "DEBUG";
    fprintf(sink->stream, "%s: %s: ", sink->program, tag);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(sink->stream, fmt, ap);
    va_end(ap);
    fputc('\n', sink->stream);
    fflush(sink->stream);
}

static void staging_line(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    fflush(out);
}

void log_step(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    staging_line(out, "-----> ", fmt, ap);
    va_end(ap);
}

void log_detail(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    staging_line(out, "       ", fmt, ap);
    va_end(ap);
}

void log_warning(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    staging_line(out, "       **WARNING** ", fmt, ap);
    va_end(ap);
}

void log_failure(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    staging_line(out, "       **ERROR** ", fmt, ap);
    va_end(ap);
}
