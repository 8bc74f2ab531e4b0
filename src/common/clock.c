#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t monotonic_ms(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC exists on every Linux; failing here means the timers cannot work. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime(CLOCK_MONOTONIC)");
        abort();
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
