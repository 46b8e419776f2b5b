/* Region pools with APR semantics: any size, alignment, child pools that
 * die with their parent, cleanups in reverse order on clear and destroy,
 * clear keeps the memory, the capacity limit. */
#include "r3pool.h"
#include "pool_test.h"
#include <errno.h>
#include <stdint.h>

static char order[64];
static int order_len;

static void note(void *data)
{
    order[order_len++] = *(const char *)data;
    order[order_len] = '\0';
}

static void test_any_size(void)
{
    r3_pool_t *pool = r3_pool_create_region(NULL);
    CHECK(pool);
    char *prev = NULL;
    size_t prev_n = 0;
    for (size_t n = 0; n < 5000; n += 7) {
        char *p = r3_palloc(pool, n);
        CHECK(p && (uintptr_t)p % 16 == 0);
        CHECK(p != prev);
        if (prev && prev_n)
            CHECK(prev[0] == 'x' && prev[prev_n - 1] == 'y');
        if (n) {
            p[0] = 'x';
            p[n - 1] = 'y';
        }
        prev = p;
        prev_n = n;
    }
    char *big = r3_palloc(pool, (size_t)3 << 20);   /* its own chunk */
    CHECK(big);
    memset(big, 1, (size_t)3 << 20);
    CHECK(r3_palloc(pool, SIZE_MAX) == NULL && errno == ENOMEM);
    CHECK(r3_palloc(pool, SIZE_MAX - 8) == NULL && errno == ENOMEM);
    CHECK(r3_pfree(pool, big) == -ENOTSUP);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0);
    CHECK(st.kind == R3_POOL_REGION && st.blocks_in_use >= 2 && st.blocks_total == st.blocks_in_use);
    CHECK(st.bytes_in_use >= ((size_t)3 << 20) && st.bytes_reserved >= st.bytes_in_use);
    CHECK(r3_pool_check(pool) == 0);
    r3_pool_destroy(pool);
}

static void test_children_and_cleanups(void)
{
    static const char names[] = "abcdefgh";
    r3_pool_t *root = r3_pool_create_region(NULL);
    r3_pool_t *child = r3_pool_create_region(root);
    r3_pool_t *grandchild = r3_pool_create_region(child);
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = 24;
    o.block_count = 4;
    o.parent = child;
    r3_pool_t *fixed_child = r3_pool_create_ex(&o);
    CHECK(root && child && grandchild && fixed_child);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(child, &st) == 0 && st.children == 2);

    order_len = 0;
    CHECK(r3_pool_cleanup_register(root, (void *)&names[0], note) == 0);
    CHECK(r3_pool_cleanup_register(root, (void *)&names[1], note) == 0);
    CHECK(r3_pool_cleanup_register(child, (void *)&names[2], note) == 0);
    CHECK(r3_pool_cleanup_register(grandchild, (void *)&names[3], note) == 0);
    CHECK(r3_pool_cleanup_register(fixed_child, (void *)&names[4], note) == 0);
    CHECK(r3_pool_cleanup_register(fixed_child, (void *)&names[5], note) == 0);
    CHECK(r3_pool_cleanup_register(root, (void *)&names[6], note) == 0);
    CHECK(r3_pool_cleanup_kill(root, (void *)&names[6], note) == 0);
    CHECK(r3_pool_cleanup_kill(root, (void *)&names[6], note) == -ENOENT);
    CHECK(r3_pool_cleanup_register(root, (void *)&names[7], NULL) == -EINVAL);

    /* Clear: the children die first (depth first, each child's cleanups
     * newest first), then the pool's own cleanups, newest first. */
    r3_pool_clear(root);
    CHECK(strcmp(order, "fedcba") == 0 || strcmp(order, "dfecba") == 0);
    CHECK(r3_pool_stats_get(root, &st) == 0 && st.children == 0);

    /* The cleared pool is usable and its cleanups are gone. */
    order_len = 0;
    order[0] = '\0';
    CHECK(r3_palloc(root, 10));
    CHECK(r3_pool_cleanup_register(root, (void *)&names[0], note) == 0);
    r3_pool_t *again = r3_pool_create_region(root);
    CHECK(r3_pool_cleanup_register(again, (void *)&names[1], note) == 0);
    r3_pool_destroy(again);               /* destroying a child alone */
    CHECK(strcmp(order, "b") == 0);
    CHECK(r3_pool_stats_get(root, &st) == 0 && st.children == 0);
    r3_pool_destroy(root);
    CHECK(strcmp(order, "ba") == 0);
}

static size_t mixed_size(int i)
{
    return 16 + (size_t)(i % 7) * 16;
}

static void test_clear_keeps_memory(void)
{
    r3_pool_t *pool = r3_pool_create_region(NULL);
    CHECK(pool);
    check_clear_reuses_memory(pool, 3000, mixed_size, r3_palloc, r3_pcalloc, r3_pool_clear);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0 && st.blocks_total > 1);   /* several chunks */
    r3_pool_destroy(pool);
}

static void test_capacity(void)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.kind = R3_POOL_REGION;
    o.block_size = 8192;
    o.capacity = 64 << 10;
    r3_pool_t *pool = r3_pool_create_ex(&o);
    CHECK(pool);
    size_t got = 0;
    while (r3_palloc(pool, 1000))
        got += 1000;
    CHECK(errno == ENOMEM);
    CHECK(got > 40000 && got <= 64 << 10);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0 && st.bytes_reserved <= 64 << 10);
    CHECK(r3_pool_check(pool) == 0);
    r3_pool_destroy(pool);
}

static void test_thread_safe_region(void)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.kind = R3_POOL_REGION;
    o.thread_safe = 1;
    r3_pool_t *pool = r3_pool_create_ex(&o);
    CHECK(pool && r3_palloc(pool, 100) && r3_pool_check(pool) == 0);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(pool, &st) == 0 && st.lock_waits == 0);   /* one thread: never waits */
    r3_pool_destroy(pool);
}

int main(void)
{
    test_any_size();
    test_children_and_cleanups();
    test_clear_keeps_memory();
    test_capacity();
    test_thread_safe_region();
    puts("pool region: ok");
    return 0;
}
