/* When the instance certificate in a file expires, for `status`: read from the file each
 * time, so that it follows Diego's rotation. */
#ifndef ECB_AGENT_CERT_EXPIRY_H
#define ECB_AGENT_CERT_EXPIRY_H

#include <stddef.h>

/* The notAfter of the first certificate in the PEM file at path (the leaf), as UTC
 * "YYYY-MM-DDTHH:MM:SSZ" into out. Returns 0, or -1 with one line in err. */
int cert_expiry_read(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif
