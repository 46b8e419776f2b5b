/* glibc-thread: the loop of glibc's malloc-thread benchmark. Each thread
 * keeps a small working set and replaces a random member with a block of a
 * random small size; threads never share blocks, so this measures the
 * per-thread fast paths and how they scale with threads. */
#include "bench.h"

#include <stdlib.h>

static const char usage[] =
    "usage: glibc-thread [--tiny] [-n WORKING_SET] [-t THREADS] [-i OPERATIONS] [-s SEED]\n"
    "  each thread replaces OPERATIONS random blocks of 16..4096 bytes (mostly small)\n";

typedef struct {
  long working_set;
  long operations;
  uint64_t seed;
  int id;
  uint64_t allocated, freed;
} thread_work;

/* Mostly tiny blocks, a few up to 4 KiB, as in the glibc benchmark. */
static size_t small_size(bench_rng *rng) {
  return bench_next(rng) % 16 ? bench_uniform(rng, 16, 128) : bench_uniform(rng, 129, 4096);
}

static void *replace_blocks(void *arg) {
  thread_work *w = arg;
  bench_rng rng = bench_rng_make(w->seed, (uint64_t)w->id);
  void **set = calloc((size_t)w->working_set, sizeof *set);
  if (!set) bench_fail("glibc-thread", "out of memory");
  for (long op = 0; op < w->operations; op++) {
    long slot = (long)bench_uniform(&rng, 0, (size_t)w->working_set - 1);
    if (set[slot]) w->freed += bench_block_free(set[slot]);
    uint64_t tag = bench_next(&rng);
    set[slot] = bench_block_alloc(small_size(&rng), tag);
    w->allocated += tag;
  }
  for (long slot = 0; slot < w->working_set; slot++)
    if (set[slot]) w->freed += bench_block_free(set[slot]);
  free(set);
  return NULL;
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){400, 2, 5000000, 1, NULL},
              (bench_params){100, 2, 20000, 1, NULL}, &p);
  thread_work *works = calloc((size_t)p.threads, sizeof *works);
  if (!works) bench_fail("glibc-thread", "out of memory");
  for (int t = 0; t < p.threads; t++) works[t] = (thread_work){p.size, p.iterations, p.seed, t, 0, 0};
  bench_run_threads(p.threads, replace_blocks, works, sizeof *works);
  uint64_t allocated = 0, freed = 0;
  for (int t = 0; t < p.threads; t++) {
    allocated += works[t].allocated;
    freed += works[t].freed;
  }
  free(works);
  return bench_report("glibc-thread", allocated, freed);
}
