/* Validation of Erlang node names and their parts. Every name that reaches Erlang from the
 * environment or the network passes through here first, so the rules are strict: a long
 * node name `base@host` whose host is an IP literal or a plain DNS name. */
#ifndef ECB_NODE_NAME_H
#define ECB_NODE_NAME_H

#include <stdbool.h>

#define NODE_BASENAME_MAX 64
#define NODE_NAME_MAX 255

/* `base@host`: base valid per node_basename_valid, host per node_host_valid, exactly one
 * '@', at most NODE_NAME_MAX bytes in all. */
bool node_name_valid(const char *name);

/* 1..NODE_BASENAME_MAX characters of [A-Za-z0-9_-]. */
bool node_basename_valid(const char *base);

/* An IPv4 or IPv6 literal, or a DNS name (see dns_name_valid). */
bool node_host_valid(const char *host);

/* A dotted-quad IPv4 or an IPv6 literal (no brackets, no zone). */
bool ip_literal_valid(const char *text);

/* Labels of 1..63 [A-Za-z0-9-] (no leading or trailing '-') joined by single dots, at most
 * 253 bytes, no trailing dot, and a last label that is not all digits (so that a malformed
 * IPv4 literal such as 300.1.1.1 is not mistaken for a name). */
bool dns_name_valid(const char *name);

#endif
