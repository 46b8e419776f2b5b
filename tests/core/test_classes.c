/* Size classes split on demand: a request size above 1 KiB that takes its
 * class's traffic and wastes at least an eighth of the class's block gets a
 * class of its own, of exactly its 16-byte granules; at most 8 per process.
 * In order, in one process (splits are never undone):
 *   a. 4 threads allocate 1032-byte blocks, hand half of them to a
 *      neighbour and free them: the class splits (usable size 1040) while
 *      blocks of the old class are alive, and every block stays intact;
 *   b. sizes up to 1 KiB never split (784 stays in the 896-byte class);
 *   c. a size that wastes less than an eighth never splits (2432 in 2560);
 *   d. sizes drawn evenly from a class's granules never split;
 *   e. seven more dominant sizes split, the eighth limit holds, and a ninth
 *      size stays in its static class;
 *   f. a thread that holds few blocks of a class above 128 bytes is served
 *      from the next class up (1100 bytes from 1536-byte blocks, 150 from
 *      192-byte ones), until it holds more than half a page of those; then
 *      the class has pages of its own (1280, 160), every block stays intact,
 *      and other classes stay coarse.
 * Usable sizes and the split count (r3_stats_print) are what is checked. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>

#include "r3malloc.h"
#include "test_util.h"

#define SPLIT_MAX 8
#define THREADS 4
#define BLOCKS 3000

static unsigned split_count(void) { return stats_number("split classes"); }

static size_t usable_of_fresh(size_t size)
{
  void *p = r3_malloc(size);
  CHECK(p != NULL);
  size_t n = r3_usable_size(p);
  r3_free(p);
  return n;
}

/* Allocates count blocks of size (patterned), checks and frees them. */
static void run_of(size_t size, int count)
{
  void **p = r3_malloc((size_t)count * sizeof *p);
  CHECK(p != NULL);
  for (int i = 0; i < count; i++) {
    p[i] = r3_malloc(size);
    CHECK(p[i] != NULL);
    CHECK(r3_usable_size(p[i]) >= size);
    pattern_fill(p[i], size, pattern_seed(p[i], size));
  }
  for (int i = 0; i < count; i++) {
    CHECK_PATTERN(p[i], size, pattern_seed(p[i], size));
    r3_free(p[i]);
  }
  r3_free(p);
}

/* ---- a. the split under threads ------------------------------------------ */

#define A_SIZE 1032
static void *handed[THREADS][BLOCKS / 2];
static pthread_barrier_t barrier;

static void *split_worker(void *arg)
{
  long id = (long)arg;
  static __thread void *mine[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    mine[i] = r3_malloc(A_SIZE);
    CHECK(mine[i] != NULL);
    pattern_fill(mine[i], A_SIZE, pattern_seed(mine[i], A_SIZE));
  }
  for (int i = 0; i < BLOCKS / 2; i++)
    handed[id][i] = mine[2 * i];
  pthread_barrier_wait(&barrier);
  void **theirs = handed[(id + 1) % THREADS];
  for (int i = 0; i < BLOCKS / 2; i++) {
    CHECK_PATTERN(theirs[i], A_SIZE, pattern_seed(theirs[i], A_SIZE));
    r3_free(theirs[i]);
    CHECK_PATTERN(mine[2 * i + 1], A_SIZE, pattern_seed(mine[2 * i + 1], A_SIZE));
    r3_free(mine[2 * i + 1]);
  }
  return NULL;
}

static void part_a(bool threads)
{
  size_t before = usable_of_fresh(A_SIZE);
  CHECKF(before == 1280 || before == 1536,        /* its class, or coarse (f) */
         "1032 bytes before any split: usable %zu", before);
  if (threads) {
    pthread_t t[THREADS];
    CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    for (long i = 0; i < THREADS; i++)
      CHECK(pthread_create(&t[i], NULL, split_worker, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++)
      CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(pthread_barrier_destroy(&barrier) == 0);
  } else {
    run_of(A_SIZE, BLOCKS);
  }
  CHECK(r3_heap_check() == 0);
  size_t after = usable_of_fresh(A_SIZE);
  CHECKF(after == 1040, "1032 bytes after a run of them: usable %zu", after);
  CHECKF(split_count() == 1, "%u splits", split_count());
}

/* ---- b-e -------------------------------------------------------------------- */

static void part_b_to_d(void)
{
  run_of(784, BLOCKS);
  CHECKF(usable_of_fresh(784) == 896, "784 bytes: usable %zu", usable_of_fresh(784));
  run_of(2432, BLOCKS);
  CHECKF(usable_of_fresh(2432) == 2560, "2432 bytes: usable %zu", usable_of_fresh(2432));

  /* d: a window of 200 blocks, each replaced by a size drawn evenly from
   * (4096, 5120], 30000 times. */
  enum { WINDOW = 200 };
  void *w[WINDOW] = { 0 };
  size_t ws[WINDOW] = { 0 };
  uint64_t rng = 7;
  for (int op = 0; op < 30000; op++) {
    int i = (int)(rng_next(&rng) % WINDOW);
    if (w[i]) {
      CHECK_PATTERN(w[i], ws[i], pattern_seed(w[i], ws[i]));
      r3_free(w[i]);
    }
    ws[i] = rng_range(&rng, 4097, 5120);
    w[i] = r3_malloc(ws[i]);
    CHECK(w[i] != NULL);
    pattern_fill(w[i], ws[i], pattern_seed(w[i], ws[i]));
  }
  for (int i = 0; i < WINDOW; i++)
    r3_free(w[i]);
  CHECKF(split_count() == 1, "%u splits after b-d", split_count());
  CHECK(r3_heap_check() == 0);
}

static void part_e(void)
{
  /* One size 16 bytes above a class boundary in each class where that
   * wastes at least an eighth, after 1040 (part a). */
  static const size_t dominant[] = { 1296, 1552, 2064, 2576, 3088, 4112, 5136 };
  for (size_t i = 0; i < sizeof dominant / sizeof *dominant; i++) {
    run_of(dominant[i], BLOCKS);
    size_t u = usable_of_fresh(dominant[i]);
    CHECKF(u == dominant[i], "%zu bytes after a run of them: usable %zu", dominant[i], u);
  }
  CHECKF(split_count() == SPLIT_MAX, "%u splits", split_count());
  run_of(6160, BLOCKS);
  CHECKF(usable_of_fresh(6160) == 7168, "6160 bytes past the limit: usable %zu",
         usable_of_fresh(6160));
  CHECKF(split_count() == SPLIT_MAX, "%u splits past the limit", split_count());
  CHECK(r3_heap_check() == 0);
}

/* ---- f ---------------------------------------------------------------------- */

#define F_RUN_MAX 200

/* A run of count blocks of size in a heap that held none of its class or
 * the class above: the first come from the class above (usable coarse),
 * the last, once more than half a page of those is carved, from the size's
 * own class (usable own), which fresh requests keep afterwards. */
static void coarse_run(size_t size, int count, size_t coarse, size_t own)
{
  void *p[F_RUN_MAX];
  CHECK(count <= F_RUN_MAX);
  CHECKF(usable_of_fresh(size) == coarse, "%zu bytes, few held: usable %zu", size,
         usable_of_fresh(size));
  for (int i = 0; i < count; i++) {
    p[i] = r3_malloc(size);
    CHECK(p[i] != NULL);
    pattern_fill(p[i], size, pattern_seed(p[i], size));
  }
  CHECKF(r3_usable_size(p[0]) == coarse, "%zu bytes, first of the run: usable %zu", size,
         r3_usable_size(p[0]));
  CHECKF(r3_usable_size(p[count - 1]) == own, "%zu bytes, last of the run: usable %zu", size,
         r3_usable_size(p[count - 1]));
  CHECK(r3_heap_check() == 0);
  for (int i = 0; i < count; i++) {
    CHECK_PATTERN(p[i], size, pattern_seed(p[i], size));
    r3_free(p[i]);
  }
  CHECKF(usable_of_fresh(size) == own, "%zu bytes after the run: usable %zu", size,
         usable_of_fresh(size));
  CHECK(r3_heap_check() == 0);
}

static void *coarse_worker(void *unused)
{
  (void)unused;
  coarse_run(1100, 40, 1536, 1280);    /* 40 x 1536 bytes: more than half a page */
  CHECKF(usable_of_fresh(2500) == 3072, "2500 bytes, another class: usable %zu",
         usable_of_fresh(2500));
  /* The same below 1 KiB, where the fast path finds the page by granule. */
  coarse_run(150, 200, 192, 160);      /* 200 x 192 bytes */
  return NULL;
}

static void part_f(void)
{
  pthread_t t;                    /* a new thread: a heap of its own */
  CHECK(pthread_create(&t, NULL, coarse_worker, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
}

int main(int argc, char **argv)
{
  bool threads = !(argc > 1 && strcmp(argv[1], "nothreads") == 0);
  part_a(threads);
  part_b_to_d();
  part_e();
  if (threads)                  /* the single-threaded build: one heap, used by a-e */
    part_f();
  return 0;
}
