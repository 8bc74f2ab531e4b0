#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Appends fmt to line[*len], keeping room for the newline; marks a cut with "...". */
static void format_into(char *line, size_t *len, const char *fmt, va_list ap)
{
    size_t room = LOG_LINE_MAX - 1 - *len; /* one byte stays free for '\n' */
    int n = vsnprintf(line + *len, room + 1, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > room) {
        *len = LOG_LINE_MAX - 1;
        memcpy(line + *len - 3, "...", 3);
    } else {
        *len += (size_t)n;
    }
}

static void append(char *line, size_t *len, const char *fmt, ...) ECB_PRINTF(3, 4);
static void append(char *line, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_into(line, len, fmt, ap);
    va_end(ap);
}

/* Ends the line and hands it to the stream's file descriptor in one write (a stream without
 * one, such as a memory stream, takes it through stdio). */
static void emit(FILE *out, char *line, size_t len)
{
    line[len++] = '\n';
    int fd = fileno(out);
    if (fd < 0 || fflush(out) != 0) {
        fwrite(line, 1, len, out);
        fflush(out);
        return;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* nowhere left to say it */
        done += (size_t)n;
    }
}

void log_write(const struct log_sink *sink, enum log_level level, const char *fmt, ...)
{
    if (level > sink->level)
        return;
    char line[LOG_LINE_MAX];
    size_t len = 0;
    if (sink->timestamps) {
        char stamp[32] = "";
        struct timespec now;
        struct tm tm;
        if (clock_gettime(CLOCK_REALTIME, &now) == 0 && gmtime_r(&now.tv_sec, &tm) != NULL)
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        append(line, &len, "%s ", stamp);
    }
    const char *tag = level == LOG_LEVEL_ERROR ? "ERROR"
                      : level == LOG_LEVEL_WARN ? "WARN"
                      : level == LOG_LEVEL_INFO ? "INFO"
                                                : "DEBUG";
    append(line, &len, "%s: %s: ", sink->program, tag);
    va_list ap;
    va_start(ap, fmt);
    format_into(line, &len, fmt, ap);
    va_end(ap);
    emit(sink->stream, line, len);
}

static void staging_line(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    size_t len = 0;
    append(line, &len, "%s", prefix);
    format_into(line, &len, fmt, ap);
    emit(out, line, len);
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
