/* Fixed-pool benchmark: batches of blocks of one size allocated and then
 * freed, through an r3 fixed pool (unsynchronised or thread-safe) or
 * malloc/free (glibc, or the allocator preloaded with LD_PRELOAD).
 *
 *   bench_fixed IMPL SIZE ITERATIONS
 *   IMPL  pool | pool-locked | malloc | bare-list
 *
 * bare-list is the floor: an intrusive free list over one array, with no
 * checks at all, in the same loop.
 *
 * Each iteration allocates 1000 blocks, writes to each, then frees them in
 * a shuffled order; every implementation runs the same loop (BATCHES).
 * Prints CPU nanoseconds per allocation+free pair. */
#include "bench_common.h"
#include "r3pool.h"

enum { BATCH = 1000 };

typedef struct bare_block { struct bare_block *next; } bare_block;
static bare_block *bare_list;
static char *bare_area;

static inline void *bare_alloc(void)
{
    bare_block *b = bare_list;
    bare_list = b->next;
    return b;
}

static inline void bare_free(void *p)
{
    bare_block *b = p;
    b->next = bare_list;
    bare_list = b;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s pool|pool-locked|malloc SIZE ITERATIONS\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    size_t size = (size_t)arg_long(argv[2]);
    long iterations = arg_long(argv[3]);
    bool use_malloc = strcmp(name, "malloc") == 0, use_bare = strcmp(name, "bare-list") == 0;
    r3_pool_t *pool = NULL;
    if (use_bare) {
        size = (size + 15) & ~(size_t)15;
        bare_area = calloc(BATCH + 1, size);
        for (unsigned i = 0; i < BATCH; i++)
            bare_free(bare_area + (size_t)i * size);
    } else if (!use_malloc) {
        r3_pool_options o = R3_POOL_OPTIONS_INIT;
        o.block_size = size;
        o.block_count = BATCH;
        o.thread_safe = strcmp(name, "pool-locked") == 0;
        if (!o.thread_safe && strcmp(name, "pool") != 0)
            return 2;
        pool = r3_pool_create_ex(&o);
    }
    static void *blocks[BATCH];
    static unsigned order[BATCH];
    for (unsigned i = 0; i < BATCH; i++)
        order[i] = i;
    uint64_t x = 42;
    for (unsigned i = BATCH - 1; i > 0; i--) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned j = (unsigned)((x >> 33) % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    /* The timed loop, instantiated once per implementation below, so that
     * no implementation pays for choosing among them inside the loop.
     * Round -1 warms up. */
#define BATCHES(ALLOC, FREE)                                                   \
    for (long it = -1; it < iterations; it++) {                                \
        if (it == 0)                                                           \
            t0 = cpu_ns();                                                     \
        for (unsigned i = 0; i < BATCH; i++) {                                 \
            char *p = (ALLOC);                                                 \
            p[0] = (char)i;                                                    \
            blocks[i] = p;                                                     \
        }                                                                      \
        for (unsigned i = 0; i < BATCH; i++) {                                 \
            void *p = blocks[order[i]];                                        \
            bench_sink += *(char *)p;                                          \
            FREE;                                                              \
        }                                                                      \
    }
    uint64_t t0 = 0;
    if (use_bare)
        BATCHES(bare_alloc(), bare_free(p))
    else if (use_malloc)
        BATCHES(malloc(size), free(p))
    else
        BATCHES(r3_palloc(pool, size), r3_pfree(pool, p))
    uint64_t t1 = cpu_ns();
    double per_pair = (double)(t1 - t0) / ((double)iterations * BATCH);
    report(per_pair, per_pair);
    r3_pool_destroy(pool);
    return 0;
}
