/* mleak: growing and churning working sets, to show fragmentation and how
 * much memory an allocator keeps. Phases, with a target of SIZE MiB live:
 *   grow       small blocks (16..256 B) until SIZE MiB are live;
 *   fragment   free three blocks in four at random, leaving holes;
 *   regrow     medium blocks (512 B..8 KiB) until SIZE MiB are live again:
 *              an allocator that cannot reuse the holes grows here;
 *   churn      ITERATIONS allocations whose size range drifts from small
 *              to large, each followed by random frees down to SIZE MiB
 *              live; 1 in 100 also allocates a block that is only freed at
 *              the very end (a leak);
 *   shrink     free all but the leaked blocks and report the resident size
 *              kept (retention), then free the rest.
 * Peak RSS (measured by the runner) shows the fragmentation cost. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: mleak [--tiny] [-n LIVE_MIB] [-i CHURN_OPERATIONS] [-s SEED]\n";

typedef struct {
  void **blocks;
  size_t *sizes;
  long count, capacity;
  size_t live_bytes;
  uint64_t allocated, freed;
} block_set;

static void set_add(block_set *set, size_t size, uint64_t tag) {
  if (set->count == set->capacity) {
    set->capacity = set->capacity ? set->capacity * 2 : 1024;
    set->blocks = realloc(set->blocks, sizeof(void *) * (size_t)set->capacity);
    set->sizes = realloc(set->sizes, sizeof(size_t) * (size_t)set->capacity);
    if (!set->blocks || !set->sizes) bench_fail("mleak", "out of memory");
  }
  set->blocks[set->count] = bench_block_alloc(size, tag);
  set->sizes[set->count++] = size;
  set->live_bytes += size;
  set->allocated += tag;
}

/* Frees block i and moves the last block into its place. */
static void set_remove(block_set *set, long i) {
  set->freed += bench_block_free(set->blocks[i]);
  set->live_bytes -= set->sizes[i];
  set->count--;
  set->blocks[i] = set->blocks[set->count];
  set->sizes[i] = set->sizes[set->count];
}

static void grow_to(block_set *set, size_t target, size_t lo, size_t hi, bench_rng *rng) {
  while (set->live_bytes < target) set_add(set, bench_log_uniform(rng, lo, hi), bench_next(rng));
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){64, 1, 500000, 1, NULL},
              (bench_params){4, 1, 20000, 1, NULL}, &p);
  size_t target = (size_t)p.size << 20;
  bench_rng rng = bench_rng_make(p.seed, 0);
  block_set live = {0}, leaked = {0};

  grow_to(&live, target, 16, 256, &rng);
  for (long i = live.count - 1; i >= 0; i--)
    if (bench_next(&rng) % 4) set_remove(&live, i);
  grow_to(&live, target, 512, 8192, &rng);

  for (long op = 0; op < p.iterations; op++) {
    size_t low = 16 + (size_t)(4096 * op / p.iterations);
    size_t size = bench_log_uniform(&rng, low, low * 4);
    set_add(&live, size, bench_next(&rng));
    if (op % 100 == 0) set_add(&leaked, size, bench_next(&rng));
    while (live.live_bytes > target)
      set_remove(&live, (long)bench_uniform(&rng, 0, (size_t)live.count - 1));
  }

  while (live.count) set_remove(&live, live.count - 1);
  printf("mleak: resident after freeing all but %ld leaked blocks (%zu KiB): %ld KiB\n",
         leaked.count, leaked.live_bytes >> 10, bench_rss_kib());
  while (leaked.count) set_remove(&leaked, leaked.count - 1);
  free(live.blocks);
  free(live.sizes);
  free(leaked.blocks);
  free(leaked.sizes);
  return bench_report("mleak", live.allocated + leaked.allocated, live.freed + leaked.freed);
}
