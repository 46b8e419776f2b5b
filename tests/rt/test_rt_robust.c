/* Every bad input to the real-time heap is rejected with the documented
 * error and changes nothing: bad handles, use before init, foreign,
 * interior, misaligned and double-freed pointers (including a block already
 * merged into its neighbour), impossible sizes and alignments, exhaustion;
 * and ABORT_ON_MISUSE aborts with the one-line report. */
#define _GNU_SOURCE
#include "r3rt.h"
#include "rt_test.h"
#include "../common/child.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define HEAP_SIZE ((size_t)1 << 20)

static uint64_t rejected(r3_rt_heap *h)
{
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(h, &s), 0);
    return s.rejected;
}

/* One bad free: -EINVAL, counted, heap intact. */
static void expect_bad_free(r3_rt_heap *h, void *p)
{
    uint64_t before = rejected(h);
    CHECK_EQ(r3_rt_free(h, p), -EINVAL);
    errno = 0;
    CHECK(r3_rt_realloc(h, p, 64) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(r3_rt_usable_size(h, p), 0);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rejected(h), before + 3);
    CHECK_EQ(r3_rt_check(h), 0);
}

static void bad_construction(void)
{
    static char small[64];
    errno = 0;
    CHECK(r3_rt_init(NULL, HEAP_SIZE) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_init(small, sizeof small) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_init_flags(small, sizeof small, 1u << 20) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_create(0, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_create(4096, 1u << 20) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_create(SIZE_MAX - 100, 0) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(r3_rt_create((size_t)1 << 50, 0) == NULL && errno == ENOMEM);  /* beyond TLSF */
    CHECK(r3_rt_min_size() < 64 * 1024);
}

/* No heap at all: NULL names the default heap, which does not exist. */
static void use_before_init(void)
{
    CHECK(r3_rt_default() == NULL);
    errno = 0;
    CHECK(r3_rt_malloc(NULL, 16) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_memalign(NULL, 64, 16) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(r3_rt_calloc(NULL, 2, 16) == NULL && errno == EINVAL);
    int x;
    CHECK_EQ(r3_rt_free(NULL, &x), -EINVAL);
    CHECK_EQ(r3_rt_free(NULL, NULL), 0);
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(NULL, &s), -EINVAL);
    CHECK(r3_rt_check(NULL) < 0);
    CHECK_EQ(r3_rt_set_default(NULL), 0);
}

static void dead_handle(void)
{
    char *mem = malloc(HEAP_SIZE);
    r3_rt_heap *h = r3_rt_init(mem, HEAP_SIZE);
    CHECK(h);
    void *p = r3_rt_malloc(h, 100);
    CHECK(p);
    CHECK_EQ(r3_rt_set_default(h), 0);
    CHECK(r3_rt_default() == h);
    CHECK(r3_rt_malloc(NULL, 10) != NULL);      /* the default heap */
    CHECK_EQ(r3_rt_destroy(h), 0);
    CHECK(r3_rt_default() == NULL);             /* destroying clears the default */
    CHECK_EQ(r3_rt_destroy(h), -EINVAL);
    errno = 0;
    CHECK(r3_rt_malloc(h, 16) == NULL && errno == EINVAL);
    CHECK_EQ(r3_rt_free(h, p), -EINVAL);
    CHECK_EQ(r3_rt_set_default(h), -EINVAL);
    CHECK(r3_rt_check(h) < 0);
    free(mem);
}

static void bad_pointers(void)
{
    r3_rt_heap *h = r3_rt_create(HEAP_SIZE, 0);
    r3_rt_heap *other = r3_rt_create(HEAP_SIZE, 0);
    CHECK(h && other);
    char *a = r3_rt_malloc(h, 256), *b = r3_rt_malloc(h, 256), *c = r3_rt_malloc(h, 256);
    char *d = r3_rt_malloc(h, 256), *e = r3_rt_malloc(h, 256);
    CHECK(a && b && c && d && e);
    memset(a, 'a', 256);
    memset(e, 'e', 256);
    int on_stack;
    char *foreign = malloc(64);
    char *theirs = r3_rt_malloc(other, 64);

    expect_bad_free(h, &on_stack);
    expect_bad_free(h, foreign);
    expect_bad_free(h, theirs);
    expect_bad_free(h, a + 16);            /* interior, 16-aligned */
    expect_bad_free(h, a + 1);             /* misaligned */
    expect_bad_free(h, a + 128);
    expect_bad_free(h, (char *)h);         /* the heap's own bookkeeping */
    expect_bad_free(h, (char *)h + HEAP_SIZE * 2);

    CHECK_EQ(r3_rt_free(h, c), 0);
    expect_bad_free(h, c);                 /* plain double free */
    CHECK_EQ(r3_rt_free(h, b), 0);         /* b merges with c */
    expect_bad_free(h, c);                 /* c's stale header lies in b now */
    expect_bad_free(h, b);
    CHECK_EQ(r3_rt_free(h, d), 0);         /* b, c, d one free block */
    expect_bad_free(h, d);
    expect_bad_free(h, c);

    /* Nothing was lost: the live blocks kept their contents. */
    for (int i = 0; i < 256; i++)
        CHECK(a[i] == 'a' && e[i] == 'e');
    CHECK_EQ(r3_rt_free(h, a), 0);
    CHECK_EQ(r3_rt_free(h, e), 0);
    CHECK_EQ(r3_rt_free(other, theirs), 0);
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(h, &s), 0);
    CHECK_EQ(s.blocks_used, 0);
    CHECK_EQ(s.bytes_free, s.capacity);
    free(foreign);
    CHECK_EQ(r3_rt_destroy(h), 0);
    CHECK_EQ(r3_rt_destroy(other), 0);
}

static void impossible_requests(void)
{
    r3_rt_heap *h = r3_rt_create(HEAP_SIZE, 0);
    CHECK(h);
    errno = 0;
    CHECK(r3_rt_malloc(h, SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(r3_rt_malloc(h, 2 * HEAP_SIZE) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(r3_rt_calloc(h, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    size_t bad_aligns[] = {0, 3, 24, 48, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad_aligns / sizeof *bad_aligns; i++) {
        errno = 0;
        CHECK(r3_rt_memalign(h, bad_aligns[i], 16) == NULL && errno == EINVAL);
    }
    errno = 0;
    CHECK(r3_rt_memalign(h, (size_t)1 << 40, 16) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(r3_rt_memalign(h, (size_t)1 << 63, 16) == NULL && errno == ENOMEM);

    /* A failed realloc leaves the block as it was. */
    char *p = r3_rt_malloc(h, 100);
    CHECK(p);
    memset(p, 'p', 100);
    errno = 0;
    CHECK(r3_rt_realloc(h, p, SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(r3_rt_realloc(h, p, 2 * HEAP_SIZE) == NULL && errno == ENOMEM);
    for (int i = 0; i < 100; i++)
        CHECK(p[i] == 'p');
    CHECK(r3_rt_usable_size(h, p) >= 100);
    /* realloc(p, 0) frees; realloc(NULL, n) allocates. */
    CHECK(r3_rt_realloc(h, p, 0) == NULL);
    CHECK_EQ(r3_rt_free(h, p), -EINVAL);
    p = r3_rt_realloc(h, NULL, 10);
    CHECK(p);
    CHECK_EQ(r3_rt_free(h, p), 0);
    CHECK_EQ(r3_rt_check(h), 0);
    CHECK_EQ(r3_rt_destroy(h), 0);
}

/* Fill the heap to exhaustion, then empty it: ENOMEM, counted, and the
 * whole capacity comes back. */
static void exhaustion(void)
{
    r3_rt_heap *h = r3_rt_create(HEAP_SIZE, R3_RT_PREFAULT);
    CHECK(h);
    enum { MAX = HEAP_SIZE / 64 };
    static void *blocks[MAX];
    size_t n = 0;
    for (size_t size = 4096; size >= 16; size /= 2)
        for (void *p; (p = r3_rt_malloc(h, size)) != NULL;)
            blocks[n++] = p;
    errno = 0;
    CHECK(r3_rt_malloc(h, 1) == NULL && errno == ENOMEM);
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(h, &s), 0);
    CHECK(s.failed >= 10);
    CHECK(s.bytes_free < 32);
    CHECK_EQ(r3_rt_check(h), 0);
    for (size_t i = 0; i < n; i += 2)       /* free every other: fragmented */
        CHECK_EQ(r3_rt_free(h, blocks[i]), 0);
    CHECK_EQ(r3_rt_check(h), 0);
    for (size_t i = 1; i < n; i += 2)
        CHECK_EQ(r3_rt_free(h, blocks[i]), 0);
    CHECK_EQ(r3_rt_get_stats(h, &s), 0);
    CHECK_EQ(s.bytes_free, s.capacity);
    CHECK(r3_rt_malloc(h, s.capacity / 2) != NULL);
    CHECK_EQ(r3_rt_destroy(h), 0);
}

/* With ABORT_ON_MISUSE a bad free prints one line and aborts. */
static void free_twice_with_abort(void)
{
    r3_rt_heap *h = r3_rt_create(HEAP_SIZE, R3_RT_ABORT_ON_MISUSE);
    char *p = r3_rt_malloc(h, 64);
    r3_rt_free(h, p);
    r3_rt_free(h, p);
}

static void abort_on_misuse(void)
{
    struct child_result r;
    CHECK(child_aborts_with(free_twice_with_abort, "r3malloc: r3_rt_free: not a live block 0x", &r));
}

int main(void)
{
    bad_construction();
    use_before_init();
    dead_handle();
    bad_pointers();
    impossible_requests();
    exhaustion();
    abort_on_misuse();
    puts("test_rt_robust: ok");
    return 0;
}
