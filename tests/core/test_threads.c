/* Thread churn: 20,000 short-lived threads (a few alive at a time) each
 * allocate and free, and leave some blocks in a shared pool for later
 * threads to free. A thread's memory must go back when it exits, so the
 * peak RSS stays under 64 MiB. Runs with the C library names from the
 * shared r3malloc, since pthread_create itself allocates. */
#define _GNU_SOURCE
#include <pthread.h>

#include "r3malloc.h"
#include "test_util.h"

#define TOTAL_THREADS 20000
#define CONCURRENT 8
#define POOL_CAPACITY 256
#define PEAK_RSS_LIMIT_KIB (64 * 1024)

/* Blocks left behind by one thread for another to free. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  void *p;
  size_t size;
} pool[POOL_CAPACITY];
static size_t pool_count;

/* Mostly small, a few medium and huge blocks. */
static const struct size_band churn_sizes[] = {
  { 850, 1, 512 },
  { 120, 513, R3_SMALL_MAX },
  { 20, R3_SMALL_MAX + 1, 256 * TEST_KIB },
  { 10, R3_MEDIUM_MAX + 1, 2 * TEST_MIB },
};

static size_t churn_size(uint64_t *rng)
{
  return rng_size(rng, churn_sizes, sizeof churn_sizes / sizeof churn_sizes[0]);
}

static void free_verified(void *p, size_t size)
{
  CHECK_PATTERN(p, size, pattern_seed(p, size));
  free(p);
}

/* Exchanges a block with the pool: takes one left by another thread
 * (freeing it) and leaves this one. Returns false when the pool is full. */
static int exchange_with_pool(void *p, size_t size)
{
  pthread_mutex_lock(&pool_lock);
  void *old = NULL;
  size_t old_size = 0;
  if (pool_count > 0 && (size & 1)) {
    pool_count--;
    old = pool[pool_count].p;
    old_size = pool[pool_count].size;
  }
  int left = pool_count < POOL_CAPACITY;
  if (left) {
    pool[pool_count].p = p;
    pool[pool_count].size = size;
    pool_count++;
  }
  pthread_mutex_unlock(&pool_lock);
  if (old)
    free_verified(old, old_size);
  return left;
}

static void *short_lived(void *arg)
{
  uint64_t rng = (uint64_t)(uintptr_t)arg * 2654435761u + 1;
  enum { N = 12 };
  void *p[N];
  size_t size[N];
  for (int i = 0; i < N; i++) {
    size[i] = churn_size(&rng);
    p[i] = malloc(size[i]);
    CHECK(p[i] != NULL);
    pattern_fill(p[i], size[i], pattern_seed(p[i], size[i]));
  }
  for (int i = 0; i < N; i++) {
    if (i < 2 && exchange_with_pool(p[i], size[i]))
      continue;
    free_verified(p[i], size[i]);
  }
  return NULL;
}

int main(void)
{
  pthread_t running[CONCURRENT];
  for (long started = 0; started < TOTAL_THREADS; started += CONCURRENT) {
    for (int i = 0; i < CONCURRENT; i++)
      CHECK(pthread_create(&running[i], NULL, short_lived,
                           (void *)(started + i)) == 0);
    for (int i = 0; i < CONCURRENT; i++)
      CHECK(pthread_join(running[i], NULL) == 0);
  }
  for (size_t i = 0; i < pool_count; i++)
    free_verified(pool[i].p, pool[i].size);
  CHECK(r3_heap_check() == 0);
  long peak = peak_rss_kib();
  fprintf(stderr, "%d threads, peak RSS %ld KiB, RSS now %ld KiB\n",
          TOTAL_THREADS, peak, rss_kib());
  CHECKF(peak < PEAK_RSS_LIMIT_KIB, "peak RSS %ld KiB", peak);
  return 0;
}
