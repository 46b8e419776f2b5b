/* Helpers shared by the core allocator tests: assertions, a verifiable fill
 * pattern, memory measurements and running code in a child process whose
 * stderr is captured. Header-only so that every test stays one file. */
#ifndef R3_TEST_UTIL_H
#define R3_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"
#include "../common/child.h"
#include "../common/memory.h"

/* Exit code that CTest reads as "skipped" (SKIP_RETURN_CODE 77). */
#define TEST_SKIP_CODE 77

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_UNDER_SANITIZER 1
#else
#define TEST_UNDER_SANITIZER 0
#endif

#define TEST_KIB ((size_t)1024)
#define TEST_MIB ((size_t)1024 * 1024)

/* ---- fill pattern ------------------------------------------------------
 * Byte i of a block filled with seed s is byte (i % 8) of pattern_word(s,
 * i / 8), so a prefix of a block verifies against the same seed whatever
 * the block's full length (what realloc must preserve). */

static inline uint64_t pattern_word(uint64_t seed, size_t index)
{
  uint64_t x = seed + (uint64_t)index * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

/* A seed derived from a block's address and size, so that two live blocks
 * that overlap by mistake overwrite each other's pattern visibly. */
static inline uint64_t pattern_seed(const void *p, size_t size)
{
  return (uint64_t)(uintptr_t)p * 31 + size;
}

static inline void pattern_fill(void *p, size_t n, uint64_t seed)
{
  unsigned char *b = p;
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t w = pattern_word(seed, i);
    memcpy(b + i * 8, &w, 8);
  }
  if (n % 8) {
    uint64_t w = pattern_word(seed, words);
    memcpy(b + words * 8, &w, n % 8);
  }
}

/* Returns the offset of the first byte that differs, or n when all match. */
static inline size_t pattern_mismatch(const void *p, size_t n, uint64_t seed)
{
  const unsigned char *b = p;
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t w = pattern_word(seed, i), got;
    memcpy(&got, b + i * 8, 8);
    if (got != w) {
      for (size_t j = 0; j < 8; j++)
        if (b[i * 8 + j] != (unsigned char)(w >> (8 * j)))
          return i * 8 + j;
    }
  }
  if (n % 8) {
    uint64_t w = pattern_word(seed, words);
    for (size_t j = 0; j < n % 8; j++)
      if (b[words * 8 + j] != (unsigned char)(w >> (8 * j)))
        return words * 8 + j;
  }
  return n;
}

#define CHECK_PATTERN(p, n, seed)                                            \
  do {                                                                       \
    size_t at_ = pattern_mismatch((p), (n), (seed));                         \
    CHECKF(at_ == (size_t)(n), "block %p of %zu bytes differs at byte %zu",  \
           (void *)(p), (size_t)(n), at_);                                   \
  } while (0)

/* Index of the first nonzero byte of p[0..n), or n. Compares in chunks
 * with memcmp (fast even in sanitizer builds) before looking closer. */
static inline size_t first_nonzero(const void *p, size_t n)
{
  static const unsigned char zeroes[4096];
  const unsigned char *b = p;
  for (size_t at = 0; at < n; at += sizeof zeroes) {
    size_t len = n - at < sizeof zeroes ? n - at : sizeof zeroes;
    if (memcmp(b + at, zeroes, len) == 0)
      continue;
    for (size_t i = at; i < at + len; i++)
      if (b[i])
        return i;
  }
  return n;
}

static inline int is_aligned(const void *p, size_t align)
{
  return ((uintptr_t)p & (align - 1)) == 0;
}

/* A small deterministic generator (xorshift64*), one state per thread. */
static inline uint64_t rng_next(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(uint64_t *state, size_t lo, size_t hi)
{
  return lo + (size_t)(rng_next(state) % (hi - lo + 1));
}

/* A size distribution: band i is chosen with probability permille / 1000
 * (the permilles add up to 1000), then a size uniform in [lo, hi]. */
struct size_band {
  unsigned permille;
  size_t lo, hi;
};

static inline size_t rng_size(uint64_t *state, const struct size_band *bands,
                              size_t n_bands)
{
  unsigned r = (unsigned)(rng_next(state) % 1000);
  size_t i = 0;
  while (i + 1 < n_bands && r >= bands[i].permille)
    r -= bands[i++].permille;
  return rng_range(state, bands[i].lo, bands[i].hi);
}

/* ---- the allocator's own report ------------------------------------------ */

#ifdef R3MALLOC_H
/* The unsigned number after key on r3_stats_print's output (key is the
 * start of a line's text, e.g. "arenas"); the test fails without it. */
static inline unsigned stats_number(const char *key)
{
  char *text = NULL;
  size_t length = 0;
  FILE *out = open_memstream(&text, &length);
  CHECK(out != NULL);
  r3_stats_print(out);
  CHECK(fclose(out) == 0);
  const char *line = strstr(text, key);
  unsigned n = 0;
  CHECKF(line && sscanf(line + strlen(key), " %u", &n) == 1, "no '%s' line in:\n%s", key, text);
  free(text);
  return n;
}
#endif

/* ---- memory measurements ---------------------------------------------- */

/* Peak resident set size of this process in KiB. */
static inline long peak_rss_kib(void)
{
  struct rusage ru;
  CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
  return ru.ru_maxrss;
}

/* ---- child processes (run_child, struct child_result: ../common/child.h) */

struct program {
  char *const *argv;
  char *const *envp;
};

static inline void exec_program(void *arg)
{
  const struct program *prog = arg;
  execve(prog->argv[0], prog->argv, prog->envp);
  _exit(127);
}

/* Runs argv with envp in a child, capturing its stderr like run_child. */
static inline void run_program(char *const argv[], char *const envp[],
                               struct child_result *out)
{
  struct program prog = { argv, envp };
  run_child(exec_program, &prog, out);
}

static inline int child_exited_ok(const struct child_result *r)
{
  return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

#endif
