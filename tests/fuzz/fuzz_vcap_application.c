/* VCAP_APPLICATION parsing: any text either parses into strings and a NULL-terminated URI
 * list, or fails with one clean line. */
#include <stdint.h>
#include <stdlib.h>

#include "common/vcap.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstring(data, size);
    struct vcap_application app;
    char err[512] = "";
    if (vcap_application_parse(json, &app, err, sizeof err) == 0) {
        if (app.uris == NULL)
            fuzz_fail("vcap_application_parse succeeded with a NULL uris list");
        vcap_application_free(&app);
    } else {
        fuzz_check_message("vcap_application_parse", err);
        if (app.name != NULL || app.id != NULL || app.process_type != NULL || app.uris != NULL)
            fuzz_fail("vcap_application_parse failed but left results behind");
    }
    free(json);
    return 0;
}
