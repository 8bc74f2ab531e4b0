/* Runs a fuzz target's entry point once on each file named on the command line, without
 * libFuzzer, so a plain sanitizer build replays the corpus as a regression test. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "replay: opening %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    for (;;) {
        if (data == NULL) {
            fprintf(stderr, "replay: reading %s: out of memory\n", path);
            fclose(in);
            return -1;
        }
        len += fread(data + len, 1, cap - len, in);
        if (len < cap)
            break;
        cap *= 2;
        uint8_t *bigger = realloc(data, cap);
        if (bigger == NULL)
            free(data);
        data = bigger;
    }
    int failed = ferror(in);
    if (failed)
        fprintf(stderr, "replay: reading %s: %s\n", path, strerror(errno));
    if (fclose(in) != 0 && !failed) {
        fprintf(stderr, "replay: closing %s: %s\n", path, strerror(errno));
        failed = 1;
    }
    if (!failed)
        LLVMFuzzerTestOneInput(data, len);
    free(data);
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (replay(argv[i]) != 0)
            status = 1;
    }
    return status;
}
