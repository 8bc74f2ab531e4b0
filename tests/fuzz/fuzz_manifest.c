/* The buildpack's manifest.yml: any file either reads into known settings (never a cookie)
 * or fails with one clean line. */
#include <stdint.h>

#include "common/settings_file.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0)
        fd = fuzz_memfile_open(path, sizeof path);
    fuzz_memfile_set(fd, data, size);
    struct settings_file manifest;
    char err[1024] = "";
    if (manifest_read(path, &manifest, err, sizeof err) == 0) {
        if (manifest.defaults[FIELD_COOKIE] != NULL)
            fuzz_fail("manifest.yml gave a cookie default");
        for (int i = 0; i < FIELD_COUNT; i++)
            if (manifest.env[i] != NULL)
                fuzz_fail("manifest.yml gave an env value");
        settings_file_free(&manifest);
    } else {
        fuzz_check_message("manifest_read", err);
    }
    return 0;
}
