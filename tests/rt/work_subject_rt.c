/* The real-time heap (r3rt.h) as a subject of the bounded-work test, with
 * its bounds derived from tlsf.c's counting (docs/realtime.md):
 *
 *   search  (find_suitable)   1 node,  <= 3 words  (SL word, FL word, SL word)
 *   unlink  (list_remove)     3 nodes, <= 2 words  (SL and FL bits cleared
 *                                                   when the list empties)
 *   link    (list_insert)     2 nodes,    2 words
 *
 *   malloc   = search + unlink + link (tail split; the successor of a free
 *              block is used, so the tail never merges)   = 6 nodes, 7 words
 *   memalign = search + unlink + link (front) + link (tail) = 8 nodes, 9 words
 *   free     = unlink (prev) + unlink (next) + link        = 8 nodes, 6 words
 *   realloc in place = unlink (next) + link (tail)         = 5 nodes, 4 words
 *   realloc moved    = failed resize (no work) + malloc + free
 *                                                          = 14 nodes, 13 words
 *
 * Lock attempts: 1 per operation, 2 for a moving realloc (it drops the
 * lock during the copy); one more each when a thread must wait, which a
 * single-threaded run never does. A NONBLOCKING heap makes exactly one
 * attempt in every operation, realloc included (it copies under the lock).
 */
#include "r3rt.h"
#include "rt_test.h"
#include "work_subject.h"
#include <string.h>

static void *rt_create(void *mem, size_t size) { return r3_rt_init(mem, size); }
static void *rt_create_nonblocking(void *mem, size_t size)
{
    return r3_rt_init_flags(mem, size, R3_RT_NONBLOCKING);
}
static void rt_destroy(void *heap) { r3_rt_destroy(heap); }
static uint64_t rt_alloc(void *heap, size_t size) { return (uintptr_t)r3_rt_malloc(heap, size); }
static int rt_free(void *heap, uint64_t block) { return r3_rt_free(heap, (void *)(uintptr_t)block); }
static uint64_t rt_realloc(void *heap, uint64_t block, size_t size)
{
    return (uintptr_t)r3_rt_realloc(heap, (void *)(uintptr_t)block, size);
}
static uint64_t rt_aligned(void *heap, size_t align, size_t size)
{
    return (uintptr_t)r3_rt_memalign(heap, align, size);
}
static int rt_check(void *heap) { return r3_rt_check(heap); }

static void rt_last_work(uint32_t out[W_FIELDS])
{
    r3_rt_work w;
    CHECK_EQ(r3_rt_last_work(&w), 0);
    out[W_LIST_NODES] = w.list_nodes;
    out[W_BITMAP_WORDS] = w.bitmap_words;
    out[W_LOCK_ATTEMPTS] = w.lock_attempts;
    out[W_TLSF_CALLS] = w.tlsf_calls;
    out[W_WORDS_CODED] = 0;
}

/* Builds [a][b][c][d][e][...full...] with every block used, so that any
 * block freed below is alone in its list and removing it clears its bits,
 * and no free block serves a small request from its own second level. */
#define SMALL 64            /* first level 0 */
#define LARGE 8192          /* a higher first level */

static void rt_worst_case(void *heap, enum work_op op, uint32_t out[W_FIELDS])
{
    char *a = r3_rt_malloc(heap, SMALL), *b = r3_rt_malloc(heap, LARGE);
    char *c = r3_rt_malloc(heap, SMALL), *d = r3_rt_malloc(heap, SMALL);
    char *e = r3_rt_malloc(heap, SMALL);
    CHECK(a && b && c && d && e);
    while (r3_rt_malloc(heap, 1 << 16) || r3_rt_malloc(heap, 4096) || r3_rt_malloc(heap, 16))
        ;
    /* An alignment that b's payload lacks, so memalign splits a front off. */
    size_t align = ((uintptr_t)b & -(uintptr_t)b) << 1;
    if (align < 256)
        align = 256;
    CHECK(align <= LARGE / 4);
    switch (op) {
    case OP_ALLOC:
        /* Search misses SL word, reads FL and the SL word of b's level (3
         * words); b's list empties (2); the tail is linked (2). */
        r3_rt_free(heap, b);
        CHECK(r3_rt_malloc(heap, SMALL));
        break;
    case OP_ALIGNED:
        /* As OP_ALLOC, plus the front gap linked as a free block. */
        r3_rt_free(heap, b);
        CHECK(r3_rt_memalign(heap, align, SMALL));
        break;
    case OP_FREE:
        /* Both neighbours of c are free, each alone in its list. */
        r3_rt_free(heap, b);
        r3_rt_free(heap, d);
        r3_rt_free(heap, c);
        break;
    case OP_REALLOC:
        /* c cannot grow into d (too small), so it moves: the new block is
         * cut from b as in OP_ALLOC, then c is freed between b's tail and
         * d, as in OP_FREE. */
        r3_rt_free(heap, b);
        r3_rt_free(heap, d);
        CHECK(r3_rt_realloc(heap, c, 8 * SMALL));
        break;
    default:
        memset(out, 0, sizeof(uint32_t) * W_FIELDS);
        return;
    }
    rt_last_work(out);
}

#define RT_OPERATIONS \
    .alloc = rt_alloc, .free = rt_free, .realloc = rt_realloc, .aligned = rt_aligned, \
    .destroy = rt_destroy, .last_work = rt_last_work, .check = rt_check, .worst_case = rt_worst_case

/* Bounds: list nodes, bitmap words, lock attempts, TLSF calls, words coded. */
#define RT_BOUNDS(realloc_locks) { \
        [OP_ALLOC]   = {{6, 0}, {7, 0}, {1, 0}, {1, 0}, {0, 0}}, \
        [OP_FREE]    = {{8, 0}, {6, 0}, {1, 0}, {1, 0}, {0, 0}}, \
        [OP_REALLOC] = {{14, 0}, {13, 0}, {realloc_locks, 0}, {3, 0}, {0, 0}}, \
        [OP_ALIGNED] = {{8, 0}, {9, 0}, {1, 0}, {1, 0}, {0, 0}}, \
    }

const struct work_subject work_subject_rt = {
    .name = "r3_rt",
    .create = rt_create,
    RT_OPERATIONS,
    .bound = RT_BOUNDS(2),
};

const struct work_subject work_subject_rt_nonblocking = {
    .name = "r3_rt NONBLOCKING",
    .create = rt_create_nonblocking,
    RT_OPERATIONS,
    .bound = RT_BOUNDS(1),
};
