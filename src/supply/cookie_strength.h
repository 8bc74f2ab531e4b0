/* Whether a cookie someone chose (ERLANG_CLUSTER_COOKIE, an erlang-cluster service's cookie,
 * the app's own .erlang.cookie) can be guessed offline. Anyone who reaches the distribution
 * port, or sees one handshake, gets a challenge and its digest, MD5(cookie ++ challenge), and
 * can then try cookies at GPU speed (some 10^10 a second) without talking to the node again.
 * The buildpack's generated cookie (32 of [A-Za-z0-9], about 190 bits) is far beyond that. */
#ifndef ECB_SUPPLY_COOKIE_STRENGTH_H
#define ECB_SUPPLY_COOKIE_STRENGTH_H

#include <stddef.h>

/* Estimated bits below which a cookie is called weak: length x log2(size of the character
 * classes it uses), which overrates anything a person made up, so the bar sits high. */
#define COOKIE_STRONG_BITS 96

/* Why cookie is weak, as a phrase for a warning (never quoting it), or NULL when it is not:
 * fewer than COOKIE_STRONG_BITS estimated bits, fewer than 12 distinct characters, mostly
 * runs (aaaa, abcd, 1234), or a word every guesser tries first (cookie, secret, ...). */
const char *cookie_weakness(const char *cookie, char *why, size_t whylen);

#endif
