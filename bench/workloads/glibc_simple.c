/* glibc-simple: the tight single-thread loop of glibc's malloc-simple
 * benchmark. For each of a few small sizes, allocate a run of blocks, then
 * free them all (oldest first), again and again: the allocator's fast paths
 * with no reuse pattern to hide behind. */
#include "bench.h"

#include <stdlib.h>

static const char usage[] =
    "usage: glibc-simple [--tiny] [-n BLOCKS_PER_RUN] [-i RUNS] [-s SEED]\n"
    "  RUNS times, for sizes 16, 32, 64, 128, 256: allocate BLOCKS blocks, free them\n";

static const size_t sizes[] = {16, 32, 64, 128, 256};

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){1000, 1, 2000, 1, NULL},
              (bench_params){100, 1, 10, 1, NULL}, &p);
  void **run = malloc(sizeof(void *) * (size_t)p.size);
  if (!run) bench_fail("glibc-simple", "out of memory");
  bench_rng rng = bench_rng_make(p.seed, 0);
  uint64_t allocated = 0, freed = 0;
  for (long r = 0; r < p.iterations; r++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      for (long b = 0; b < p.size; b++) {
        uint64_t tag = bench_next(&rng);
        run[b] = bench_block_alloc(sizes[s], tag);
        allocated += tag;
      }
      for (long b = 0; b < p.size; b++) freed += bench_block_free(run[b]);
    }
  free(run);
  return bench_report("glibc-simple", allocated, freed);
}
