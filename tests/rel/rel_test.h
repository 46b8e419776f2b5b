/* Helpers shared by the reliable-heap tests: assertions and finding the
 * heap's mappings by name, as an outside injector would. */
#ifndef R3_REL_TEST_H
#define R3_REL_TEST_H
#include "r3rel.h"
#include "../common/check.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rel_map {
    unsigned char *start;
    size_t size;
} rel_map;

/* The mapping of this process whose name contains name ("r3rel-data"...). */
static inline rel_map rel_find_map(const char *name)
{
    rel_map m = {0, 0};
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (strstr(line, name) && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
            m.start = (unsigned char *)lo;
            m.size = hi - lo;
            break;
        }
    }
    if (f)
        fclose(f);
    return m;
}

static inline r3_rel_config rel_test_config(r3_rel_code code, size_t capacity)
{
    r3_rel_config c;
    r3_rel_default_config(&c);
    c.code = code;
    c.capacity = capacity;
    c.scrub_interval_ms = 0;
    return c;
}

static inline uint64_t rel_test_corrected(void)
{
    r3_rel_stats s;
    r3_rel_get_stats(&s);
    return s.code[R3_REL_TMR].corrected + s.code[R3_REL_SECDED].corrected + s.meta.corrected;
}

#endif
