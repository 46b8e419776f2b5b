/* Every bad input gets a clear error in the release build: NULL pools,
 * zero and overflowing sizes, unknown nodes and CPUs, a pointer not from
 * the pool, an interior pointer, a block freed twice, a destroyed parent. */
#include "r3pool.h"
#include "pool_test.h"
#include <errno.h>
#include <stdint.h>

#define EXPECT_NULL(call, code) do { errno = 0; CHECK((call) == NULL); CHECK(errno == (code)); } while (0)
#define EXPECT_RC(call, code) do { errno = 0; CHECK((call) == -(code)); CHECK(errno == (code)); } while (0)

static void test_null_pool(void)
{
    r3_pool_stats st;
    EXPECT_NULL(r3_palloc(NULL, 8), EINVAL);
    EXPECT_NULL(r3_pcalloc(NULL, 8), EINVAL);
    EXPECT_RC(r3_pfree(NULL, &st), EINVAL);
    EXPECT_RC(r3_pool_stats_get(NULL, &st), EINVAL);
    EXPECT_RC(r3_pool_cleanup_register(NULL, NULL, free), EINVAL);
    EXPECT_RC(r3_pool_check(NULL), EINVAL);
    EXPECT_NULL(r3_pool_create_ex(NULL), EINVAL);
    EXPECT_NULL(r3_pool_percpu_alloc(NULL, 8), EINVAL);
    EXPECT_RC(r3_pool_percpu_free(NULL, &st), EINVAL);
    r3_pool_clear(NULL);
    r3_pool_destroy(NULL);
    r3_pool_percpu_destroy(NULL);
}

static void test_bad_sizes(void)
{
    EXPECT_NULL(r3_pool_create(0, 10), EINVAL);
    EXPECT_NULL(r3_pool_create(16, 0), EINVAL);
    EXPECT_NULL(r3_pool_create(SIZE_MAX, 2), EINVAL);
    EXPECT_NULL(r3_pool_create(SIZE_MAX / 16, SIZE_MAX / 16), EINVAL);
    EXPECT_NULL(r3_pool_create((size_t)1 << 32, (size_t)1 << 32), EINVAL);
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.kind = (r3_pool_kind)7;
    o.block_size = o.block_count = 1;
    EXPECT_NULL(r3_pool_create_ex(&o), EINVAL);
    o.kind = R3_POOL_REGION;
    o.block_size = SIZE_MAX;
    EXPECT_NULL(r3_pool_create_ex(&o), EINVAL);
    o = (r3_pool_options)R3_POOL_OPTIONS_INIT;
    o.kind = R3_POOL_REGION;
    EXPECT_NULL(r3_pool_percpu_create(&o), EINVAL);
    o.node = 4000;
    EXPECT_NULL(r3_pool_create_ex(&o), EINVAL);
    o.node = R3_POOL_ANY;
    o.cpu = R3_POOL_MAX_CPUS + 5;
    EXPECT_NULL(r3_pool_create_ex(&o), EINVAL);

    r3_pool_t *pool = r3_pool_create(32, 4);
    CHECK(pool);
    EXPECT_NULL(r3_palloc(pool, 33), EINVAL);
    EXPECT_NULL(r3_palloc(pool, SIZE_MAX), EINVAL);
    r3_pool_destroy(pool);
}

static void test_bad_frees(void)
{
    r3_pool_t *a = r3_pool_create(48, 16), *b = r3_pool_create(48, 16);
    CHECK(a && b);
    char *pa = r3_palloc(a, 48), *pb = r3_palloc(b, 48);
    CHECK(pa && pb);
    char local;
    void *heap = malloc(64);
    EXPECT_RC(r3_pfree(a, pb), EINVAL);           /* another pool's block */
    EXPECT_RC(r3_pfree(a, heap), EINVAL);         /* malloc's */
    EXPECT_RC(r3_pfree(a, &local), EINVAL);       /* the stack */
    EXPECT_RC(r3_pfree(a, (void *)(uintptr_t)16), EINVAL);
    EXPECT_RC(r3_pfree(a, pa + 16), EINVAL);      /* interior */
    EXPECT_RC(r3_pfree(a, pa + 48), EINVAL);      /* never handed out */
    CHECK(r3_pfree(a, pa) == 0);
    EXPECT_RC(r3_pfree(a, pa), EINVAL);           /* twice */
    CHECK(r3_pfree(a, NULL) == 0);
    CHECK(r3_pool_check(a) == 0 && r3_pool_check(b) == 0);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(a, &st) == 0 && st.blocks_in_use == 0);
    CHECK(r3_pool_stats_get(b, &st) == 0 && st.blocks_in_use == 1);
    EXPECT_RC(r3_pool_stats_get(a, NULL), EINVAL);
    free(heap);
    r3_pool_destroy(a);
    r3_pool_destroy(b);
}

static void test_destroyed_pool(void)
{
    /* In the release build a destroyed pool whose descriptor has not been
     * reused is refused with EINVAL (the debug build aborts, see
     * test_pool_debug.c). */
    r3_pool_t *parent = r3_pool_create_region(NULL);
    CHECK(parent);
    r3_pool_destroy(parent);
    EXPECT_NULL(r3_palloc(parent, 8), EINVAL);
    EXPECT_NULL(r3_pool_create_region(parent), EINVAL);
    r3_pool_destroy(parent);   /* a second destroy is refused, not a crash */
}

static void test_set_owned_subpool(void)
{
    r3_pool_percpu_t *set = make_set(64, 8);
    r3_pool_t *sub = r3_pool_percpu_get(set, 0);
    CHECK(sub);
    EXPECT_NULL(r3_pool_percpu_get(set, -1), EINVAL);
    errno = 0;
    r3_pool_destroy(sub);      /* refused: the set owns it */
    CHECK(errno == EINVAL);
    CHECK(r3_palloc(sub, 64));
    char local;
    EXPECT_RC(r3_pool_percpu_free(set, &local), EINVAL);
    EXPECT_RC(r3_pool_percpu_cpu_of(set, &local), EINVAL);
    void *p = r3_pool_percpu_alloc(set, 64);
    CHECK(p);
    CHECK(r3_pool_percpu_free(set, p) == 0);
    EXPECT_RC(r3_pool_percpu_free(set, p), EINVAL);
    EXPECT_NULL(r3_pool_percpu_alloc(set, 65), EINVAL);
    r3_pool_percpu_destroy(set);
}

int main(void)
{
    test_null_pool();
    test_bad_sizes();
    test_bad_frees();
    test_destroyed_pool();
    test_set_owned_subpool();
    puts("pool errors: ok");
    return 0;
}
