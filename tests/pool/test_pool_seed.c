/* The seed's interface through the short names: create, palloc up to the
 * block count and past it, alignment, no overlap, pcalloc on reused
 * memory, clear then reuse of the same memory without a new mapping,
 * destroy, and the capacity limit. */
#define R3_POOL_SHORT_NAMES
#include "r3pool.h"
#include "pool_test.h"
#include <errno.h>
#include <stdint.h>

enum { BLOCK = 40, COUNT = 100 };

static int by_address(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void test_alloc_past_count(void)
{
    pool_t *pool = pool_create(BLOCK, COUNT);
    CHECK(pool);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0);
    CHECK(st.block_size == 48 && st.blocks_total == COUNT && st.blocks_in_use == 0);
    uintptr_t p[3 * COUNT];
    for (int i = 0; i < 3 * COUNT; i++) {
        char *b = palloc(pool, BLOCK);
        CHECK(b);
        CHECK((uintptr_t)b % 16 == 0);
        memset(b, i & 0xff, BLOCK);
        p[i] = (uintptr_t)b;
        if (i == COUNT - 1) {
            CHECK(r3_pool_stats_get(pool, &st) == 0);
            CHECK(st.blocks_total == COUNT);
        }
    }
    /* Past the count the pool grew by whole steps of COUNT blocks. */
    CHECK(r3_pool_stats_get(pool, &st) == 0);
    CHECK(st.blocks_total == 3 * COUNT && st.blocks_in_use == 3 * COUNT);
    for (int i = 0; i < 3 * COUNT; i++)
        for (int j = 0; j < BLOCK; j++)
            CHECK(((unsigned char *)p[i])[j] == (i & 0xff));
    qsort(p, 3 * COUNT, sizeof p[0], by_address);
    for (int i = 1; i < 3 * COUNT; i++)
        CHECK(p[i] - p[i - 1] >= 48);
    CHECK(r3_pool_check(pool) == 0);
    pool_destroy(pool);
}

static void test_pcalloc_and_free(void)
{
    pool_t *pool = pool_create(64, 8);
    CHECK(pool);
    unsigned char *a = palloc(pool, 64);
    CHECK(a);
    memset(a, 0xa5, 64);
    CHECK(pfree(pool, a) == 0);
    unsigned char *b = pcalloc(pool, 64);
    CHECK(b == a);   /* the freed block comes back first */
    for (int i = 0; i < 64; i++)
        CHECK(b[i] == 0);
    CHECK(palloc(pool, 65) == NULL && errno == EINVAL);
    CHECK(palloc(pool, 0) != NULL);
    CHECK(r3_pool_check(pool) == 0);
    pool_destroy(pool);
}

static size_t block_of_32(int i)
{
    (void)i;
    return 32;
}

static void test_clear_reuses_memory(void)
{
    pool_t *pool = pool_create(32, 64);
    CHECK(pool);
    /* 200 blocks: the pool grew to four slabs before the clear. */
    check_clear_reuses_memory(pool, 200, block_of_32, palloc, pcalloc, pool_clear);
    pool_destroy(pool);
    pool_destroy(NULL);
    pool_clear(NULL);
}

static void test_capacity_limit(void)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = 16;
    o.block_count = 10;
    o.capacity = 25;
    pool_t *pool = r3_pool_create_ex(&o);
    CHECK(pool);
    void *p[25];
    for (int i = 0; i < 25; i++)
        CHECK((p[i] = palloc(pool, 16)) != NULL);
    errno = 0;
    CHECK(palloc(pool, 16) == NULL && errno == ENOMEM);
    CHECK(pfree(pool, p[7]) == 0);
    CHECK(palloc(pool, 16) == p[7]);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0 && st.blocks_total == 25);
    CHECK(r3_pool_check(pool) == 0);
    pool_destroy(pool);
}

int main(void)
{
    test_alloc_past_count();
    test_pcalloc_and_free();
    test_clear_reuses_memory();
    test_capacity_limit();
    puts("pool seed: ok");
    return 0;
}
