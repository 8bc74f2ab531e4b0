/* A growable NUL-terminated string, the one buffer every part appends text into. A zeroed
 * struct is an empty buffer; {.secret = true} makes one whose memory is wiped whenever it is
 * given back (on growth too), for text that holds a cookie or a token. */
#ifndef ECB_STRBUF_H
#define ECB_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    bool secret;
};

/* Each append returns 0, or -1 when out of memory; the buffer then keeps what it held. */
int strbuf_append_len(struct strbuf *sb, const void *bytes, size_t len);
int strbuf_append(struct strbuf *sb, const char *text);
__attribute__((format(printf, 2, 3)))
int strbuf_appendf(struct strbuf *sb, const char *fmt, ...);

/* The text so far; "" for a buffer nothing was appended to. */
const char *strbuf_text(const struct strbuf *sb);

/* Hands the text over to the caller, who frees it ("" for an empty buffer), with its length
 * in *len (may be NULL); the buffer is empty again. NULL only when out of memory. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* Empties the buffer and keeps its memory (wiped first for a secret one). */
void strbuf_reset(struct strbuf *sb);

/* Gives the memory back (wiped first for a secret one); the buffer is empty again. */
void strbuf_release(struct strbuf *sb);

#endif
