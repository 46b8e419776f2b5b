/* larson: a server simulation. Each thread owns a table of live blocks and
 * replaces random entries with blocks of random size. After each epoch the
 * threads exit and a fresh set of threads takes over the tables, so every
 * block allocated in one epoch is freed by a different thread in a later one
 * (as when a server hands connections to new worker threads). */
#include "bench.h"

#include <stdlib.h>

static const char usage[] =
    "usage: larson [--tiny] [-n BLOCKS_PER_THREAD] [-t THREADS] [-i EPOCHS] [-s SEED]\n"
    "  each epoch, every thread replaces 4 x BLOCKS random blocks of 16..1000 bytes\n";

typedef struct {
  void **table;         /* the blocks this table owns */
  long blocks;
  long epoch;
  uint64_t seed;
  int id;
  uint64_t allocated;   /* sum of the tags allocated into this table */
  uint64_t freed;       /* sum of the tags freed from it */
} table_work;

static uint64_t next_tag(bench_rng *rng) { return bench_next(rng) | 1; }

static void *replace_blocks(void *arg) {
  table_work *work = arg;
  bench_rng rng = bench_rng_make(work->seed, (uint64_t)work->epoch << 20 | (uint64_t)work->id);
  for (long op = 0; op < 4 * work->blocks; op++) {
    long slot = (long)bench_uniform(&rng, 0, (size_t)work->blocks - 1);
    work->freed += bench_block_free(work->table[slot]);
    uint64_t tag = next_tag(&rng);
    work->table[slot] = bench_block_alloc(bench_uniform(&rng, 16, 1000), tag);
    work->allocated += tag;
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){2000, 2, 300, 1, NULL},
              (bench_params){200, 2, 4, 1, NULL}, &p);
  table_work *works = calloc((size_t)p.threads, sizeof *works);
  if (!works) bench_fail("larson", "out of memory");
  bench_rng rng = bench_rng_make(p.seed, 0);
  for (int t = 0; t < p.threads; t++) {
    works[t] = (table_work){.blocks = p.size, .seed = p.seed, .id = t};
    works[t].table = malloc(sizeof(void *) * (size_t)p.size);
    if (!works[t].table) bench_fail("larson", "out of memory");
    for (long b = 0; b < p.size; b++) {
      uint64_t tag = next_tag(&rng);
      works[t].table[b] = bench_block_alloc(bench_uniform(&rng, 16, 1000), tag);
      works[t].allocated += tag;
    }
  }
  for (long epoch = 1; epoch <= p.iterations; epoch++) {
    for (int t = 0; t < p.threads; t++) works[t].epoch = epoch;
    bench_run_threads(p.threads, replace_blocks, works, sizeof *works);
  }
  uint64_t allocated = 0, freed = 0;
  for (int t = 0; t < p.threads; t++) {
    for (long b = 0; b < p.size; b++) works[t].freed += bench_block_free(works[t].table[b]);
    allocated += works[t].allocated;
    freed += works[t].freed;
    free(works[t].table);
  }
  free(works);
  return bench_report("larson", allocated, freed);
}
