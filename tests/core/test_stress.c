/* Multi-threaded stress of the r3_* API: 16 threads allocate blocks of 1 B
 * to 8 MiB (skewed to small), fill each with a pattern derived from its
 * address and size, and either keep them a while (resizing some) or pass
 * them through per-thread queues to other threads, which verify and free
 * them. Blocks still held when a thread exits are freed by the main thread
 * after the join. At the end r3_heap_check() must pass.
 *
 * Then hand-off rounds: the main thread fills pages of a few small classes,
 * four threads free the blocks while the main thread keeps allocating and
 * freeing blocks of the same classes, so that full pages come back whole
 * (and are given back to the system by the thread that frees their last
 * block) while their owner's slow paths run; every block is checked.
 *
 * Usage: test_stress [operations-per-thread [seconds]]; the run ends at
 * whichever limit comes first, so that slow (sanitizer) builds stay short. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "r3malloc.h"
#include "test_util.h"

#define THREADS 16
#define LOCAL_SLOTS 32
#define QUEUE_CAPACITY 64

struct block {
  unsigned char *p;
  size_t size;
  uint64_t seed;
};

/* A bounded queue of blocks travelling to one consumer thread. */
struct queue {
  pthread_mutex_t lock;
  struct block items[QUEUE_CAPACITY];
  size_t head, count;
};

static struct queue queues[THREADS];
static long operations_per_thread = 20000;
static double seconds_limit = 4.0;
static struct timespec started;
static atomic_long blocks_passed, blocks_resized;

struct worker {
  int id;
  pthread_t thread;
  struct block local[LOCAL_SLOTS];
};
static struct worker workers[THREADS];

static double elapsed(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - started.tv_sec) +
         (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

/* Skewed to small: 70% up to 256 B, 20% up to the small limit, 8% medium,
 * 2% huge. */
static const struct size_band stress_sizes[] = {
  { 700, 1, 256 },
  { 200, 257, R3_SMALL_MAX },
  { 80, R3_SMALL_MAX + 1, R3_MEDIUM_MAX },
  { 15, R3_MEDIUM_MAX + 1, 2 * TEST_MIB },
  { 5, 2 * TEST_MIB + 1, 8 * TEST_MIB },
};

static size_t random_size(uint64_t *rng)
{
  return rng_size(rng, stress_sizes, sizeof stress_sizes / sizeof stress_sizes[0]);
}

static struct block new_block(uint64_t *rng)
{
  struct block b = { NULL, random_size(rng), 0 };
  unsigned how = (unsigned)(rng_next(rng) % 16);
  if (how == 0) {
    b.p = r3_calloc(1, b.size);
    CHECK(b.p != NULL);
    CHECKF(first_nonzero(b.p, b.size) == b.size, "calloc(%zu) not zeroed",
           b.size);
  } else if (how == 1) {
    size_t align = (size_t)16 << (rng_next(rng) % 10);
    CHECK(r3_posix_memalign((void **)&b.p, align, b.size) == 0);
    CHECK(is_aligned(b.p, align));
  } else {
    b.p = r3_malloc(b.size);
  }
  CHECKF(b.p != NULL, "allocation of %zu bytes failed", b.size);
  CHECK(is_aligned(b.p, 16));
  CHECK(r3_usable_size(b.p) >= b.size);
  b.seed = pattern_seed(b.p, b.size);
  pattern_fill(b.p, b.size, b.seed);
  return b;
}

static void release_block(struct block *b)
{
  if (!b->p)
    return;
  CHECK_PATTERN(b->p, b->size, b->seed);
  r3_free(b->p);
  b->p = NULL;
}

static void resize_block(struct block *b, uint64_t *rng)
{
  size_t size = random_size(rng);
  unsigned char *p = r3_realloc(b->p, size);
  CHECKF(p != NULL, "realloc to %zu failed", size);
  size_t kept = size < b->size ? size : b->size;
  CHECK_PATTERN(p, kept, b->seed);
  b->p = p;
  b->size = size;
  b->seed = pattern_seed(p, size);
  pattern_fill(p, size, b->seed);
  atomic_fetch_add_explicit(&blocks_resized, 1, memory_order_relaxed);
}

/* Returns false when the queue is full (the caller frees the block). */
static bool queue_push(struct queue *q, struct block b)
{
  pthread_mutex_lock(&q->lock);
  bool pushed = q->count < QUEUE_CAPACITY;
  if (pushed) {
    q->items[(q->head + q->count) % QUEUE_CAPACITY] = b;
    q->count++;
  }
  pthread_mutex_unlock(&q->lock);
  return pushed;
}

/* Verifies and frees every block waiting in q. */
static void queue_drain(struct queue *q)
{
  struct block taken[QUEUE_CAPACITY];
  pthread_mutex_lock(&q->lock);
  size_t n = q->count;
  for (size_t i = 0; i < n; i++)
    taken[i] = q->items[(q->head + i) % QUEUE_CAPACITY];
  q->head = (q->head + n) % QUEUE_CAPACITY;
  q->count = 0;
  pthread_mutex_unlock(&q->lock);
  for (size_t i = 0; i < n; i++)
    release_block(&taken[i]);
}

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(w->id + 1);
  for (long op = 0; op < operations_per_thread; op++) {
    if (op % 64 == 0 && elapsed() > seconds_limit)
      break;
    unsigned action = (unsigned)(rng_next(&rng) % 8);
    struct block *slot = &w->local[rng_next(&rng) % LOCAL_SLOTS];
    if (action < 3) {
      struct block b = new_block(&rng);
      int target = (w->id + 1 + (int)(rng_next(&rng) % (THREADS - 1))) % THREADS;
      if (queue_push(&queues[target], b))
        atomic_fetch_add_explicit(&blocks_passed, 1, memory_order_relaxed);
      else
        release_block(&b);
    } else if (action < 4) {
      queue_drain(&queues[w->id]);
    } else if (action < 5 && slot->p) {
      resize_block(slot, &rng);
    } else {
      release_block(slot);
      *slot = new_block(&rng);
    }
  }
  queue_drain(&queues[w->id]);
  /* The local slots stay allocated: the main thread frees them after this
   * thread has exited, which exercises frees of an exited thread's memory. */
  return NULL;
}

#define HANDOFF_BLOCKS 24000
#define HANDOFF_THREADS 4
#define HANDOFF_ROUNDS 8
static struct block handoff[HANDOFF_BLOCKS];

static size_t handoff_size(size_t i) { return 16 + (i % 3) * 48; }   /* 16, 64, 112 */

static void *handoff_free(void *arg)
{
  size_t slice = (size_t)(uintptr_t)arg;
  for (size_t i = slice; i < HANDOFF_BLOCKS; i += HANDOFF_THREADS)
    release_block(&handoff[i]);
  return NULL;
}

static void handoff_rounds(void)
{
  uint64_t rng = 12345;
  for (int round = 0; round < HANDOFF_ROUNDS && elapsed() < 2 * seconds_limit; round++) {
    for (size_t i = 0; i < HANDOFF_BLOCKS; i++) {
      handoff[i].size = handoff_size(i);
      handoff[i].p = r3_malloc(handoff[i].size);
      CHECK(handoff[i].p != NULL);
      handoff[i].seed = pattern_seed(handoff[i].p, handoff[i].size);
      pattern_fill(handoff[i].p, handoff[i].size, handoff[i].seed);
    }
    pthread_t t[HANDOFF_THREADS];
    for (size_t k = 0; k < HANDOFF_THREADS; k++)
      CHECK(pthread_create(&t[k], NULL, handoff_free, (void *)(uintptr_t)k) == 0);
    struct block mine[64] = {{0}};
    for (int op = 0; op < 20000; op++) {
      struct block *b = &mine[rng_next(&rng) % 64];
      release_block(b);
      b->size = handoff_size((size_t)op);
      b->p = r3_malloc(b->size);
      CHECK(b->p != NULL);
      b->seed = pattern_seed(b->p, b->size);
      pattern_fill(b->p, b->size, b->seed);
    }
    for (size_t k = 0; k < HANDOFF_THREADS; k++)
      CHECK(pthread_join(t[k], NULL) == 0);
    for (int i = 0; i < 64; i++)
      release_block(&mine[i]);
    CHECK(r3_heap_check() == 0);
  }
}

int main(int argc, char **argv)
{
  if (argc > 1)
    operations_per_thread = atol(argv[1]);
  if (argc > 2)
    seconds_limit = atof(argv[2]);
  clock_gettime(CLOCK_MONOTONIC, &started);
  for (int i = 0; i < THREADS; i++)
    pthread_mutex_init(&queues[i].lock, NULL);
  for (int i = 0; i < THREADS; i++) {
    workers[i].id = i;
    CHECK(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++)
    CHECK(pthread_join(workers[i].thread, NULL) == 0);
  for (int i = 0; i < THREADS; i++) {
    queue_drain(&queues[i]);
    for (int s = 0; s < LOCAL_SLOTS; s++)
      release_block(&workers[i].local[s]);
  }
  fprintf(stderr, "%.2f s, %ld blocks passed between threads, %ld resized\n",
          elapsed(), atomic_load(&blocks_passed), atomic_load(&blocks_resized));
  CHECK(atomic_load(&blocks_passed) > 0);
  CHECK(r3_heap_check() == 0);
  handoff_rounds();
  return 0;
}
