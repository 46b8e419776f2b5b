/* The inline fast paths of r3pool.h against the exported functions: both
 * make the same decisions on the same pool (blocks, double frees, foreign
 * and interior pointers, destroyed pools, thread-safe pools, region pools);
 * the free stack grows with the pool and survives a clear; a first slab
 * beyond 4 GiB (where the inline block-start test stops and the exported
 * path divides); and a write into a freed block's tag is caught when the
 * block is handed out again. */
#include "r3pool.h"
#include "pool_test.h"
#include "../common/child.h"
#include <errno.h>
#include <stdint.h>

#define EXPECT_RC(call, code) do { errno = 0; CHECK((call) == -(code)); CHECK(errno == (code)); } while (0)

/* Each check runs once through the inline path (the r3_palloc / r3_pfree
 * macros) and once through the exported functions (names in parentheses). */
static void *alloc_via(int exported, r3_pool_t *pool, size_t n)
{
    return exported ? (r3_palloc)(pool, n) : r3_palloc(pool, n);
}

static int free_via(int exported, r3_pool_t *pool, void *p)
{
    return exported ? (r3_pfree)(pool, p) : r3_pfree(pool, p);
}

static void test_same_decisions(int exported)
{
    r3_pool_t *a = r3_pool_create(48, 64), *b = r3_pool_create(48, 64);
    CHECK(a && b);
    char *p = alloc_via(exported, a, 48), *q = alloc_via(exported, a, 1), *foreign = alloc_via(exported, b, 48);
    CHECK(p && q && foreign && p != q);
    CHECK(alloc_via(exported, a, 49) == NULL && errno == EINVAL);
    EXPECT_RC(free_via(exported, a, foreign), EINVAL);
    EXPECT_RC(free_via(exported, a, p + 16), EINVAL);       /* interior */
    EXPECT_RC(free_via(exported, a, q + 48), EINVAL);       /* never handed out */
    EXPECT_RC(free_via(exported, NULL, p), EINVAL);
    CHECK(free_via(exported, a, p) == 0);
    EXPECT_RC(free_via(exported, a, p), EINVAL);            /* twice, same path */
    EXPECT_RC(free_via(!exported, a, p), EINVAL);           /* twice, other path */
    CHECK(free_via(exported, a, NULL) == 0);
    CHECK(alloc_via(exported, a, 48) == p);                 /* the freed block first */
    CHECK(free_via(!exported, a, p) == 0 && free_via(exported, a, q) == 0);
    CHECK(r3_pool_check(a) == 0);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(a, &st) == 0 && st.blocks_in_use == 0);
    r3_pool_destroy(a);
    r3_pool_destroy(b);
    /* A destroyed pool whose descriptor was not reused is refused. */
    errno = 0;
    CHECK(alloc_via(exported, a, 8) == NULL && errno == EINVAL);
    EXPECT_RC(free_via(exported, a, p), EINVAL);
}

/* Thread-safe pools and region pools never take the fixed inline path. */
static void test_other_pools(int exported)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = 32;
    o.block_count = 8;
    o.thread_safe = 1;
    r3_pool_t *locked = r3_pool_create_ex(&o);
    CHECK(locked);
    void *p = alloc_via(exported, locked, 32);
    CHECK(p && free_via(exported, locked, p) == 0);
    EXPECT_RC(free_via(exported, locked, p), EINVAL);
    CHECK(alloc_via(exported, locked, 32) == p);
    r3_pool_destroy(locked);

    o = (r3_pool_options)R3_POOL_OPTIONS_INIT;
    o.kind = R3_POOL_REGION;
    for (o.thread_safe = 0; o.thread_safe < 2; o.thread_safe++) {
        r3_pool_t *region = r3_pool_create_ex(&o);
        CHECK(region);
        char *x = alloc_via(exported, region, 10), *y = alloc_via(exported, region, 0);
        char *z = alloc_via(exported, region, 100000);            /* a chunk of its own */
        CHECK(x && y && z && y != x && (uintptr_t)y % 16 == 0 && (uintptr_t)z % 16 == 0);
        CHECK(alloc_via(exported, region, SIZE_MAX - 4) == NULL && errno == ENOMEM);
        EXPECT_RC(free_via(exported, region, x), ENOTSUP);
        CHECK(r3_pool_check(region) == 0);
        r3_pool_destroy(region);
    }
}

/* Many slabs: the stack is moved several times as the pool grows; every
 * block freed (first slab inline, the others exported), reused after a
 * clear without a new mapping. */
static void test_stack_growth(void)
{
    enum { STEP = 16, COUNT = 5000 };
    r3_pool_t *pool = r3_pool_create(16, STEP);
    CHECK(pool);
    static void *blocks[COUNT];
    for (int i = 0; i < COUNT; i++)
        CHECK((blocks[i] = r3_palloc(pool, 16)) != NULL);
    for (int i = 0; i < COUNT; i++) {   /* shuffled: frees come from every slab in turn */
        int j = (int)(((unsigned)i * 2654435761u) % COUNT);
        void *t = blocks[i];
        blocks[i] = blocks[j];
        blocks[j] = t;
    }
    for (int i = 0; i < COUNT; i++)
        CHECK(r3_pfree(pool, blocks[i]) == 0);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0 && st.blocks_in_use == 0);
    CHECK(st.blocks_total == (COUNT + STEP - 1) / STEP * STEP);   /* whole growth steps */
    CHECK(r3_pool_check(pool) == 0);
    int maps = mapping_count();
    r3_pool_clear(pool);
    for (int i = 0; i < COUNT; i++)
        CHECK(r3_palloc(pool, 16) != NULL);
    CHECK(mapping_count() == maps);
    CHECK(r3_pool_stats_get(pool, &st) == 0 && st.blocks_in_use == COUNT);
    CHECK(r3_pool_check(pool) == 0);
    r3_pool_destroy(pool);
}

/* A first slab of 4100 MiB (reserved, not touched): blocks past 4 GiB are
 * freed through the exported path; an interior pointer there is refused. */
static void test_slab_beyond_4gib(void)
{
    enum { COUNT = 4100 };
    size_t mib = (size_t)1 << 20;
    r3_pool_t *pool = r3_pool_create(mib, COUNT);
    if (!pool) {
        printf("SKIP: a %d MiB reservation was refused\n", COUNT);
        return;
    }
    char *first = r3_palloc(pool, 1), *last = NULL;
    CHECK(first);
    for (int i = 1; i < COUNT; i++)
        CHECK((last = r3_palloc(pool, 1)) != NULL);
    CHECK((uint64_t)(last - first) > ((uint64_t)1 << 32));
    EXPECT_RC(r3_pfree(pool, last + 16), EINVAL);
    EXPECT_RC(r3_pfree(pool, last - mib / 2), EINVAL);
    CHECK(r3_pfree(pool, last) == 0);
    EXPECT_RC(r3_pfree(pool, last), EINVAL);
    CHECK(r3_pfree(pool, first) == 0);
    CHECK(r3_palloc(pool, 1) == first && r3_palloc(pool, 1) == last);
    CHECK(r3_pool_check(pool) == 0);
    r3_pool_destroy(pool);
}

static void overwrite_freed_tag(void)
{
    r3_pool_t *pool = r3_pool_create(32, 4);
    uint64_t *p = r3_palloc(pool, 32);
    r3_pfree(pool, p);
    p[1] = 0;          /* use after free: the tag word */
    r3_palloc(pool, 32);
}

static void test_tag_overwrite_caught(void)
{
    struct child_result r;
    CHECK(child_aborts_with(overwrite_freed_tag, "r3malloc: pool free list corrupted at 0x", &r));
}

int main(void)
{
    for (int exported = 0; exported < 2; exported++) {
        test_same_decisions(exported);
        test_other_pools(exported);
    }
    test_stack_growth();
    test_slab_beyond_4gib();
    test_tag_overwrite_caught();
    puts("pool inline: ok");
    return 0;
}
