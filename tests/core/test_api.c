/* Unit tests of every allocation entry point: sizes, alignment, usable
 * size, realloc contents across the small/medium/huge boundaries, calloc
 * zeroing of reused memory and the error cases. Runs over the table of
 * alloc_api.h (the r3_* API or the C library names), single-threaded, and
 * checks r3_heap_check() after each test. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <time.h>

#include "alloc_api.h"
#include "r3malloc.h"
#include "test_util.h"

#define API (&test_api)
#define MIN_ALIGN ((size_t)16)

/* Sizes around every layer boundary, plus the usual suspects. */
static const size_t edge_sizes[] = {
  0, 1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128,
  129, 255, 256, 257, 511, 512, 1000, 1024, 2047, 2048, 4095, 4096, 4097,
  R3_SMALL_MAX - 16, R3_SMALL_MAX - 1, R3_SMALL_MAX, R3_SMALL_MAX + 1,
  R3_SMALL_MAX + 16, R3_SMALL_MAX + 4096, 65535, 65536, 65537, 262144,
  R3_MEDIUM_MAX - 4096, R3_MEDIUM_MAX - 16, R3_MEDIUM_MAX - 1, R3_MEDIUM_MAX,
  R3_MEDIUM_MAX + 1, R3_MEDIUM_MAX + 16, R3_MEDIUM_MAX + 4096,
  2 * R3_MEDIUM_MAX, 4 * R3_MEDIUM_MAX + 1, 8 * R3_MEDIUM_MAX,
};
#define N_EDGE_SIZES (sizeof edge_sizes / sizeof edge_sizes[0])

/* A smaller set for the all-pairs realloc test. */
static const size_t realloc_sizes[] = {
  1, 24, 200, 4096, R3_SMALL_MAX - 1, R3_SMALL_MAX, R3_SMALL_MAX + 1, 100000,
  R3_MEDIUM_MAX - 1, R3_MEDIUM_MAX, R3_MEDIUM_MAX + 1, 3 * R3_MEDIUM_MAX,
  8 * R3_MEDIUM_MAX,
};
#define N_REALLOC_SIZES (sizeof realloc_sizes / sizeof realloc_sizes[0])

/* The checks every successful allocation of size bytes must pass. The
 * block is then filled with its pattern; returns the seed. */
static uint64_t check_block(void *p, size_t size, size_t align)
{
  CHECKF(p != NULL, "allocation of %zu bytes failed", size);
  CHECKF(is_aligned(p, align < MIN_ALIGN ? MIN_ALIGN : align),
         "%p (size %zu) is not aligned to %zu", p, size, align);
  size_t usable = API->usable_size(p);
  CHECKF(usable >= size, "usable size %zu < %zu at %p", usable, size, p);
  uint64_t seed = pattern_seed(p, size);
  pattern_fill(p, usable, seed);
  return seed;
}

static void free_checked(void *p, size_t size, uint64_t seed)
{
  CHECK_PATTERN(p, size, seed);
  API->free(p);
}

static void test_malloc_sizes(void)
{
  void *blocks[N_EDGE_SIZES];
  uint64_t seeds[N_EDGE_SIZES];
  /* All live at once, so that overlapping blocks would show. */
  for (size_t i = 0; i < N_EDGE_SIZES; i++) {
    blocks[i] = API->malloc(edge_sizes[i]);
    seeds[i] = check_block(blocks[i], edge_sizes[i], MIN_ALIGN);
  }
  for (size_t i = 0; i < N_EDGE_SIZES; i++)
    free_checked(blocks[i], edge_sizes[i], seeds[i]);
  /* Every size up to a few pages, one at a time. */
  for (size_t size = 1; size <= 3 * R3_SMALL_MAX; size += size < 1024 ? 1 : 61) {
    void *p = API->malloc(size);
    free_checked(p, size, check_block(p, size, MIN_ALIGN));
  }
}

static void test_malloc_zero_unique(void)
{
  enum { N = 100 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = API->malloc(0);
    CHECK(p[i] != NULL);
    CHECK(is_aligned(p[i], MIN_ALIGN));
    for (int j = 0; j < i; j++)
      CHECKF(p[i] != p[j], "malloc(0) returned %p twice", p[i]);
  }
  for (int i = 0; i < N; i++)
    API->free(p[i]);
  API->free(NULL);
  CHECK(API->usable_size(NULL) == 0);
}

/* The functions that take an alignment argument. */
enum aligned_fn { USE_POSIX_MEMALIGN, USE_ALIGNED_ALLOC, USE_MEMALIGN };

static void *alloc_aligned(enum aligned_fn fn, size_t align, size_t size)
{
  void *p = NULL;
  switch (fn) {
  case USE_POSIX_MEMALIGN:
    CHECKF(API->posix_memalign(&p, align, size) == 0,
           "posix_memalign(%zu, %zu) failed", align, size);
    return p;
  case USE_ALIGNED_ALLOC:
    return API->aligned_alloc(align, size);
  case USE_MEMALIGN:
    return API->memalign(align, size);
  }
  return NULL;
}

static void check_alignment(enum aligned_fn fn, size_t align)
{
  const size_t sizes[] = { 1, 16, align > 1 ? align - 1 : 1, align, align + 1,
                           3 * align, 5000, 100000 };
  enum { N = sizeof sizes / sizeof sizes[0] };
  void *p[N];
  uint64_t seed[N];
  for (size_t i = 0; i < N; i++) {
    p[i] = alloc_aligned(fn, align, sizes[i]);
    seed[i] = check_block(p[i], sizes[i], align);
  }
  for (size_t i = 0; i < N; i++)
    free_checked(p[i], sizes[i], seed[i]);
}

static void test_alignment(void)
{
  for (size_t align = 1; align <= 2 * TEST_MIB; align *= 2) {
    if (align >= sizeof(void *))
      check_alignment(USE_POSIX_MEMALIGN, align);
    check_alignment(USE_ALIGNED_ALLOC, align);
    if (API->memalign)
      check_alignment(USE_MEMALIGN, align);
  }
  for (size_t align = 4 * TEST_MIB; align <= 8 * TEST_MIB; align *= 2)
    check_alignment(USE_POSIX_MEMALIGN, align);
  /* Many small aligned blocks live together (no overlap, all aligned). */
  enum { N = 200 };
  void *p[N];
  uint64_t seed[N];
  for (int i = 0; i < N; i++) {
    size_t align = (size_t)64 << (i % 7);
    p[i] = alloc_aligned(USE_POSIX_MEMALIGN, align, (size_t)(i * 37 + 1));
    seed[i] = check_block(p[i], (size_t)(i * 37 + 1), align);
  }
  for (int i = 0; i < N; i++)
    free_checked(p[i], (size_t)(i * 37 + 1), seed[i]);
}

static void test_page_aligned(void)
{
  if (!API->valloc)
    return;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t sizes[] = { 1, 100, page - 1, page, page + 1, 3 * page,
                           R3_SMALL_MAX + 1, R3_MEDIUM_MAX + 1 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void *v = API->valloc(sizes[i]);
    free_checked(v, sizes[i], check_block(v, sizes[i], page));
    void *pv = API->pvalloc(sizes[i]);
    size_t rounded = (sizes[i] + page - 1) / page * page;
    free_checked(pv, rounded, check_block(pv, rounded, page));
  }
  void *pv0 = API->pvalloc(0);
  CHECK(pv0 != NULL && is_aligned(pv0, page));
  API->free(pv0);
}

/* realloc from a to b keeps the first min(a, b) bytes. */
static void check_realloc_pair(size_t from, size_t to)
{
  void *p = API->malloc(from);
  uint64_t seed = check_block(p, from, MIN_ALIGN);
  void *q = API->realloc(p, to);
  CHECKF(q != NULL, "realloc(%zu -> %zu) failed", from, to);
  CHECKF(is_aligned(q, MIN_ALIGN), "realloc result %p unaligned", q);
  CHECKF(API->usable_size(q) >= to, "realloc %zu -> %zu: usable %zu", from,
         to, API->usable_size(q));
  size_t kept = from < to ? from : to;
  size_t at = pattern_mismatch(q, kept, seed);
  CHECKF(at == kept, "realloc %zu -> %zu lost byte %zu", from, to, at);
  API->free(q);
}

static void test_realloc_contents(void)
{
  for (size_t i = 0; i < N_REALLOC_SIZES; i++)
    for (size_t j = 0; j < N_REALLOC_SIZES; j++)
      check_realloc_pair(realloc_sizes[i], realloc_sizes[j]);

  /* A chain through every edge size up, then down, refilling each time. */
  size_t size = 1;
  void *p = API->malloc(size);
  uint64_t seed = check_block(p, size, MIN_ALIGN);
  for (int pass = 0; pass < 2; pass++) {
    for (size_t k = 0; k < N_EDGE_SIZES; k++) {
      size_t next = edge_sizes[pass == 0 ? k : N_EDGE_SIZES - 1 - k];
      if (next == 0)
        continue;
      void *q = API->realloc(p, next);
      CHECKF(q != NULL, "realloc(%zu -> %zu) failed", size, next);
      size_t kept = size < next ? size : next;
      CHECKF(pattern_mismatch(q, kept, seed) == kept,
             "realloc chain %zu -> %zu lost contents", size, next);
      p = q;
      size = next;
      seed = check_block(p, size, MIN_ALIGN);
    }
  }
  free_checked(p, size, seed);

  /* Growing in small steps (the in-place paths) keeps every byte. */
  p = API->malloc(16);
  size = 16;
  seed = check_block(p, size, MIN_ALIGN);
  while (size < 3 * R3_MEDIUM_MAX) {
    size_t next = size + size / 3 + 8;
    void *q = API->realloc(p, next);
    CHECK(q != NULL);
    CHECK_PATTERN(q, size, seed);
    p = q;
    size = next;
    seed = check_block(p, size, MIN_ALIGN);
  }
  free_checked(p, size, seed);

  /* realloc(NULL, n) allocates; realloc(p, 0) frees and returns NULL. */
  p = API->realloc(NULL, 100);
  check_block(p, 100, MIN_ALIGN);
  CHECK(API->realloc(p, 0) == NULL);
}

static void test_reallocarray(void)
{
  int *a = API->reallocarray(NULL, 10, sizeof(int));
  CHECK(a != NULL);
  for (int i = 0; i < 10; i++)
    a[i] = i * 7;
  a = API->reallocarray(a, 100000, sizeof(int));
  CHECK(a != NULL);
  CHECK(API->usable_size(a) >= 100000 * sizeof(int));
  for (int i = 0; i < 10; i++)
    CHECK(a[i] == i * 7);
  a = API->reallocarray(a, 5, sizeof(int));
  CHECK(a != NULL);
  for (int i = 0; i < 5; i++)
    CHECK(a[i] == i * 7);
  API->free(a);
}

/* calloc must zero memory that was used before, whatever layer it comes
 * from: freshly freed small blocks, split TLSF blocks, recycled mappings. */
static void test_calloc_zeroes_reused(void)
{
  for (size_t i = 0; i < N_EDGE_SIZES; i++) {
    size_t size = edge_sizes[i];
    for (int round = 0; round < 3; round++) {
      enum { N = 8 };
      void *dirty[N];
      for (int k = 0; k < N; k++) {
        dirty[k] = API->malloc(size);
        CHECK(dirty[k] != NULL);
        memset(dirty[k], 0xA5, API->usable_size(dirty[k]));
      }
      for (int k = 0; k < N; k++)
        API->free(dirty[k]);
      /* The last round asks for n elements of size / n bytes. */
      size_t n = round == 2 && size >= 3 ? 3 : 1, asked = n * (size / n);
      for (int k = 0; k < N; k++) {
        dirty[k] = API->calloc(n, size / n);
        CHECK(dirty[k] != NULL);
        size_t at = first_nonzero(dirty[k], asked);
        CHECKF(at == asked, "calloc(%zu) at %p: byte %zu is not zero", asked,
               dirty[k], at);
      }
      for (int k = 0; k < N; k++)
        API->free(dirty[k]);
    }
  }
  /* A dirty large block split into smaller calloc results. */
  void *big = API->malloc(R3_MEDIUM_MAX / 2);
  CHECK(big != NULL);
  memset(big, 0xFF, R3_MEDIUM_MAX / 2);
  API->free(big);
  const size_t parts[] = { 100000, 300000, R3_SMALL_MAX + 1, 20000 };
  void *p[4];
  for (int k = 0; k < 4; k++) {
    p[k] = API->calloc(parts[k], 1);
    CHECK(p[k] != NULL);
    CHECK(first_nonzero(p[k], parts[k]) == parts[k]);
  }
  for (int k = 0; k < 4; k++)
    API->free(p[k]);
  /* Shrinking a dirty block with realloc, then calloc into the tail. */
  big = API->malloc(200000);
  memset(big, 0x5A, 200000);
  big = API->realloc(big, 20000);
  void *tail = API->calloc(1, 150000);
  CHECK(tail != NULL && first_nonzero(tail, 150000) == 150000);
  API->free(tail);
  API->free(big);
}

#define CHECK_ENOMEM(expr)                                                   \
  do {                                                                       \
    errno = 0;                                                               \
    void *r_ = (expr);                                                       \
    CHECKF(r_ == NULL && errno == ENOMEM, "%s: got %p, errno %d", #expr, r_, \
           errno);                                                           \
  } while (0)

static void test_bad_sizes(void)
{
  const size_t half = SIZE_MAX / 2 + 1;
  CHECK_ENOMEM(API->malloc(SIZE_MAX));
  CHECK_ENOMEM(API->malloc(SIZE_MAX - 4096));
  CHECK_ENOMEM(API->malloc(half));
  CHECK_ENOMEM(API->malloc((size_t)1 << 60));
  CHECK_ENOMEM(API->calloc(half, 2));
  CHECK_ENOMEM(API->calloc(2, half));
  CHECK_ENOMEM(API->calloc((size_t)1 << 32, (size_t)1 << 32));
  CHECK_ENOMEM(API->calloc(SIZE_MAX, SIZE_MAX));
  CHECK_ENOMEM(API->calloc(1, SIZE_MAX));
  CHECK_ENOMEM(API->reallocarray(NULL, half, 2));
  CHECK_ENOMEM(API->reallocarray(NULL, (size_t)1 << 33, (size_t)1 << 31));
  CHECK_ENOMEM(API->aligned_alloc(16, SIZE_MAX));
  CHECK_ENOMEM(API->aligned_alloc(4096, SIZE_MAX - 100));
  void *out = (void *)&out;
  CHECK(API->posix_memalign(&out, 16, SIZE_MAX) == ENOMEM);
  CHECK(API->posix_memalign(&out, 2 * TEST_MIB, SIZE_MAX - TEST_MIB) == ENOMEM);
}

/* A failed realloc or reallocarray leaves the block as it was. */
static void test_failed_realloc_keeps_block(void)
{
  const size_t sizes[] = { 40, R3_SMALL_MAX + 100, R3_MEDIUM_MAX + 100 };
  for (size_t i = 0; i < 3; i++) {
    size_t size = sizes[i];
    void *p = API->malloc(size);
    uint64_t seed = check_block(p, size, MIN_ALIGN);
    CHECK_ENOMEM(API->realloc(p, SIZE_MAX));
    CHECK_ENOMEM(API->realloc(p, SIZE_MAX / 2 + 1));
    CHECK_ENOMEM(API->reallocarray(p, SIZE_MAX / 2 + 1, 4));
    CHECK_ENOMEM(API->reallocarray(p, (size_t)1 << 40, (size_t)1 << 40));
    CHECK(API->usable_size(p) >= size);
    CHECK_PATTERN(p, size, seed);
    CHECK(r3_heap_check() == 0);
    free_checked(p, size, seed);
  }
}

static void test_bad_alignment(void)
{
  const size_t bad[] = { 0, 1, 2, 4, 3, 12, 24, 48, 100, 3 * TEST_MIB,
                         ((size_t)1 << 63) + 8 };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    void *out = (void *)&out;
    int rc = API->posix_memalign(&out, bad[i], 64);
    CHECKF(rc == EINVAL, "posix_memalign(align %zu) returned %d", bad[i], rc);
    CHECKF(out == (void *)&out, "posix_memalign(align %zu) changed *out",
           bad[i]);
  }
  const size_t bad_c11[] = { 3, 12, 24, 48, 100, 3 * TEST_MIB };
  for (size_t i = 0; i < sizeof bad_c11 / sizeof bad_c11[0]; i++) {
    errno = 0;
    void *p = API->aligned_alloc(bad_c11[i], 64);
    CHECKF(p == NULL && errno == EINVAL, "aligned_alloc(%zu): %p, errno %d",
           bad_c11[i], p, errno);
  }
}

static void test_maintenance_calls(void)
{
  /* Leave some free memory of every layer behind, then give it back. */
  void *p[3] = { API->malloc(100), API->malloc(100000), API->malloc(3 * TEST_MIB) };
  for (int i = 0; i < 3; i++) {
    CHECK(p[i] != NULL);
    memset(p[i], 1, 100);
  }
  void *keep = API->malloc(200);
  uint64_t seed = check_block(keep, 200, MIN_ALIGN);
  for (int i = 0; i < 3; i++)
    API->free(p[i]);
  r3_collect();
  CHECK(r3_heap_check() == 0);
  CHECK_PATTERN(keep, 200, seed);
  /* Memory handed back can be handed out again. */
  for (int i = 0; i < 3; i++) {
    void *q = API->malloc(i == 0 ? 100 : i == 1 ? 100000 : 3 * TEST_MIB);
    CHECK(q != NULL);
    memset(q, 2, 100);
    API->free(q);
  }
  free_checked(keep, 200, seed);

  FILE *f = tmpfile();
  CHECK(f != NULL);
  r3_stats_print(f);
  CHECKF(ftell(f) > 0, "r3_stats_print wrote nothing");
  fclose(f);
}

struct test_case {
  const char *name;
  void (*run)(void);
};

static const struct test_case tests[] = {
  { "malloc_sizes", test_malloc_sizes },
  { "malloc_zero_unique", test_malloc_zero_unique },
  { "alignment", test_alignment },
  { "page_aligned", test_page_aligned },
  { "realloc_contents", test_realloc_contents },
  { "reallocarray", test_reallocarray },
  { "calloc_zeroes_reused", test_calloc_zeroes_reused },
  { "bad_sizes", test_bad_sizes },
  { "failed_realloc_keeps_block", test_failed_realloc_keeps_block },
  { "bad_alignment", test_bad_alignment },
  { "maintenance_calls", test_maintenance_calls },
};

int main(void)
{
  alloc_api_check_origin();
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    clock_t start = clock();
    tests[i].run();
    CHECKF(r3_heap_check() == 0, "heap check failed after %s", tests[i].name);
    fprintf(stderr, "[%s] %s: ok (%.2f s CPU)\n", test_api.name, tests[i].name,
            (double)(clock() - start) / CLOCKS_PER_SEC);
  }
  return 0;
}
