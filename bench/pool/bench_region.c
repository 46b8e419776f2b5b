/* Region-pool benchmark: the same allocation pattern through r3 region
 * pools, APR pools, talloc, and malloc/free (glibc, or any allocator
 * preloaded with LD_PRELOAD).
 *
 *   bench_region IMPL PATTERN ITERATIONS
 *   IMPL     r3 | apr | talloc | malloc
 *   PATTERN  request: create a pool, 256 allocations of 16..256 bytes,
 *                     destroy it (malloc: free the 256 blocks)
 *            bulk:    one pool, 10000 allocations of 16..128 bytes, then
 *                     clear it (malloc: free them all)
 *
 * Prints the CPU nanoseconds per allocation (creation, clear and destruction
 * included). Exit 77 when IMPL was not built in (missing package). */
#include "bench_common.h"
#include "r3pool.h"
#ifdef HAVE_APR
#include <apr_pools.h>
#endif
#ifdef HAVE_TALLOC
#include <talloc.h>
#endif

enum { REQUEST_ALLOCS = 256, BULK_ALLOCS = 10000 };

typedef struct impl {
    const char *name;
    void *(*create)(void);
    void *(*alloc)(void *pool, size_t n);
    void (*clear)(void *pool);
    void (*destroy)(void *pool);
} impl;

static void *r3_create(void) { return r3_pool_create_region(NULL); }
static void *r3_alloc(void *p, size_t n) { return r3_palloc(p, n); }
static void r3_clear(void *p) { r3_pool_clear(p); }
static void r3_destroy(void *p) { r3_pool_destroy(p); }

#ifdef HAVE_APR
static void *apr_create(void)
{
    apr_pool_t *p = NULL;
    apr_pool_create(&p, NULL);
    return p;
}
static void *apr_alloc(void *p, size_t n) { return apr_palloc(p, n); }
static void apr_clear(void *p) { apr_pool_clear(p); }
static void apr_destroy(void *p) { apr_pool_destroy(p); }
#endif

#ifdef HAVE_TALLOC
static void *talloc_create(void) { return talloc_new(NULL); }
static void *talloc_alloc(void *p, size_t n) { return talloc_size(p, n); }
static void talloc_clear(void *p) { talloc_free_children(p); }
static void talloc_destroy(void *p) { talloc_free(p); }
#endif

/* malloc has no pools: the "pool" remembers its blocks and frees them. */
typedef struct malloc_pool { size_t count; void *blocks[BULK_ALLOCS]; } malloc_pool;
static void *malloc_create(void) { malloc_pool *m = malloc(sizeof *m); m->count = 0; return m; }
static void *malloc_alloc(void *p, size_t n)
{
    malloc_pool *m = p;
    return m->blocks[m->count++] = malloc(n);
}
static void malloc_clear(void *p)
{
    malloc_pool *m = p;
    for (size_t i = 0; i < m->count; i++)
        free(m->blocks[i]);
    m->count = 0;
}
static void malloc_destroy(void *p) { malloc_clear(p); free(p); }

static const impl impls[] = {
    { "r3", r3_create, r3_alloc, r3_clear, r3_destroy },
#ifdef HAVE_APR
    { "apr", apr_create, apr_alloc, apr_clear, apr_destroy },
#endif
#ifdef HAVE_TALLOC
    { "talloc", talloc_create, talloc_alloc, talloc_clear, talloc_destroy },
#endif
    { "malloc", malloc_create, malloc_alloc, malloc_clear, malloc_destroy },
};

static size_t sizes[BULK_ALLOCS];

static void request(const impl *im, long iterations)
{
    for (long it = 0; it < iterations; it++) {
        void *pool = im->create();
        for (size_t i = 0; i < REQUEST_ALLOCS; i++) {
            char *p = im->alloc(pool, sizes[i]);
            p[0] = (char)i;
            bench_sink += (uintptr_t)p;
        }
        im->destroy(pool);
    }
}

static void bulk(const impl *im, long iterations)
{
    void *pool = im->create();
    for (long it = 0; it < iterations; it++) {
        for (size_t i = 0; i < BULK_ALLOCS; i++) {
            char *p = im->alloc(pool, sizes[i]);
            p[0] = (char)i;
            bench_sink += (uintptr_t)p;
        }
        im->clear(pool);
    }
    im->destroy(pool);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s r3|apr|talloc|malloc request|bulk ITERATIONS\n", argv[0]);
        return 2;
    }
    const impl *im = NULL;
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (strcmp(argv[1], impls[i].name) == 0)
            im = &impls[i];
    if (!im) {
        printf("SKIP: %s not built in\n", argv[1]);
        return SKIP_CODE;
    }
#ifdef HAVE_APR
    apr_initialize();
#endif
    long iterations = arg_long(argv[3]);
    bool is_bulk = strcmp(argv[2], "bulk") == 0;
    if (!is_bulk && strcmp(argv[2], "request") != 0)
        return 2;
    fill_sizes(sizes, BULK_ALLOCS, 16, is_bulk ? 128 : 256);
    /* One untimed round warms caches and the pools' chunk caches. */
    if (is_bulk)
        bulk(im, 1);
    else
        request(im, 1);
    uint64_t t0 = cpu_ns();
    if (is_bulk)
        bulk(im, iterations);
    else
        request(im, iterations);
    uint64_t t1 = cpu_ns();
    double allocs = (double)iterations * (is_bulk ? BULK_ALLOCS : REQUEST_ALLOCS);
    report((double)(t1 - t0) / allocs, (double)(t1 - t0) / allocs);
    return 0;
}
