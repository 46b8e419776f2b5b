/* Destroying a pool that held 512 MiB returns it: the process's resident
 * set, read from /proc/self/statm, drops back (within 32 MiB) after the
 * destroy, for a fixed pool and for a region pool. */
#include "r3pool.h"
#include "pool_test.h"

#define MIB ((size_t)1 << 20)
#define HELD (512 * MIB)
#define SLACK (32 * MIB)

static void fill_and_destroy(r3_pool_t *pool, size_t n, size_t count)
{
    long base = rss_kib() * 1024;
    for (size_t i = 0; i < count; i++) {
        char *p = r3_palloc(pool, n);
        CHECK(p);
        memset(p, 0x5a, n);
    }
    long full = rss_kib() * 1024;
    CHECK(full - base >= (long)(HELD - SLACK));
    r3_pool_destroy(pool);
    long after = rss_kib() * 1024;
    printf("rss: before %ld MiB, full %ld MiB, after destroy %ld MiB\n",
           base >> 20, full >> 20, after >> 20);
    CHECK(after - base <= (long)SLACK);
}

int main(void)
{
    fill_and_destroy(r3_pool_create(64 << 10, HELD / (64 << 10)), 64 << 10, HELD / (64 << 10));
    r3_pool_t *region = r3_pool_create_region(NULL);
    CHECK(region);
    fill_and_destroy(region, 1000, HELD / 1000);
    puts("pool rss: ok");
    return 0;
}
