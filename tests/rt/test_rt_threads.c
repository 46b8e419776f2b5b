/* Concurrent use of one real-time heap: two threads allocate, write, verify
 * and free (and pass blocks to each other) on a blocking heap and on a
 * NONBLOCKING heap, where every call either succeeds or answers EBUSY and
 * changes nothing, while the main thread reads stats and runs the checker.
 * The heap checks clean afterwards. */
#include "r3rt.h"
#include "rt_test.h"
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define THREADS 2
#define OPS 40000
#define SLOTS 64

struct worker {
    r3_rt_heap *heap;
    uint64_t seed;
    unsigned long busy;
};

/* Blocks a thread hands over: freed by whichever thread takes them. */
static void *_Atomic mailbox[SLOTS];

static void stamp(unsigned char *p, size_t n, unsigned char v) { memset(p, v, n); }
static void expect(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        CHECK(p[i] == v);
}

/* Retries an operation that answered EBUSY: the caller's choice on a
 * NONBLOCKING heap. */
static int free_retry(struct worker *w, void *p)
{
    int rc;
    while ((rc = r3_rt_free(w->heap, p)) == -EBUSY)
        w->busy++;
    return rc;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    rng r = {w->seed};
    struct { unsigned char *p; size_t n; unsigned char v; } mine[SLOTS] = {{0}};
    for (unsigned i = 0; i < OPS; i++) {
        unsigned k = (unsigned)rng_below(&r, SLOTS);
        if (mine[k].p) {
            expect(mine[k].p, mine[k].n, mine[k].v);
            if (rng_below(&r, 4) == 0) {
                /* Hand the block over; whatever was in the mailbox is ours to free. */
                stamp(mine[k].p, mine[k].n, 0x5a);
                void *old = atomic_exchange(&mailbox[k], mine[k].p);
                if (old)
                    CHECK_EQ(free_retry(w, old), 0);
            } else {
                CHECK_EQ(free_retry(w, mine[k].p), 0);
            }
            mine[k].p = NULL;
            continue;
        }
        size_t n = rng_size(&r, 2048);
        errno = 0;
        unsigned char *p = rng_below(&r, 2) ? r3_rt_malloc(w->heap, n)
                                            : r3_rt_memalign(w->heap, 64, n);
        if (!p) {
            CHECK(errno == EBUSY || errno == ENOMEM);
            w->busy += errno == EBUSY;
            continue;
        }
        mine[k].p = p;
        mine[k].n = n;
        mine[k].v = (unsigned char)(i | 1);
        stamp(p, n, mine[k].v);
        if (rng_below(&r, 3) == 0) {
            size_t m = rng_size(&r, 4096);
            unsigned char *q = r3_rt_realloc(w->heap, p, m);
            if (q) {
                expect(q, n < m ? n : m, mine[k].v);
                mine[k].p = q;
                mine[k].n = m;
                stamp(q, m, mine[k].v);
            } else {
                CHECK(errno == EBUSY || errno == ENOMEM);
                w->busy += errno == EBUSY;
            }
        }
    }
    for (unsigned k = 0; k < SLOTS; k++)
        if (mine[k].p)
            CHECK_EQ(free_retry(w, mine[k].p), 0);
    return NULL;
}

static unsigned long run(unsigned flags)
{
    r3_rt_heap *h = r3_rt_create((size_t)4 << 20, flags);
    CHECK(h);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){h, 100 + (uint64_t)i, 0};
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    /* Stats and the checker are safe while the heap is in use. */
    for (int i = 0; i < 200; i++) {
        r3_rt_stats s;
        CHECK_EQ(r3_rt_get_stats(h, &s), 0);
        CHECK(s.bytes_used <= s.capacity);
        if (i % 20 == 0)
            CHECK_EQ(r3_rt_check(h), 0);
    }
    unsigned long busy = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        busy += w[i].busy;
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        void *p = atomic_exchange(&mailbox[k], NULL);
        if (p) {
            expect(p, 1, 0x5a);
            CHECK_EQ(r3_rt_free(h, p), 0);
        }
    }
    CHECK_EQ(r3_rt_check(h), 0);
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(h, &s), 0);
    CHECK_EQ(s.blocks_used, 0);
    CHECK_EQ(s.bytes_free, s.capacity);
    CHECK_EQ(s.rejected, 0);
    CHECK_EQ(s.busy, busy);                  /* every EBUSY answer is counted */
    CHECK_EQ(r3_rt_destroy(h), 0);
    return busy;
}

static atomic_bool checking;

/* Holds the heap's lock most of the time: r3_rt_check walks every block. */
static void *check_repeatedly(void *heap)
{
    while (atomic_load(&checking))
        CHECK_EQ(r3_rt_check(heap), 0);
    return NULL;
}

/* EBUSY for certain: a NONBLOCKING heap whose lock another thread keeps
 * taking answers EBUSY to malloc and free, and the call changes nothing. */
static void busy_is_reported(void)
{
    r3_rt_heap *h = r3_rt_create((size_t)1 << 20, R3_RT_NONBLOCKING);
    CHECK(h);
    for (int i = 0; i < 2000; i++)
        CHECK(r3_rt_malloc(h, 64));
    atomic_store(&checking, true);
    pthread_t checker;
    CHECK(pthread_create(&checker, NULL, check_repeatedly, h) == 0);
    unsigned long malloc_busy = 0, free_busy = 0;
    /* Contention needs both threads on a CPU at once; on a loaded machine
     * that can take a while, so the loop is bounded by time, not attempts. */
    time_t give_up = time(NULL) + 120;
    for (long attempt = 0; !(malloc_busy && free_busy); attempt++) {
        if ((attempt & 1023) == 0 && time(NULL) > give_up)
            break;
        errno = 0;
        void *p = r3_rt_malloc(h, 32);
        if (!p) {
            CHECK_EQ(errno, EBUSY);
            malloc_busy++;
            continue;
        }
        int rc;
        while ((rc = r3_rt_free(h, p)) == -EBUSY)
            free_busy++;
        CHECK_EQ(rc, 0);
    }
    atomic_store(&checking, false);
    CHECK(pthread_join(checker, NULL) == 0);
    if (!(malloc_busy && free_busy))
        printf("test_rt_threads: the checker never overlapped a call in 120 s; "
               "EBUSY accounting checked on %lu answers only\n", malloc_busy + free_busy);
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(h, &s), 0);
    CHECK_EQ(s.busy, malloc_busy + free_busy);
    CHECK_EQ(s.blocks_used, 2000);
    CHECK_EQ(r3_rt_check(h), 0);
    CHECK_EQ(r3_rt_destroy(h), 0);
}

int main(void)
{
    busy_is_reported();
    CHECK_EQ(run(0), 0);                     /* a blocking heap never says EBUSY */
    unsigned long busy = run(R3_RT_NONBLOCKING);
    printf("test_rt_threads: ok (%lu EBUSY answers on the non-blocking heap)\n", busy);
    return 0;
}
