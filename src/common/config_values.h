/* Inside the configuration (config*.c only): turning one picked value into a typed, checked
 * setting. Each parser fails with one line naming where the value came from, the value
 * (bounded, printable) and the accepted form; *out is set only on success. */
#ifndef ECB_CONFIG_VALUES_H
#define ECB_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config_layers.h"
#include "common/error.h"
#include "common/text.h"

/* "ORIGIN: "VALUE" PROBLEM; ACCEPTED". Returns -1. */
int config_bad_value(char *err, size_t errlen, const struct picked *p, const char *problem,
                     const char *accepted);
/* A user's value as a message quotes it (text_shown): at most this many characters. */
#define CONFIG_SHOWN_MAX 60
/* strdup into *dst, failing with "out of memory". */
int config_dup(char **dst, const char *src, char *err, size_t errlen);
/* Every character alphanumeric or in extra. */
bool config_all_chars_in(const char *s, const char *extra);

int config_parse_bool(const struct picked *p, bool *out, char *err, size_t errlen);
int config_parse_int(const struct picked *p, long min, long max, int *out, char *err,
                     size_t errlen);
/* The index of the name p's value equals (case-insensitively). */
int config_parse_choice(const struct picked *p, const char *const *names, size_t count,
                        const char *accepted, int *out, char *err, size_t errlen);

/* The comma-separated lists, trimmed and joined with single commas (malloc'd). */
int config_parse_process_types(const struct picked *p, char **out, char *err, size_t errlen);
int config_parse_peers(const struct picked *p, char **out, char *err, size_t errlen);
int config_parse_dns_servers(const struct picked *p, char **out, char *err, size_t errlen);
/* ERLANG_CLUSTER_TLS: false|true|auto (booleans also as 1/0, yes/no). */
int config_parse_tls_mode(const struct picked *p, int *out, char *err, size_t errlen);
/* ERLANG_CLUSTER_TLS_CA_FILE: an absolute path of printable ASCII (the optfile is read as
 * Latin-1). */
int config_parse_tls_ca_file(const struct picked *p, char **out, char *err, size_t errlen);
/* ERLANG_CLUSTER_TLS_ALLOW: app GUIDs (8-4-4-4-12 hex digits) and/or the word space,
 * comma-separated; written back in lower case. */
int config_parse_tls_allow(const struct picked *p, char **out, char *err, size_t errlen);
/* ERLANG_CLUSTER_PEER_NETWORK: IPv4 / IPv6 networks in CIDR notation (or bare addresses),
 * comma-separated, no host bits set. */
int config_parse_peer_network(const struct picked *p, char **out, char *err, size_t errlen);
int config_parse_dns_query(const struct picked *p, char **out, char *err, size_t errlen);

#endif
