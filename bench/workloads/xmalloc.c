/* xmalloc: producers and consumers. Each producer allocates batches of
 * blocks and queues them; its consumer, another thread, checks and frees
 * them. Every block is freed by a thread that did not allocate it, the
 * pattern of a pipeline of worker threads. */
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>

static const char usage[] =
    "usage: xmalloc [--tiny] [-n BLOCKS_PER_BATCH] [-t PAIRS] [-i BATCHES] [-s SEED]\n"
    "  PAIRS producer threads each feed one consumer thread with BATCHES batches\n"
    "  of blocks of 8..512 bytes\n";

enum { QUEUE_DEPTH = 16 };

/* A batch travels from producer to consumer; the consumer frees it too. */
typedef struct {
  long count;
  void *blocks[];
} batch;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  batch *ring[QUEUE_DEPTH];
  unsigned head, tail;  /* tail - head batches are queued; head <= tail */
} queue;

typedef struct {
  queue *queue;
  long batch_size;
  long batches;
  uint64_t seed;
  int id;
  uint64_t sum;         /* tags allocated (producer) or freed (consumer) */
} pipe_end;

static void queue_push(queue *q, batch *b) {
  pthread_mutex_lock(&q->lock);
  while (q->tail - q->head == QUEUE_DEPTH) pthread_cond_wait(&q->changed, &q->lock);
  q->ring[q->tail++ % QUEUE_DEPTH] = b;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
}

static batch *queue_pop(queue *q) {
  pthread_mutex_lock(&q->lock);
  while (q->tail == q->head) pthread_cond_wait(&q->changed, &q->lock);
  batch *b = q->ring[q->head++ % QUEUE_DEPTH];
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&q->lock);
  return b;
}

static void *produce(void *arg) {
  pipe_end *end = arg;
  bench_rng rng = bench_rng_make(end->seed, (uint64_t)end->id);
  for (long n = 0; n < end->batches; n++) {
    batch *b = malloc(sizeof *b + sizeof(void *) * (size_t)end->batch_size);
    if (!b) bench_fail("xmalloc", "out of memory");
    b->count = end->batch_size;
    for (long i = 0; i < b->count; i++) {
      uint64_t tag = bench_next(&rng);
      b->blocks[i] = bench_block_alloc(bench_log_uniform(&rng, BENCH_BLOCK_MIN, 512), tag);
      end->sum += tag;
    }
    queue_push(end->queue, b);
  }
  return NULL;
}

static void *consume(void *arg) {
  pipe_end *end = arg;
  for (long n = 0; n < end->batches; n++) {
    batch *b = queue_pop(end->queue);
    for (long i = 0; i < b->count; i++) end->sum += bench_block_free(b->blocks[i]);
    free(b);
  }
  return NULL;
}

static void *run_end(void *arg) {
  pipe_end *end = arg;
  return end->id % 2 == 0 ? produce(end) : consume(end);
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){100, 2, 12000, 1, NULL},
              (bench_params){50, 1, 100, 1, NULL}, &p);
  int pairs = p.threads;
  queue *queues = calloc((size_t)pairs, sizeof *queues);
  pipe_end *ends = calloc((size_t)pairs * 2, sizeof *ends);
  if (!queues || !ends) bench_fail("xmalloc", "out of memory");
  for (int i = 0; i < pairs * 2; i++) {
    queue *q = &queues[i / 2];
    if (i % 2 == 0) {
      pthread_mutex_init(&q->lock, NULL);
      pthread_cond_init(&q->changed, NULL);
    }
    ends[i] = (pipe_end){q, p.size, p.iterations, p.seed, i, 0};
  }
  bench_run_threads(pairs * 2, run_end, ends, sizeof *ends);
  uint64_t allocated = 0, freed = 0;
  for (int i = 0; i < pairs * 2; i++) *(i % 2 == 0 ? &allocated : &freed) += ends[i].sum;
  free(ends);
  free(queues);
  return bench_report("xmalloc", allocated, freed);
}
