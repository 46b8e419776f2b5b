/* Memory touched by one phase of a program is reused by the next.
 *
 * Part a: a program that works through many size classes one after the
 * other, each phase freeing all it allocated, must not keep every class's
 * page resident: the RSS growth over twelve phases stays near one phase's
 * footprint.
 *
 * Each phase allocates PHASE_BYTES in blocks of one small class (writing
 * every byte), then frees them. PHASE_BYTES is below one 64 KiB page, so
 * the blocks of a phase all come from one page that becomes its class's
 * only page, and empty, when the phase ends: the page the next class takes.
 *
 * Part b: the pages of a freed huge block, which wait in the huge-block
 * cache, become the segments that small blocks need next: 12 MiB of small
 * blocks after an 8 MiB block was freed add at most 8 MiB to RSS (the
 * segment that exists already gives its clean pages first; 13 MiB without
 * the reuse, about 4 with it).
 *
 * Part c (`test_reuse arena`, a process of its own, as the pages the other
 * parts leave behind would serve it): the large free blocks of an arena give
 * their pages back when small pages need a fresh segment. 3 MiB of medium
 * blocks freed, then 12 MiB of small blocks: RSS grows by less than 11 MiB
 * (12.3 while the arena keeps them, 9.3 when it gives them back).
 *
 * Part d (`test_reuse remote`, builds with threads): blocks freed by another
 * thread serve their owner again, and while the owner is idle their pages
 * do not stay resident. 4 MiB of 64-byte blocks allocated by the main
 * thread and freed by another, which then goes on working (4000 medium
 * operations, which pace the allocator's purge ticks as slow paths do),
 * while the main thread waits in pthread_join: RSS falls by more than
 * 3 MiB (full pages whose blocks have all come back are given back a few
 * ticks later; 0 when they wait for their owner).
 * Allocated again by the main thread: RSS ends less than 512 KiB above its
 * level before the frees (the same pages serve again), and r3_heap_check()
 * passes with the blocks in use and after they are freed (the count of
 * blocks that come back from other threads, kept with their list, must be
 * exact). A thread that came back for pages given back on its behalf was
 * not idle: freed by another thread a second time, its pages stay (RSS
 * falls by less than 1 MiB).
 *
 * Links the r3_* API only, so the C library's own allocations stay out of
 * the measured heap. */
#include <pthread.h>

#include "r3malloc.h"
#include "test_util.h"

#define PHASE_BYTES (48 * 1024)
#define MAX_BLOCKS (PHASE_BYTES / 16)
#define PHASES 12
/* Twelve pages kept resident would be 576 KiB; one page and the spares a
 * heap may keep cost less than half of that. */
#define GROWTH_LIMIT_KIB 256

static void *blocks[MAX_BLOCKS];

#define HUGE_BYTES (8 * TEST_MIB)
#define SMALL_BYTES (12 * TEST_MIB)
#define SMALL_SIZE 4096
#define HUGE_REUSE_LIMIT_KIB (8 * 1024)
#define MEDIUM_SIZE (256 * 1024)
#define MEDIUM_COUNT 12
#define ARENA_REUSE_LIMIT_KIB (11 * 1024)

/* n blocks of size into b, every byte of block i written with i. */
static void allocate_written(void **b, size_t n, size_t size)
{
  for (size_t i = 0; i < n; i++) {
    b[i] = r3_malloc(size);
    CHECK(b[i] != NULL);
    memset(b[i], (int)(i & 0xff), size);
  }
}

/* Checks the last byte of each of allocate_written's blocks, frees them. */
static void check_and_free(void **b, size_t n, size_t size)
{
  for (size_t i = 0; i < n; i++) {
    CHECK(((unsigned char *)b[i])[size - 1] == (unsigned char)(i & 0xff));
    r3_free(b[i]);
  }
}

static void run_phase(size_t size)
{
  allocate_written(blocks, PHASE_BYTES / size, size);
  check_and_free(blocks, PHASE_BYTES / size, size);
}

/* SMALL_BYTES of small blocks, written; returns the RSS growth. */
static long small_blocks_growth(const char *after)
{
  long before = rss_kib();
  static void *small[SMALL_BYTES / SMALL_SIZE];
  allocate_written(small, SMALL_BYTES / SMALL_SIZE, SMALL_SIZE);
  long growth = rss_kib() - before;
  fprintf(stderr, "RSS growth for %d MiB of small blocks after %s: %ld KiB\n",
          (int)(SMALL_BYTES / TEST_MIB), after, growth);
  check_and_free(small, SMALL_BYTES / SMALL_SIZE, SMALL_SIZE);
  return growth;
}

static void huge_then_small(void)
{
  char *huge = r3_malloc(HUGE_BYTES);
  CHECK(huge != NULL);
  memset(huge, 0x5A, HUGE_BYTES);
  r3_free(huge);
  long growth = small_blocks_growth("a freed huge block");
  CHECKF(growth < HUGE_REUSE_LIMIT_KIB, "RSS grew by %ld KiB", growth);
}

static void medium_then_small(void)
{
  void *medium[MEDIUM_COUNT];
  for (int i = 0; i < MEDIUM_COUNT; i++) {
    medium[i] = r3_malloc(MEDIUM_SIZE);
    CHECK(medium[i] != NULL);
    memset(medium[i], 0xA5, MEDIUM_SIZE);
  }
  for (int i = 0; i < MEDIUM_COUNT; i++)
    r3_free(medium[i]);
  long growth = small_blocks_growth("freed medium blocks");
  CHECKF(growth < ARENA_REUSE_LIMIT_KIB, "RSS grew by %ld KiB", growth);
}

#define REMOTE_SIZE 64
#define REMOTE_COUNT (4 * TEST_MIB / REMOTE_SIZE)
#define REMOTE_REUSE_LIMIT_KIB 512
#define REMOTE_RETURN_MIN_KIB (3 * 1024)
#define REMOTE_KEEP_MAX_KIB 1024

static void *remote[REMOTE_COUNT];

static void *free_all_remote(void *arg)
{
  (void)arg;
  check_and_free(remote, REMOTE_COUNT, REMOTE_SIZE);
  for (int i = 0; i < 2000; i++) {
    void *p = r3_malloc(32 * 1024);
    CHECK(p != NULL);
    r3_free(p);
  }
  return NULL;
}

/* Another thread frees every block of remote[] and works on; returns by
 * how much RSS fell meanwhile. */
static long free_by_another_thread(void)
{
  long before = rss_kib();
  pthread_t t;
  CHECK(pthread_create(&t, NULL, free_all_remote, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  return before - rss_kib();
}

static void freed_by_another_thread(void)
{
  allocate_written(remote, REMOTE_COUNT, REMOTE_SIZE);
  long filled = rss_kib();
  long returned = free_by_another_thread();
  CHECK(r3_heap_check() == 0);
  allocate_written(remote, REMOTE_COUNT, REMOTE_SIZE);
  long growth = rss_kib() - filled;
  fprintf(stderr, "%d MiB of blocks freed by another thread: RSS fell by %ld KiB; "
          "allocated again: RSS %ld KiB above its level before\n",
          (int)(REMOTE_COUNT * REMOTE_SIZE / TEST_MIB), returned, growth);
  CHECKF(returned > REMOTE_RETURN_MIN_KIB, "RSS fell by %ld KiB only", returned);
  CHECKF(growth < REMOTE_REUSE_LIMIT_KIB, "RSS grew by %ld KiB", growth);
  CHECK(r3_heap_check() == 0);
  long returned_again = free_by_another_thread();
  fprintf(stderr, "freed by another thread a second time: RSS fell by %ld KiB\n", returned_again);
  CHECKF(returned_again < REMOTE_KEEP_MAX_KIB, "RSS fell by %ld KiB", returned_again);
  CHECK(r3_heap_check() == 0);
  allocate_written(remote, REMOTE_COUNT, REMOTE_SIZE);
  for (size_t i = 0; i < REMOTE_COUNT; i++)
    r3_free(remote[i]);
  CHECK(r3_heap_check() == 0);
}

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "remote")) {
    freed_by_another_thread();
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "arena")) {
    medium_then_small();
    CHECK(r3_heap_check() == 0);
    return 0;
  }
  static const size_t sizes[PHASES] = {16, 32, 48, 64, 80, 96, 128, 256, 512, 1024, 2048, 4096};
  run_phase(sizes[0]);
  long after_first = rss_kib();
  for (int i = 1; i < PHASES; i++)
    run_phase(sizes[i]);
  long growth = rss_kib() - after_first;
  fprintf(stderr, "RSS after the first phase %ld KiB, growth over %d more phases %ld KiB\n",
          after_first, PHASES - 1, growth);
  CHECKF(growth < GROWTH_LIMIT_KIB, "RSS grew by %ld KiB", growth);
  CHECK(r3_heap_check() == 0);

  huge_then_small();
  CHECK(r3_heap_check() == 0);
  return 0;
}
