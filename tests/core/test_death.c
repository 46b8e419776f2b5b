/* Heap misuse is reported, not survived: a double free or a free of a
 * pointer the allocator did not hand out prints one line
 * "r3malloc: <what> <pointer>" on stderr and aborts. Each case runs in a
 * forked child; the parent checks SIGABRT and the line.
 *
 * Every build detects double frees of medium and huge blocks, the common
 * small double free (the block freed twice in a row) and foreign pointers;
 * TEST_SECURE=1 (the R3_SECURE builds) adds the small double frees that
 * only an exact allocation bitmap sees. Builds with threads add a second
 * free, from another thread, of a block of a page that the first frees
 * gave back to the system (its owner idle). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/mman.h>

#include "alloc_api.h"
#include "r3malloc.h"
#include "test_util.h"

#ifndef TEST_SECURE
#define TEST_SECURE 0
#endif
#ifndef TEST_NO_THREADS
#include <pthread.h>
#endif

#define API (&test_api)

/* The pointer the child is about to misuse, shared with the parent. */
static void *volatile *expected_pointer;

static void misuse(void *p)
{
  *expected_pointer = p;
  API->free(p);
}

static void double_free(size_t size)
{
  void *p = API->malloc(size);
  CHECK(p != NULL);
  API->free(p);
  misuse(p);
}

static void double_free_small(void *arg)
{
  (void)arg;
  double_free(48);
}

static void double_free_medium(void *arg)
{
  (void)arg;
  double_free(100000);
}

static void double_free_huge(void *arg)
{
  (void)arg;
  double_free(4 * TEST_MIB);
}

/* The first block of two neighbours is freed again after both coalesced. */
static void double_free_medium_coalesced(void *arg)
{
  (void)arg;
  void *a = API->malloc(50000), *b = API->malloc(50000);
  void *c = API->malloc(50000);
  CHECK(a && b && c);
  API->free(a);
  API->free(b);
  misuse(a);
}

/* Secure builds: a small double free with other frees in between. */
static void double_free_small_later(void *arg)
{
  (void)arg;
  void *p = API->malloc(48), *q = API->malloc(48), *r = API->malloc(200);
  CHECK(p && q && r);
  API->free(p);
  API->free(q);
  API->free(r);
  void *others[64];
  for (int i = 0; i < 64; i++)
    others[i] = API->malloc((size_t)(i * 13 % 300) + 100);
  for (int i = 0; i < 64; i++)
    API->free(others[i]);
  misuse(p);
}

#ifndef TEST_NO_THREADS
/* Two pages' worth of 48-byte blocks: the first page is full. Another
 * thread frees all of them while this one waits, so the first page is
 * given back, then frees its first block again. */
#define PURGED_BLOCKS (2 * 65536 / 48)
static void *purged_blocks[PURGED_BLOCKS];

static void *free_all_then_again(void *arg)
{
  (void)arg;
  for (size_t i = 0; i < PURGED_BLOCKS; i++)
    API->free(purged_blocks[i]);
  misuse(purged_blocks[0]);
  return NULL;
}

/* A thread allocates ten 3000-byte blocks, frees five and exits: its page
 * waits for another thread. A thread that keeps the exited one's heap
 * structure busy, then a third thread takes the page over by allocating
 * the class and frees again a block that was already free on it. */
static void *adopted[10];
static pthread_barrier_t adopted_hold;

static void *fill_then_exit(void *arg)
{
  (void)arg;
  for (int i = 0; i < 10; i++)
    CHECK((adopted[i] = API->malloc(3000)) != NULL);
  for (int i = 0; i < 5; i++)
    API->free(adopted[i]);
  return NULL;
}

static void *hold_a_heap(void *arg)
{
  (void)arg;
  void *p = API->malloc(16);
  CHECK(p != NULL);
  pthread_barrier_wait(&adopted_hold);
  pthread_barrier_wait(&adopted_hold);
  API->free(p);
  return NULL;
}

static void *adopt_then_free_again(void *arg)
{
  (void)arg;
  void *q = API->malloc(3000);
  CHECK(q != NULL);
  misuse(q == adopted[0] ? adopted[1] : adopted[0]);
  return NULL;
}

static void double_free_small_adopted(void *arg)
{
  (void)arg;
  pthread_t a, keeper, b;
  pthread_barrier_init(&adopted_hold, NULL, 2);
  CHECK(pthread_create(&a, NULL, fill_then_exit, NULL) == 0);
  pthread_join(a, NULL);
  CHECK(pthread_create(&keeper, NULL, hold_a_heap, NULL) == 0);
  pthread_barrier_wait(&adopted_hold);
  CHECK(pthread_create(&b, NULL, adopt_then_free_again, NULL) == 0);
  pthread_join(b, NULL);
  pthread_barrier_wait(&adopted_hold);
  pthread_join(keeper, NULL);
}

static void double_free_small_purged(void *arg)
{
  (void)arg;
  for (size_t i = 0; i < PURGED_BLOCKS; i++)
    CHECK((purged_blocks[i] = API->malloc(48)) != NULL);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, free_all_then_again, NULL) == 0);
  pthread_join(t, NULL);
}
#endif

static void free_stack(void *arg)
{
  (void)arg;
  char buffer[256];
  memset(buffer, 0, sizeof buffer);
  misuse(buffer + 64);
}

static void free_interior(size_t size, size_t offset)
{
  char *p = API->malloc(size);
  CHECK(p != NULL);
  misuse(p + offset);
}

/* The default build's free fast path checks alignment only; the exact
 * block-boundary check is the secure build's (docs/design.md, Misuse). */
static void free_interior_small(void *arg)
{
  (void)arg;
  free_interior(64, 16);
}

static void free_interior_small_misaligned(void *arg)
{
  (void)arg;
  free_interior(64, 8);
}

static void free_interior_medium(void *arg)
{
  (void)arg;
  free_interior(100000, 64);
}

static void free_interior_huge(void *arg)
{
  (void)arg;
  free_interior(4 * TEST_MIB, 4096);
}

static void free_foreign_mmap(void *arg)
{
  (void)arg;
  char *m = mmap(NULL, TEST_MIB, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  misuse(m + 64);
}

/* A foreign mapping that starts on a large power-of-two boundary, where an
 * allocator that finds its segment headers by masking the address would
 * read the foreign mapping's (zero) bytes as a header. */
static void free_foreign_mmap_aligned(void *arg)
{
  (void)arg;
  const size_t boundary = 32 * TEST_MIB;
  char *m = mmap(NULL, 2 * boundary, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CHECK(m != MAP_FAILED);
  char *aligned = (char *)(((uintptr_t)m + boundary - 1) & ~(boundary - 1));
  misuse(aligned + 256);
}

static void realloc_stack(void *arg)
{
  (void)arg;
  char buffer[256];
  memset(buffer, 0, sizeof buffer);
  *expected_pointer = buffer + 32;
  API->realloc(buffer + 32, 1000);
}

static void realloc_freed_medium(void *arg)
{
  (void)arg;
  void *p = API->malloc(100000), *guard = API->malloc(100000);
  CHECK(p && guard);
  API->free(p);
  *expected_pointer = p;
  API->realloc(p, 200000);
}

struct death_case {
  const char *name;
  void (*run)(void *);
  bool secure_only;
};

static const struct death_case cases[] = {
  { "double_free_small", double_free_small, false },
  { "double_free_medium", double_free_medium, false },
  { "double_free_huge", double_free_huge, false },
  { "double_free_medium_coalesced", double_free_medium_coalesced, false },
  { "double_free_small_later", double_free_small_later, true },
#ifndef TEST_NO_THREADS
  { "double_free_small_purged", double_free_small_purged, false },
  { "double_free_small_adopted", double_free_small_adopted, false },
#endif
  { "free_stack", free_stack, false },
  { "free_interior_small", free_interior_small, true },
  { "free_interior_small_misaligned", free_interior_small_misaligned, false },
  { "free_interior_medium", free_interior_medium, false },
  { "free_interior_huge", free_interior_huge, false },
  { "free_foreign_mmap", free_foreign_mmap, false },
  { "free_foreign_mmap_aligned", free_foreign_mmap_aligned, false },
  { "realloc_stack", realloc_stack, false },
  { "realloc_freed_medium", realloc_freed_medium, false },
};

/* Returns true when the child aborted with exactly the expected line. */
static bool check_report(const char *name, const struct child_result *r,
                         const void *pointer)
{
  char hex[32];
  snprintf(hex, sizeof hex, "%lx", (unsigned long)(uintptr_t)pointer);
  const char *newline = strchr(r->err, '\n');
  bool aborted = WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT;
  bool one_line = newline != NULL && newline[1] == '\0';
  bool prefix = strncmp(r->err, "r3malloc: ", 10) == 0;
  bool names = newline != NULL && strstr(r->err, hex) != NULL &&
               strstr(r->err, hex) < newline;
  if (aborted && one_line && prefix && names)
    return true;
  fprintf(stderr, "FAIL [%s] %s: pointer %p; ", test_api.name, name, pointer);
  if (WIFSIGNALED(r->status))
    fprintf(stderr, "killed by signal %d", WTERMSIG(r->status));
  else
    fprintf(stderr, "exited %d (not detected)", WEXITSTATUS(r->status));
  fprintf(stderr, "; stderr was: \"%s\"\n", r->err);
  return false;
}

int main(void)
{
  alloc_api_check_origin();
  expected_pointer = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(expected_pointer != MAP_FAILED);
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].secure_only && !TEST_SECURE)
      continue;
    struct child_result r;
    *expected_pointer = NULL;
    run_child(cases[i].run, NULL, &r);
    if (check_report(cases[i].name, &r, *expected_pointer))
      fprintf(stderr, "ok [%s] %s: %s", test_api.name, cases[i].name, r.err);
    else
      failures++;
  }
  CHECK(r3_heap_check() == 0);
  return failures ? 1 : 0;
}
