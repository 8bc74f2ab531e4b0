/* The droplet's config.yml: any file either reads into known settings (never a cookie) or
 * fails with one clean line; what was read, written back and read again, is the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/settings_file.h"
#include "fuzz_support.h"

struct files {
    int fd;
    char input[64];
    char scratch[256];
    char written[320];
};

static const char *const scratch_names[] = {"config.yml", NULL};

static void remove_scratch(void);

static struct files *files(void)
{
    static struct files f;
    static bool ready;
    if (!ready) {
        f.fd = fuzz_memfile_open(f.input, sizeof f.input);
        fuzz_scratch_dir(f.scratch, sizeof f.scratch);
        snprintf(f.written, sizeof f.written, "%s/config.yml", f.scratch);
        atexit(remove_scratch);
        ready = true;
    }
    return &f;
}

static void remove_scratch(void)
{
    fuzz_scratch_remove(files()->scratch, scratch_names);
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A missing name or version is written as "", which reads back as "". */
static bool same_or_empty(const char *a, const char *b)
{
    return same_text(a != NULL ? a : "", b);
}

static void check_round_trip(const struct settings_file *read, const char *path)
{
    char err[1024] = "";
    if (staged_config_write(path, read, err, sizeof err) != 0) {
        fuzz_check_message("staged_config_write", err);
        return;
    }
    struct settings_file again;
    if (staged_config_read(path, &again, err, sizeof err) != 0)
        fuzz_fail("config.yml as written does not read back: %s", err);
    if (!same_or_empty(read->name, again.name) || !same_or_empty(read->version, again.version))
        fuzz_fail("name or version changed on the way through config.yml");
    for (int i = 0; i < FIELD_COUNT; i++)
        if (!same_text(read->env[i], again.env[i]) ||
            !same_text(read->defaults[i], again.defaults[i]))
            fuzz_fail("setting %s changed on the way through config.yml",
                      config_field_variable((enum config_field)i));
    settings_file_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct files *f = files();
    fuzz_memfile_set(f->fd, data, size);
    struct settings_file staged;
    char err[1024] = "";
    if (staged_config_read(f->input, &staged, err, sizeof err) == 0) {
        if (staged.env[FIELD_COOKIE] != NULL || staged.defaults[FIELD_COOKIE] != NULL)
            fuzz_fail("config.yml gave a cookie");
        check_round_trip(&staged, f->written);
        settings_file_free(&staged);
    } else {
        fuzz_check_message("staged_config_read", err);
    }
    return 0;
}
