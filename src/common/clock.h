/* The one clock the agent's timers use. */
#ifndef ECB_CLOCK_H
#define ECB_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: never jumps with wall-clock changes. */
int64_t monotonic_ms(void);

#endif
