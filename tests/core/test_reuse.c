/* Memory touched by one phase of a program is reused by the next. A program
 * that works through many size classes one after the other, each phase
 * freeing all it allocated, must not keep every class's page resident: the
 * RSS growth over twelve phases stays near one phase's footprint.
 *
 * Each phase allocates PHASE_BYTES in blocks of one small class (writing
 * every byte), then frees them. PHASE_BYTES is below one 64 KiB page, so
 * the blocks of a phase all come from one page that becomes its class's
 * only page, and empty, when the phase ends: the page the next class takes.
 * Links the r3_* API only, so the C library's own allocations stay out of
 * the measured heap. */
#include "r3malloc.h"
#include "test_util.h"

#define PHASE_BYTES (48 * 1024)
#define MAX_BLOCKS (PHASE_BYTES / 16)
#define PHASES 12
/* Twelve pages kept resident would be 576 KiB; one page and the spares a
 * heap may keep cost less than half of that. */
#define GROWTH_LIMIT_KIB 256

static void *blocks[MAX_BLOCKS];

static void run_phase(size_t size)
{
  size_t n = PHASE_BYTES / size;
  for (size_t i = 0; i < n; i++) {
    blocks[i] = r3_malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], (int)(i & 0xff), size);
  }
  for (size_t i = 0; i < n; i++) {
    CHECK(((unsigned char *)blocks[i])[size - 1] == (unsigned char)(i & 0xff));
    r3_free(blocks[i]);
  }
}

int main(void)
{
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
  return 0;
}
