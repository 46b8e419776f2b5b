/* Scaling benchmark: THREADS threads each allocate a batch of 16 blocks of
 * 64 bytes, write them and free them, over and over, from a per-CPU pool
 * set, from one shared thread-safe (locked) fixed pool, or with malloc.
 * One block in 16 is freed by the next thread instead (cross-thread free).
 *
 *   bench_percpu IMPL THREADS OPS_PER_THREAD
 *   IMPL  percpu | shared | malloc
 *
 * Prints the throughput in million allocation+free pairs per second
 * (wall clock, all threads together) and the CPU time per pair (all
 * threads), and for the pools the number of lock acquisitions per million
 * pairs that found the lock taken: a count of contention that does not
 * depend on how busy the machine is. */
#include "bench_common.h"
#include "r3pool.h"
#include <pthread.h>
#include <stdatomic.h>

enum { BATCH = 16, SIZE = 64, MAX_THREADS = 64 };

static r3_pool_percpu_t *set;
static r3_pool_t *shared;
static long rounds;
static int threads;
static pthread_barrier_t start;
/* One hand-off slot per thread: a block for the next thread to free. Each
 * slot has a cache line of its own, so that the benchmark adds no false
 * sharing of its own (between slots, or with the globals above, which
 * every call reads). */
static struct {
    _Alignas(64) _Atomic(void *) block;
} handoff[MAX_THREADS];

static void *alloc_one(void)
{
    if (set)
        return r3_pool_percpu_alloc(set, SIZE);
    if (shared)
        return r3_palloc(shared, SIZE);
    return malloc(SIZE);
}

static void free_one(void *p)
{
    if (set)
        r3_pool_percpu_free(set, p);
    else if (shared)
        r3_pfree(shared, p);
    else
        free(p);
}

static void *worker(void *arg)
{
    int me = (int)(uintptr_t)arg;
    void *blocks[BATCH];
    pthread_barrier_wait(&start);
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < BATCH; i++) {
            blocks[i] = alloc_one();
            *(long *)blocks[i] = r;
        }
        /* Pass one block to the next thread; free the one we were passed. */
        void *mine = atomic_exchange(&handoff[(me + 1) % threads].block, blocks[0]);
        if (mine)
            free_one(mine);
        for (int i = 1; i < BATCH; i++)
            free_one(blocks[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s percpu|shared|malloc THREADS OPS_PER_THREAD\n", argv[0]);
        return 2;
    }
    threads = (int)arg_long(argv[2]);
    if (threads > MAX_THREADS)
        return 2;
    rounds = arg_long(argv[3]) / BATCH;
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = SIZE;
    o.block_count = 4096;
    o.thread_safe = 1;
    if (strcmp(argv[1], "percpu") == 0)
        set = r3_pool_percpu_create(&o);
    else if (strcmp(argv[1], "shared") == 0)
        shared = r3_pool_create_ex(&o);
    else if (strcmp(argv[1], "malloc") != 0)
        return 2;
    pthread_t t[MAX_THREADS];
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    pthread_barrier_wait(&start);
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    uint64_t t1 = now_ns(), c1 = cpu_ns();
    for (int i = 0; i < threads; i++)
        if (handoff[i].block)
            free_one(handoff[i].block);
    double pairs = (double)threads * (double)rounds * BATCH;
    r3_pool_stats st = { 0 };
    if (set)
        r3_pool_percpu_stats(set, &st);
    else if (shared)
        r3_pool_stats_get(shared, &st);
    printf("lock_waits_per_mpair=%.1f ", (double)st.lock_waits / (pairs / 1e6));
    report(pairs / ((double)(t1 - t0) / 1e9) / 1e6, (double)(c1 - c0) / pairs);
    r3_pool_percpu_destroy(set);
    r3_pool_destroy(shared);
    return 0;
}
