/* Fixed pools under 8 threads with cross-thread frees: a thread-safe pool
 * and a per-CPU set. In each round every thread allocates a batch, tags
 * each block, and frees the batch its neighbour allocated in the previous
 * round after checking the tags, so allocation and remote frees overlap. */
#include "r3pool.h"
#include "pool_test.h"
#include <pthread.h>
#include <stdint.h>

enum { THREADS = 8, ROUNDS = 60, BATCH = 64, BLOCK = 48 };

typedef struct block_tag { uint32_t thread, round, index, check; } block_tag;

static r3_pool_t *shared_pool;
static r3_pool_percpu_t *set;
static block_tag *batches[2][THREADS][BATCH];
static pthread_barrier_t barrier;

static void *alloc_block(void)
{
    return set ? r3_pool_percpu_alloc(set, BLOCK) : r3_palloc(shared_pool, BLOCK);
}

static int free_block(void *p)
{
    return set ? r3_pool_percpu_free(set, p) : r3_pfree(shared_pool, p);
}

static void *worker(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg, left = (me + THREADS - 1) % THREADS;
    for (uint32_t round = 0; round <= ROUNDS; round++) {
        block_tag **mine = batches[round % 2][me];
        block_tag **theirs = batches[(round + 1) % 2][left];
        if (round < ROUNDS)
            for (uint32_t i = 0; i < BATCH; i++) {
                block_tag *t = alloc_block();
                CHECK(t);
                *t = (block_tag){ me, round, i, me * 7919u + round * 31u + i };
                mine[i] = t;
            }
        if (round > 0)
            for (uint32_t i = 0; i < BATCH; i++) {
                block_tag *t = theirs[i];
                CHECK(t->thread == left && t->round == round - 1 && t->index == i);
                CHECK(t->check == left * 7919u + (round - 1) * 31u + i);
                CHECK(free_block(t) == 0);
            }
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

static void run_threads(void)
{
    pthread_t t[THREADS];
    CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
}

int main(void)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = BLOCK;
    o.block_count = 128;
    o.thread_safe = 1;
    shared_pool = r3_pool_create_ex(&o);
    CHECK(shared_pool);
    run_threads();
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(shared_pool, &st) == 0 && st.blocks_in_use == 0);
    CHECK(r3_pool_check(shared_pool) == 0);
    r3_pool_destroy(shared_pool);

    set = r3_pool_percpu_create(&o);
    CHECK(set);
    run_threads();
    CHECK(r3_pool_percpu_stats(set, &st) == 0 && st.blocks_in_use == 0);
    for (int cpu = 0; cpu < r3_pool_percpu_count(set); cpu++)
        CHECK(r3_pool_check(r3_pool_percpu_get(set, cpu)) == 0);
    /* The blocks that went to remote lists come back on later allocations. */
    void *p = r3_pool_percpu_alloc(set, BLOCK);
    CHECK(p && r3_pool_percpu_free(set, p) == 0);
    r3_pool_percpu_clear(set);
    CHECK(r3_pool_percpu_stats(set, &st) == 0 && st.blocks_in_use == 0);
    r3_pool_percpu_destroy(set);
    puts("pool threads: ok");
    return 0;
}
