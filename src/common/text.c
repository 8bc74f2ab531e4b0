#include "common/text.h"

#include <string.h>

void text_shown(const char *text, size_t max_chars, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    size_t room = outlen > 4 ? outlen - 4 : 0; /* keeps space for "..." and the NUL */
    size_t i = 0;
    for (; text[i] != '\0' && i < max_chars && i < room; i++)
        out[i] = text[i] >= ' ' && text[i] < 0x7f ? text[i] : '?';
    if (text[i] != '\0' && i + 4 <= outlen) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

int shell_quote_append(struct strbuf *sb, const char *text)
{
    if (strbuf_append(sb, "'") != 0)
        return -1;
    for (const char *p = text; *p;) {
        size_t plain = strcspn(p, "'");
        if (strbuf_append_len(sb, p, plain) != 0)
            return -1;
        p += plain;
        if (*p == '\'') {
            if (strbuf_append(sb, "'\\''") != 0)
                return -1;
            p++;
        }
    }
    return strbuf_append(sb, "'");
}

int shell_word_append(struct strbuf *sb, const char *text)
{
    static const char bare[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    if (*text != '\0' && strspn(text, bare) == strlen(text))
        return strbuf_append(sb, text);
    return shell_quote_append(sb, text);
}
