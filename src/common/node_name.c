#include "common/node_name.h"

#include <arpa/inet.h>
#include <string.h>

static bool is_basename_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

/* The first len bytes of base: a basename (the rule both checks below share). */
static bool basename_span_valid(const char *base, size_t len)
{
    if (len == 0 || len > NODE_BASENAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_basename_char(base[i]))
            return false;
    return true;
}

bool node_basename_valid(const char *base)
{
    return base != NULL && basename_span_valid(base, strlen(base));
}

bool ip_literal_valid(const char *text)
{
    if (text == NULL || *text == '\0')
        return false;
    unsigned char addr[16];
    return inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1;
}

bool dns_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t len = strlen(name);
    if (len == 0 || len > 253)
        return false;
    size_t label_len = 0;
    bool label_all_digits = true;
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        if (c == '.' || c == '\0') {
            if (label_len == 0 || label_len > 63)
                return false;
            if (name[i - 1] == '-')
                return false;
            if (c == '\0')
                return !label_all_digits;
            label_len = 0;
            label_all_digits = true;
            continue;
        }
        if (!is_label_char(c))
            return false;
        if (label_len == 0 && c == '-')
            return false;
        if (c < '0' || c > '9')
            label_all_digits = false;
        label_len++;
    }
    return false; /* not reached: the loop returns at the terminating NUL */
}

bool node_host_valid(const char *host)
{
    return ip_literal_valid(host) || dns_name_valid(host);
}

bool node_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t len = strlen(name);
    if (len == 0 || len > NODE_NAME_MAX)
        return false;
    const char *at = strchr(name, '@');
    if (at == NULL || strchr(at + 1, '@') != NULL)
        return false;
    return basename_span_valid(name, (size_t)(at - name)) && node_host_valid(at + 1);
}
