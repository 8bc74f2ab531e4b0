#include "agent/cert_expiry.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int cert_expiry_read(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read the certificate %s: %s", path, strerror(errno));
        return -1;
    }
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    int rc = -1;
    struct tm tm;
    if (cert == NULL) {
        snprintf(err, errlen, "%s holds no PEM certificate", path);
    } else if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
        snprintf(err, errlen, "the certificate in %s has an unreadable expiry", path);
    } else if (strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(err, errlen, "no room for the certificate's expiry");
    } else {
        rc = 0;
    }
    X509_free(cert);
    ERR_clear_error();
    return rc;
}
