/* Node-name validation: whatever the bytes, a name accepted for Erlang is `base@host` made
 * only of the characters the rules allow, and the five validators agree with each other. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/node_name.h"
#include "fuzz_support.h"

static void check_basename(const char *s, bool valid)
{
    size_t len = strlen(s);
    bool expected = len >= 1 && len <= NODE_BASENAME_MAX && fuzz_only_chars(s, 1, "_-");
    if (valid != expected)
        fuzz_fail("node_basename_valid(\"%s\") = %d", s, valid);
}

static void check_dns(const char *s, bool valid)
{
    if (!valid)
        return;
    size_t len = strlen(s);
    if (len == 0 || len > 253 || !fuzz_only_chars(s, 1, ".-") || s[0] == '.' || s[0] == '-' ||
        s[len - 1] == '.' || s[len - 1] == '-' || strstr(s, "..") != NULL ||
        strstr(s, "-.") != NULL || strstr(s, ".-") != NULL)
        fuzz_fail("dns_name_valid accepted \"%s\"", s);
    const char *last = strrchr(s, '.');
    last = last != NULL ? last + 1 : s;
    if (fuzz_only_chars(last, 0, "0123456789"))
        fuzz_fail("dns_name_valid accepted \"%s\" whose last label is all digits", s);
}

static void check_ip(const char *s, bool valid)
{
    if (valid && (s[0] == '\0' || !fuzz_only_chars(s, 0, "0123456789abcdefABCDEF.:")))
        fuzz_fail("ip_literal_valid accepted \"%s\"", s);
}

static void check_name(const char *s, bool valid)
{
    const char *at = strchr(s, '@');
    bool one_at = at != NULL && strchr(at + 1, '@') == NULL;
    bool expected = false;
    if (one_at && strlen(s) <= NODE_NAME_MAX) {
        char *base = strndup(s, (size_t)(at - s));
        if (base == NULL)
            fuzz_fail("out of memory");
        expected = node_basename_valid(base) && node_host_valid(at + 1);
        free(base);
    }
    if (valid != expected)
        fuzz_fail("node_name_valid(\"%s\") = %d, its parts say %d", s, valid, expected);
    /* What reaches Erlang and vm.args: never quotes, spaces, control or shell characters. */
    if (valid && !fuzz_only_chars(s, 1, "_-.:@"))
        fuzz_fail("node_name_valid accepted \"%s\" with a character outside [A-Za-z0-9_.:@-]", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    bool ip = ip_literal_valid(s);
    bool dns = dns_name_valid(s);
    check_basename(s, node_basename_valid(s));
    check_dns(s, dns);
    check_ip(s, ip);
    if (node_host_valid(s) != (ip || dns))
        fuzz_fail("node_host_valid(\"%s\") disagrees with ip_literal_valid/dns_name_valid", s);
    check_name(s, node_name_valid(s));
    free(s);
    return 0;
}
