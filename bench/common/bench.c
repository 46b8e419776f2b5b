/* Shared helpers of the benchmark workloads; see bench.h. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096

static long parse_count(const char *text, const char *usage) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 0);
  if (errno || *end || value < 1) {
    fprintf(stderr, "bad value '%s'\n%s", text, usage);
    exit(2);
  }
  return value;
}

void bench_parse(int argc, char **argv, const char *usage, bench_params normal,
                 bench_params tiny, bench_params *out) {
  *out = normal;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--tiny") == 0) *out = tiny;
  static const struct option longopts[] = {{"tiny", no_argument, NULL, 'T'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "n:t:i:s:m:h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'n': out->size = parse_count(optarg, usage); break;
    case 't': out->threads = (int)parse_count(optarg, usage); break;
    case 'i': out->iterations = parse_count(optarg, usage); break;
    case 's': out->seed = (uint64_t)parse_count(optarg, usage); break;
    case 'm': out->mode = optarg; break;
    case 'T': break;
    case 'h': fputs(usage, stdout); exit(0);
    default: fputs(usage, stderr); exit(2);
    }
  }
  if (optind != argc) {
    fputs(usage, stderr);
    exit(2);
  }
}

/* The splitmix64 output function: a bijection that scatters its input. */
static uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bench_rng bench_rng_make(uint64_t seed, uint64_t stream) {
  bench_rng rng = {mix(seed * 0x9e3779b97f4a7c15ULL + mix(stream + 1))};
  return rng;
}

uint64_t bench_next(bench_rng *rng) {
  rng->state += 0x9e3779b97f4a7c15ULL;
  return mix(rng->state);
}

size_t bench_uniform(bench_rng *rng, size_t lo, size_t hi) {
  return lo + (size_t)(bench_next(rng) % (uint64_t)(hi - lo + 1));
}

size_t bench_log_uniform(bench_rng *rng, size_t lo, size_t hi) {
  /* 53 random bits make a uniform double in [0, 1). */
  double unit = (double)(bench_next(rng) >> 11) / 9007199254740992.0;
  size_t size = (size_t)exp(log((double)lo) + unit * (log((double)hi + 1) - log((double)lo)));
  return size < lo ? lo : size > hi ? hi : size;
}

/* The stamp: header = {tag, size ^ mix(tag)}, the last byte when it lies
 * past the header, and one word at each 4 KiB offset that lies wholly
 * between the header and the last byte. */
typedef struct {
  uint64_t tag;
  uint64_t sealed_size;
} block_header;

void *bench_block_alloc(size_t size, uint64_t tag) {
  if (size < BENCH_BLOCK_MIN) size = BENCH_BLOCK_MIN;
  unsigned char *block = malloc(size);
  if (!block) {
    fprintf(stderr, "malloc(%zu) returned NULL\n", size);
    exit(1);
  }
  block_header header = {tag, size ^ mix(tag)};
  memcpy(block, &header, sizeof header);
  for (size_t offset = PAGE; offset + 8 < size; offset += PAGE) {
    uint64_t word = mix(tag + offset);
    memcpy(block + offset, &word, 8);
  }
  if (size > sizeof header) block[size - 1] = (unsigned char)mix(tag);
  return block;
}

static _Noreturn void damaged(const void *block, const char *what) {
  fprintf(stderr, "verification failed: block %p: %s\n", block, what);
  exit(1);
}

uint64_t bench_block_free(void *p) {
  unsigned char *block = p;
  block_header header;
  memcpy(&header, block, sizeof header);
  size_t size = (size_t)(header.sealed_size ^ mix(header.tag));
  if (size < BENCH_BLOCK_MIN || size > ((size_t)1 << 40)) damaged(p, "header overwritten");
  for (size_t offset = PAGE; offset + 8 < size; offset += PAGE) {
    uint64_t word;
    memcpy(&word, block + offset, 8);
    if (word != mix(header.tag + offset)) damaged(p, "page word overwritten");
  }
  if (size > sizeof header && block[size - 1] != (unsigned char)mix(header.tag))
    damaged(p, "last byte overwritten");
  free(block);
  return header.tag;
}

int bench_report(const char *name, uint64_t allocated, uint64_t freed) {
  if (allocated != freed) {
    fprintf(stderr, "%s: verification failed: allocated tags %016" PRIx64 " != freed %016" PRIx64 "\n",
            name, allocated, freed);
    return 1;
  }
  printf("%s: verified, checksum %016" PRIx64 "\n", name, allocated);
  return 0;
}

_Noreturn void bench_fail(const char *name, const char *what) {
  fprintf(stderr, "%s: verification failed: %s\n", name, what);
  exit(1);
}

void bench_run_threads(int count, void *(*fn)(void *), void *args, size_t arg_size) {
  pthread_t *threads = malloc(sizeof *threads * (size_t)count);
  if (!threads) {
    fputs("out of memory for threads\n", stderr);
    exit(1);
  }
  for (int i = 0; i < count; i++) {
    int error = pthread_create(&threads[i], NULL, fn, (char *)args + (size_t)i * arg_size);
    if (error) {
      fprintf(stderr, "pthread_create: %s\n", strerror(error));
      exit(1);
    }
  }
  for (int i = 0; i < count; i++) pthread_join(threads[i], NULL);
  free(threads);
}

long bench_rss_kib(void) {
  FILE *statm = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (!statm) return 0;
  if (fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = 0;
  fclose(statm);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

long bench_peak_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kib;
}
