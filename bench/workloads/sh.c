/* sh: many sizes freed in LIFO and FIFO order, in the spirit of sh6bench and
 * sh8bench. Each round a thread allocates a batch of blocks whose sizes sweep
 * 16 B..2 KiB, frees the newest half LIFO, allocates them again, and frees
 * the oldest half FIFO. The rest of the batch then lives one round longer:
 *   -m same   the thread frees it itself at the start of its next round;
 *   -m cross  it is handed to the next thread, which frees it (sh8bench). */
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: sh [--tiny] [-m same|cross] [-n BATCH] [-t THREADS] [-i ROUNDS] [-s SEED]\n";

typedef struct {
  void **batch;             /* this round's blocks */
  void **left_over;         /* the second half of last round's batch, to free */
  long batch_size;
  long rounds;
  int id, threads, cross;
  struct shared_state *shared;
  uint64_t allocated, freed;
} thread_work;

struct shared_state {
  pthread_barrier_t round_done;
  thread_work *works;
};

/* Sizes sweep the range in an order unrelated to the allocation order. */
static size_t sweep_size(long index, long round) {
  return 16 + (size_t)((index * 97 + round * 31) % 2033);
}

static void allocate_range(thread_work *w, long from, long to, long round) {
  for (long i = from; i < to; i++) {
    uint64_t tag = (uint64_t)w->id << 48 ^ (uint64_t)round << 24 ^ (uint64_t)i;
    w->batch[i] = bench_block_alloc(sweep_size(i, round), tag);
    w->allocated += tag;
  }
}

static void free_left_over(thread_work *w, void **blocks, long count) {
  for (long i = 0; i < count; i++)
    if (blocks[i]) {  /* NULL: freed already, or no round before this one */
      w->freed += bench_block_free(blocks[i]);
      blocks[i] = NULL;
    }
}

static void *run_rounds(void *arg) {
  thread_work *w = arg;
  long n = w->batch_size, half = n / 2;
  for (long round = 0; round < w->rounds; round++) {
    allocate_range(w, 0, n, round);
    for (long i = n - 1; i >= half; i--) w->freed += bench_block_free(w->batch[i]);
    allocate_range(w, half, n, round + 1);
    for (long i = 0; i < half; i++) w->freed += bench_block_free(w->batch[i]);
    /* Keep the newest half alive; swap it with the left-over array so the
     * batch array is free for the next round. */
    pthread_barrier_wait(&w->shared->round_done);
    thread_work *owner = w->cross ? &w->shared->works[(w->id + 1) % w->threads] : w;
    free_left_over(w, owner->left_over + half, n - half);
    pthread_barrier_wait(&w->shared->round_done);
    void **spare = w->left_over;
    w->left_over = w->batch;
    w->batch = spare;
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){5000, 2, 150, 1, "same"},
              (bench_params){500, 2, 10, 1, "same"}, &p);
  int cross = strcmp(p.mode, "cross") == 0;
  if (!cross && strcmp(p.mode, "same") != 0) {
    fputs(usage, stderr);
    return 2;
  }
  struct shared_state shared;
  shared.works = calloc((size_t)p.threads, sizeof *shared.works);
  if (!shared.works) bench_fail("sh", "out of memory");
  pthread_barrier_init(&shared.round_done, NULL, (unsigned)p.threads);
  for (int t = 0; t < p.threads; t++) {
    shared.works[t] = (thread_work){calloc((size_t)p.size, sizeof(void *)),
                                    calloc((size_t)p.size, sizeof(void *)),
                                    p.size, p.iterations, t, p.threads, cross, &shared, 0, 0};
    if (!shared.works[t].batch || !shared.works[t].left_over) bench_fail("sh", "out of memory");
  }
  bench_run_threads(p.threads, run_rounds, shared.works, sizeof *shared.works);
  uint64_t allocated = 0, freed = 0;
  for (int t = 0; t < p.threads; t++) {
    thread_work *w = &shared.works[t];
    free_left_over(w, w->left_over + p.size / 2, p.size - p.size / 2);
    allocated += w->allocated;
    freed += w->freed;
    free(w->batch);
    free(w->left_over);
  }
  pthread_barrier_destroy(&shared.round_done);
  free(shared.works);
  return bench_report(cross ? "sh8bench" : "sh6bench", allocated, freed);
}
