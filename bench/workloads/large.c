/* malloc-large: large blocks, 64 KiB to 32 MiB, replaced at random in a
 * small window. Every page of a block is written, as a program would, so the
 * cost of fresh mappings (page faults, zeroing) and the benefit of reusing
 * freed large blocks both show, in time and in resident memory. */
#include "bench.h"

#include <stdlib.h>

static const char usage[] =
    "usage: malloc-large [--tiny] [-n WINDOW] [-i OPERATIONS] [-s SEED]\n"
    "  OPERATIONS times, replace a random block of the window with one of 64 KiB..32 MiB\n";

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){20, 1, 300, 1, NULL},
              (bench_params){4, 1, 20, 1, NULL}, &p);
  void **window = calloc((size_t)p.size, sizeof *window);
  if (!window) bench_fail("malloc-large", "out of memory");
  bench_rng rng = bench_rng_make(p.seed, 0);
  uint64_t allocated = 0, freed = 0;
  for (long op = 0; op < p.iterations; op++) {
    long slot = (long)bench_uniform(&rng, 0, (size_t)p.size - 1);
    if (window[slot]) freed += bench_block_free(window[slot]);
    uint64_t tag = bench_next(&rng);
    window[slot] = bench_block_alloc(bench_log_uniform(&rng, 64 << 10, 32 << 20), tag);
    allocated += tag;
  }
  for (long slot = 0; slot < p.size; slot++)
    if (window[slot]) freed += bench_block_free(window[slot]);
  free(window);
  return bench_report("malloc-large", allocated, freed);
}
