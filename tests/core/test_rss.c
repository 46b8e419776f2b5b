/* Freed memory goes back to the OS. Allocates 1 GiB in small, medium and
 * huge blocks, touches every byte, frees it all in random order, then:
 *   test_rss collect   calls r3_collect(): RSS must be under 64 MiB;
 *   test_rss decay     (run with R3MALLOC_DECAY_MS=200 and a retain bound
 *                      above 1 GiB, R3MALLOC_RETAIN_MB=4096) keeps the
 *                      allocator active with a small r3_malloc/r3_free pair
 *                      every 50 ms: RSS must fall under 64 MiB within the
 *                      decay delay plus a margin.
 * Links the r3_* API only, so the bookkeeping arrays use the C library's
 * malloc and do not disturb the measured heap. */
#define _GNU_SOURCE
#include <time.h>

#include "r3malloc.h"
#include "test_util.h"

#define TOTAL (1024 * TEST_MIB)
#define RSS_LIMIT_KIB (64 * 1024L)
#define DECAY_MS 200
#define DECAY_MARGIN_MS 3000
#define ACTIVITY_PERIOD_MS 50

struct layer {
  size_t min, max, bytes_wanted, bytes_done;
};

static void **blocks;
static size_t n_blocks;

/* 40% of the bytes in small blocks, 35% medium, 25% huge, interleaved. */
static void allocate_gigabyte(uint64_t *rng)
{
  struct layer layers[3] = {
    { 16, R3_SMALL_MAX, TOTAL / 100 * 40, 0 },
    { R3_SMALL_MAX + 1, R3_MEDIUM_MAX, TOTAL / 100 * 35, 0 },
    { R3_MEDIUM_MAX + 1, 8 * TEST_MIB, TOTAL / 100 * 25, 0 },
  };
  size_t capacity = 1 << 16;
  blocks = malloc(capacity * sizeof *blocks);
  CHECK(blocks != NULL);
  for (;;) {
    struct layer *pick = NULL;
    for (int i = 0; i < 3; i++)
      if (layers[i].bytes_done < layers[i].bytes_wanted &&
          (!pick || rng_next(rng) % 2))
        pick = &layers[i];
    if (!pick)
      break;
    size_t size = rng_range(rng, pick->min, pick->max);
    void *p = r3_malloc(size);
    CHECKF(p != NULL, "r3_malloc(%zu) failed", size);
    memset(p, 0x3C, size);
    pick->bytes_done += size;
    if (n_blocks == capacity) {
      capacity *= 2;
      blocks = realloc(blocks, capacity * sizeof *blocks);
      CHECK(blocks != NULL);
    }
    blocks[n_blocks++] = p;
  }
}

static void free_all_shuffled(uint64_t *rng)
{
  for (size_t i = n_blocks; i > 1; i--) {
    size_t j = rng_next(rng) % i;
    void *t = blocks[i - 1];
    blocks[i - 1] = blocks[j];
    blocks[j] = t;
  }
  for (size_t i = 0; i < n_blocks; i++)
    r3_free(blocks[i]);
  free(blocks);
  blocks = NULL;
}

static long now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void wait_for_decay(void)
{
  const char *decay = getenv("R3MALLOC_DECAY_MS");
  CHECKF(decay && atoi(decay) == DECAY_MS, "run with R3MALLOC_DECAY_MS=%d "
         "(and R3MALLOC_RETAIN_MB=4096 where a background purger runs)", DECAY_MS);
  long freed_at = now_ms();
  long rss = rss_kib();
  while (rss >= RSS_LIMIT_KIB && now_ms() - freed_at < DECAY_MS + DECAY_MARGIN_MS) {
    struct timespec period = { 0, ACTIVITY_PERIOD_MS * 1000000L };
    nanosleep(&period, NULL);
    r3_free(r3_malloc(64));
    rss = rss_kib();
  }
  fprintf(stderr, "RSS %ld KiB %ld ms after the frees\n", rss,
          now_ms() - freed_at);
  CHECKF(rss < RSS_LIMIT_KIB, "RSS %ld KiB after %d ms + %d ms margin", rss,
         DECAY_MS, DECAY_MARGIN_MS);
}

int main(int argc, char **argv)
{
  CHECK(argc == 2);
  int collect = strcmp(argv[1], "collect") == 0;
  CHECK(collect || strcmp(argv[1], "decay") == 0);
  uint64_t rng = 12345;
  allocate_gigabyte(&rng);
  long full = rss_kib();
  fprintf(stderr, "%zu blocks, RSS %ld KiB while allocated\n", n_blocks, full);
  CHECK(full > (long)(TOTAL / 1024) * 9 / 10);
  free_all_shuffled(&rng);
  if (collect) {
    size_t returned = r3_collect();
    long rss = rss_kib();
    fprintf(stderr, "r3_collect returned %zu bytes, RSS now %ld KiB\n",
            returned, rss);
    CHECKF(rss < RSS_LIMIT_KIB, "RSS %ld KiB after r3_collect", rss);
  } else {
    wait_for_decay();
  }
  CHECK(r3_heap_check() == 0);
  return 0;
}
