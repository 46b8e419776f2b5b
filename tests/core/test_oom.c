/* Out of memory from the OS: with the address space capped (RLIMIT_AS) a
 * child allocates blocks of each layer until the allocator returns NULL.
 * Every failure must be NULL/ENOMEM (never a crash), the blocks already
 * handed out stay intact, and once they are freed allocation works again. */
#define _GNU_SOURCE
#include "alloc_api.h"
#include "r3malloc.h"
#include "test_util.h"

#define API (&test_api)

/* Room left in the address space above what the process maps already. */
#define HEADROOM (96 * TEST_MIB)

struct chained_block {
  struct chained_block *next;
  size_t size;
};

static size_t mapped_bytes(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0;
  CHECK(f != NULL && fscanf(f, "%ld", &pages) == 1);
  fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* The blocks are chained through their own first bytes, so exhausting the
 * heap needs no other memory; the rest of each block holds its pattern. */
static struct chained_block *allocate_until_null(size_t size, size_t *count)
{
  struct chained_block *head = NULL;
  *count = 0;
  for (;;) {
    errno = 0;
    struct chained_block *b = API->malloc(size);
    if (!b) {
      CHECKF(errno == ENOMEM, "malloc(%zu) failed with errno %d", size, errno);
      return head;
    }
    b->next = head;
    b->size = size;
    pattern_fill(b + 1, size - sizeof *b, (uint64_t)(uintptr_t)b);
    head = b;
    ++*count;
  }
}

static void free_chain(struct chained_block *head)
{
  while (head) {
    struct chained_block *next = head->next;
    CHECK_PATTERN(head + 1, head->size - sizeof *head, (uint64_t)(uintptr_t)head);
    API->free(head);
    head = next;
  }
}

/* With the heap exhausted, the other entry points fail cleanly too. */
static void check_other_calls_fail(struct chained_block *victim)
{
  errno = 0;
  void *p = API->calloc(1, 64 * TEST_MIB);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(API->realloc(victim, 64 * TEST_MIB) == NULL && errno == ENOMEM);
  CHECK_PATTERN(victim + 1, victim->size - sizeof *victim,
                (uint64_t)(uintptr_t)victim);
  void *out = NULL;
  CHECK(API->posix_memalign(&out, 4096, 64 * TEST_MIB) == ENOMEM);
  errno = 0;
  CHECK(API->aligned_alloc(TEST_MIB, 64 * TEST_MIB) == NULL && errno == ENOMEM);
}

static void exhaust(void *arg)
{
  (void)arg;
  struct rlimit limit = { mapped_bytes() + HEADROOM, mapped_bytes() + HEADROOM };
  CHECK(setrlimit(RLIMIT_AS, &limit) == 0);
  const size_t sizes[] = { 48, 4000, 200 * TEST_KIB, 4 * TEST_MIB, 48 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t count;
    struct chained_block *chain = allocate_until_null(sizes[i], &count);
    CHECKF(count > 0, "no block of %zu bytes at all", sizes[i]);
    fprintf(stderr, "%zu blocks of %zu bytes before ENOMEM\n", count, sizes[i]);
    check_other_calls_fail(chain);
    free_chain(chain);
    r3_collect();
    CHECK(r3_heap_check() == 0);
  }
  /* After giving everything back, every layer serves again. */
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void *p = API->malloc(sizes[i]);
    CHECK(p != NULL);
    API->free(p);
  }
  exit(0);
}

int main(void)
{
  if (TEST_UNDER_SANITIZER) {
    printf("SKIP: sanitizers need the address space that this test caps\n");
    return TEST_SKIP_CODE;
  }
  alloc_api_check_origin();
  struct child_result r;
  run_child(exhaust, NULL, &r);
  fputs(r.err, stderr);
  if (WIFSIGNALED(r.status))
    fprintf(stderr, "child killed by signal %d\n", WTERMSIG(r.status));
  CHECK(child_exited_ok(&r));
  CHECK(r3_heap_check() == 0);
  return 0;
}
