/* mixed: random sizes with random lifetimes over several threads, in three
 * profiles modelled on well-known allocator tests:
 *   alloc-test  sizes 16 B..2 KiB, threads independent, one long round;
 *   mstress     mostly 16 B..1 KiB with 1% up to 256 KiB, 10% of operations
 *               swap a block with a slot shared by all threads (freed later
 *               by another thread), threads exit and restart for 10 rounds
 *               leaving half their blocks behind;
 *   rptest      sizes 16 B..16 KiB, 5% of operations cross threads, 2 rounds.
 * Each operation replaces a random block of the thread's window, so
 * lifetimes are geometric: most blocks die young, some live long. */
#include "bench.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: mixed [--tiny] [-m alloc-test|mstress|rptest] [-n WINDOW] [-t THREADS]\n"
    "             [-i OPERATIONS_PER_ROUND] [-s SEED]\n";

typedef struct {
  const char *name;
  size_t min_size, max_size;      /* the usual sizes, log-uniform */
  unsigned large_per_mille;       /* how often a size is large instead */
  size_t large_max;               /* large sizes: max_size..large_max */
  unsigned transfer_per_mille;    /* how often an operation swaps with the shared slots */
  int rounds;                     /* thread lifetimes; between rounds half the window dies */
} profile;

static const profile profiles[] = {
    {"alloc-test", 16, 2048, 0, 0, 0, 1},
    {"mstress", 16, 1024, 10, 256 << 10, 100, 10},
    {"rptest", 16, 16384, 0, 0, 50, 2},
};

typedef struct {
  const profile *profile;
  void **window;                  /* this thread's blocks (NULL = empty slot) */
  long window_size;
  _Atomic(void *) *shared;        /* slots every thread swaps blocks through */
  long shared_size;
  long operations;
  uint64_t seed;
  int id, round;
  uint64_t allocated, freed;
} thread_work;

static size_t pick_size(const profile *prof, bench_rng *rng) {
  if (prof->large_per_mille && bench_uniform(rng, 0, 999) < prof->large_per_mille)
    return bench_log_uniform(rng, prof->max_size, prof->large_max);
  return bench_log_uniform(rng, prof->min_size, prof->max_size);
}

static void *run_round(void *arg) {
  thread_work *w = arg;
  const profile *prof = w->profile;
  bench_rng rng = bench_rng_make(w->seed, (uint64_t)w->round << 20 | (uint64_t)w->id);
  for (long op = 0; op < w->operations; op++) {
    long slot = (long)bench_uniform(&rng, 0, (size_t)w->window_size - 1);
    if (prof->transfer_per_mille && bench_uniform(&rng, 0, 999) < prof->transfer_per_mille) {
      long other = (long)bench_uniform(&rng, 0, (size_t)w->shared_size - 1);
      w->window[slot] = atomic_exchange(&w->shared[other], w->window[slot]);
      continue;
    }
    if (w->window[slot]) w->freed += bench_block_free(w->window[slot]);
    uint64_t tag = bench_next(&rng);
    w->window[slot] = bench_block_alloc(pick_size(prof, &rng), tag);
    w->allocated += tag;
  }
  if (prof->rounds > 1)
    for (long slot = 0; slot < w->window_size; slot += 2)
      if (w->window[slot]) {
        w->freed += bench_block_free(w->window[slot]);
        w->window[slot] = NULL;
      }
  return NULL;
}

static const profile *find_profile(const char *name) {
  for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
    if (strcmp(profiles[i].name, name) == 0) return &profiles[i];
  fputs(usage, stderr);
  exit(2);
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){2000, 2, 1500000, 1, "alloc-test"},
              (bench_params){200, 2, 5000, 1, "alloc-test"}, &p);
  const profile *prof = find_profile(p.mode);
  long shared_size = p.size * p.threads / 4 + 1;
  _Atomic(void *) *shared = calloc((size_t)shared_size, sizeof *shared);
  thread_work *works = calloc((size_t)p.threads, sizeof *works);
  if (!shared || !works) bench_fail(prof->name, "out of memory");
  for (int t = 0; t < p.threads; t++) {
    works[t] = (thread_work){prof, calloc((size_t)p.size, sizeof(void *)), p.size, shared,
                             shared_size, p.iterations / prof->rounds, p.seed, t, 0, 0, 0};
    if (!works[t].window) bench_fail(prof->name, "out of memory");
  }
  for (int round = 0; round < prof->rounds; round++) {
    for (int t = 0; t < p.threads; t++) works[t].round = round;
    bench_run_threads(p.threads, run_round, works, sizeof *works);
  }
  uint64_t allocated = 0, freed = 0;
  for (int t = 0; t < p.threads; t++) {
    for (long slot = 0; slot < p.size; slot++)
      if (works[t].window[slot]) freed += bench_block_free(works[t].window[slot]);
    allocated += works[t].allocated;
    freed += works[t].freed;
    free(works[t].window);
  }
  for (long i = 0; i < shared_size; i++)
    if (shared[i]) freed += bench_block_free(shared[i]);
  free(shared);
  free(works);
  return bench_report(prof->name, allocated, freed);
}
