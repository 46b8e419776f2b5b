/* Huge blocks (above R3_MEDIUM_MAX) and the cache of freed huge memory.
 *
 * A freed huge block's pages wait in the cache; a new huge block is made of
 * them, cut from one larger piece or gathered from several smaller ones.
 * Checked here: contents survive realloc of such blocks (a gathered block
 * spans several kernel mappings, which mremap cannot resize as one), calloc
 * clears reused pages, and reusing cached pages takes almost no page faults.
 * Run with a long decay delay so that nothing leaves the cache meanwhile. */
#include <sys/resource.h>

#include "r3malloc.h"
#include "test_util.h"

static long minor_faults(void)
{
  struct rusage ru;
  CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
  return ru.ru_minflt;
}

static void *filled_block(size_t size, unsigned seed)
{
  void *p = r3_malloc(size);
  CHECK(p != NULL);
  pattern_fill(p, size, seed);
  return p;
}

static void check_zero(const unsigned char *p, size_t size)
{
  for (size_t i = 0; i < size; i += 512)
    CHECKF(p[i] == 0, "byte %zu of a calloc'd block is %d", i, p[i]);
  CHECK(p[size - 1] == 0);
}

/* Pieces of 3 and 2 MiB in the cache; 4.5 MiB cannot be cut from either, so
 * it is gathered from both, then grown and shrunk by realloc. */
static void gathered_block_resizes(void)
{
  r3_free(filled_block(3 * TEST_MIB, 1));
  r3_free(filled_block(2 * TEST_MIB, 2));
  size_t size = 4 * TEST_MIB + TEST_MIB / 2;
  unsigned char *p = r3_calloc(1, size);
  CHECK(p != NULL);
  check_zero(p, size);
  pattern_fill(p, size, 3);
  p = r3_realloc(p, 9 * TEST_MIB);
  CHECK(p != NULL);
  CHECK_PATTERN(p, size, 3);
  p = r3_realloc(p, 2 * TEST_MIB);
  CHECK(p != NULL);
  CHECK_PATTERN(p, 2 * TEST_MIB, 3);
  r3_free(p);
}

/* One 12 MiB piece serves three blocks, each cut from what is left (the
 * cut-off tails are not on a 4 MiB boundary and are moved there). */
static void cut_blocks_are_separate(void)
{
  r3_free(filled_block(12 * TEST_MIB, 4));
  void *a = filled_block(3 * TEST_MIB, 5);
  unsigned char *b = r3_calloc(1, 3 * TEST_MIB);
  CHECK(b != NULL);
  check_zero(b, 3 * TEST_MIB);
  void *c = filled_block(3 * TEST_MIB, 6);
  pattern_fill(b, 3 * TEST_MIB, 7);
  CHECK_PATTERN(a, 3 * TEST_MIB, 5);
  CHECK_PATTERN(c, 3 * TEST_MIB, 6);
  CHECK(r3_usable_size(a) >= 3 * TEST_MIB);
  r3_free(a);
  r3_free(b);
  r3_free(c);
}

/* 32 MiB freed in 4 MiB blocks, then taken again as 6 MiB blocks: nearly
 * every page comes from the cache, so nearly none faults. */
static void cached_pages_take_no_faults(void)
{
  void *blocks[8];
  for (int i = 0; i < 8; i++)
    blocks[i] = filled_block(4 * TEST_MIB, (unsigned)i);
  for (int i = 0; i < 8; i++)
    r3_free(blocks[i]);
  long before = minor_faults();
  for (int i = 0; i < 5; i++)
    blocks[i] = filled_block(6 * TEST_MIB, (unsigned)i);
  long faults = minor_faults() - before;
  long pages = 5 * 6 * TEST_MIB / 4096;
  fprintf(stderr, "%ld faults for %ld pages taken from the cache\n", faults, pages);
  if (!TEST_UNDER_SANITIZER)   /* shadow memory faults in too */
    CHECKF(faults < pages / 4, "%ld faults for %ld pages", faults, pages);
  for (int i = 0; i < 5; i++)
    r3_free(blocks[i]);
}

int main(void)
{
  gathered_block_resizes();
  cut_blocks_are_separate();
  cached_pages_take_no_faults();
  CHECK(r3_heap_check() == 0);
  return 0;
}
