/* cache: false sharing caused by the allocator.
 *   -m thrash (active): each thread repeatedly allocates a small object,
 *      writes it many times and frees it. If the allocator gives threads
 *      objects on one cache line, the line bounces between cores.
 *   -m scratch (passive): the main thread allocates one object per thread
 *      and hands them out; each thread frees its object first, then works as
 *      above. An allocator that reuses a freed object for the thread that
 *      freed it inherits the main thread's neighbouring objects' line. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: cache [--tiny] [-m thrash|scratch] [-n OBJECT_BYTES] [-t THREADS] [-i ITERATIONS]\n"
    "  each thread ITERATIONS times allocates an object, writes each byte 500 times, frees it\n";

enum { WRITES_PER_BYTE = 500 };

typedef struct {
  volatile unsigned char *handed;  /* scratch: the object from main, or NULL */
  long object_size;
  long iterations;
  uint64_t observed;               /* sum of the bytes read back */
} cache_work;

static uint64_t write_object(volatile unsigned char *object, long size) {
  for (long i = 0; i < size; i++) object[i] = 0;
  for (int round = 0; round < WRITES_PER_BYTE; round++)
    for (long i = 0; i < size; i++) object[i]++;
  uint64_t sum = 0;
  for (long i = 0; i < size; i++) sum += object[i];
  return sum;
}

static void *work(void *arg) {
  cache_work *w = arg;
  if (w->handed) free((void *)w->handed);
  for (long n = 0; n < w->iterations; n++) {
    volatile unsigned char *object = malloc((size_t)w->object_size);
    if (!object) bench_fail("cache", "out of memory");
    w->observed += write_object(object, w->object_size);
    free((void *)object);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_params p;
  bench_parse(argc, argv, usage, (bench_params){8, 2, 80000, 1, "thrash"},
              (bench_params){8, 2, 200, 1, "thrash"}, &p);
  int scratch = strcmp(p.mode, "scratch") == 0;
  if (!scratch && strcmp(p.mode, "thrash") != 0) {
    fputs(usage, stderr);
    return 2;
  }
  cache_work *works = calloc((size_t)p.threads, sizeof *works);
  if (!works) bench_fail("cache", "out of memory");
  for (int t = 0; t < p.threads; t++) {
    works[t] = (cache_work){NULL, p.size, p.iterations, 0};
    if (scratch && !(works[t].handed = malloc((size_t)p.size))) bench_fail("cache", "out of memory");
  }
  bench_run_threads(p.threads, work, works, sizeof *works);
  uint64_t expected = 0, observed = 0;
  for (int t = 0; t < p.threads; t++) {
    expected += (uint64_t)p.iterations * (uint64_t)p.size * (WRITES_PER_BYTE & 0xff);
    observed += works[t].observed;
  }
  free(works);
  return bench_report(scratch ? "cache-scratch" : "cache-thrash", expected, observed);
}
