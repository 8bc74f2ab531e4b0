#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for need more bytes and the NUL. A secret buffer moves by hand, so that no copy of
 * its text is left behind in memory realloc would free unwiped. */
static int reserve(struct strbuf *sb, size_t need)
{
    if (need > (size_t)-1 - sb->len - 1)
        return -1;
    if (sb->len + need + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + need + 1)
        cap = cap > (size_t)-1 / 2 ? sb->len + need + 1 : cap * 2;
    char *data;
    if (sb->secret) {
        data = malloc(cap);
        if (data == NULL)
            return -1;
        if (sb->data != NULL) {
            memcpy(data, sb->data, sb->len + 1);
            explicit_bzero(sb->data, sb->cap);
            free(sb->data);
        }
    } else {
        data = realloc(sb->data, cap);
        if (data == NULL)
            return -1;
    }
    sb->data = data;
    sb->cap = cap;
    return 0;
}

int strbuf_append_len(struct strbuf *sb, const void *bytes, size_t len)
{
    if (reserve(sb, len) != 0)
        return -1;
    memcpy(sb->data + sb->len, bytes, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
    return 0;
}

int strbuf_append(struct strbuf *sb, const char *text)
{
    return strbuf_append_len(sb, text, strlen(text));
}

int strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(sb, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return 0;
}

const char *strbuf_text(const struct strbuf *sb)
{
    return sb->data != NULL ? sb->data : "";
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    if (sb->data == NULL && strbuf_append_len(sb, "", 0) != 0)
        return NULL;
    char *text = sb->data;
    if (len != NULL)
        *len = sb->len;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return text;
}

void strbuf_reset(struct strbuf *sb)
{
    if (sb->data == NULL)
        return;
    if (sb->secret)
        explicit_bzero(sb->data, sb->cap);
    sb->len = 0;
    sb->data[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
    if (sb->data != NULL && sb->secret)
        explicit_bzero(sb->data, sb->cap);
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
