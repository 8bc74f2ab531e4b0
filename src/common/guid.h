/* Cloud Foundry GUIDs (apps, spaces, instances' certificate OUs). */
#ifndef ECB_COMMON_GUID_H
#define ECB_COMMON_GUID_H

#include <stdbool.h>

/* 8-4-4-4-12 hex digits, as `cf app NAME --guid` prints. */
bool guid_valid(const char *s);

#endif
