/* Small helpers shared by the pool tests. */
#ifndef R3_POOL_TEST_H
#define R3_POOL_TEST_H
#include "r3pool.h"
#include "../common/check.h"
#include "../common/memory.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_CODE 77

/* The number of lines of /proc/self/maps: a new mapping adds one unless
 * the kernel merges it with a neighbour, so an unchanged count after a
 * clear-and-refill plus unchanged addresses shows that nothing was mapped. */
static inline int mapping_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines;
}

/* A per-CPU set of fixed blocks; the test fails if it cannot be made. */
static inline r3_pool_percpu_t *make_set(size_t block_size, size_t block_count)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = block_size;
    o.block_count = block_count;
    r3_pool_percpu_t *set = r3_pool_percpu_create(&o);
    CHECK(set);
    return set;
}

/* Fills pool with count allocations of size_of(i) bytes, clears it, and
 * checks that zeroed allocations of the same sizes give back the same
 * addresses in the same order: nothing in use right after the clear, no
 * new mapping, the same reservation, and a sound pool at the end. The
 * allocation functions are parameters so that the seed's short names can
 * be the ones tested. */
static inline void check_clear_reuses_memory(r3_pool_t *pool, int count, size_t (*size_of)(int),
                                             void *(*alloc)(r3_pool_t *, size_t),
                                             void *(*zalloc)(r3_pool_t *, size_t),
                                             void (*clear)(r3_pool_t *))
{
    void **first = calloc((size_t)count, sizeof *first);
    CHECK(first);
    for (int i = 0; i < count; i++)
        CHECK((first[i] = alloc(pool, size_of(i))) != NULL);
    r3_pool_stats before, after;
    CHECK(r3_pool_stats_get(pool, &before) == 0);
    int maps = mapping_count();
    clear(pool);
    CHECK(r3_pool_stats_get(pool, &after) == 0);
    CHECK(after.blocks_in_use == 0 && after.bytes_in_use == 0);
    CHECK(after.bytes_reserved == before.bytes_reserved && after.blocks_total == before.blocks_total);
    for (int i = 0; i < count; i++) {
        unsigned char *p = zalloc(pool, size_of(i));
        CHECK(p == first[i]);
        for (size_t j = 0; j < size_of(i); j++)
            CHECK(p[j] == 0);
    }
    CHECK(mapping_count() == maps);
    CHECK(r3_pool_stats_get(pool, &after) == 0);
    CHECK(after.bytes_reserved == before.bytes_reserved && after.blocks_total == before.blocks_total);
    CHECK(r3_pool_check(pool) == 0);
    free(first);
}

#endif
