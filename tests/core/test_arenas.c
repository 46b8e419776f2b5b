/* The bounded set of medium arenas. Each arena holds free memory that the
 * others cannot use, so one is added only when the lock is saturated:
 *   - a single thread keeps one arena;
 *   - threads whose medium allocations seldom meet keep one arena;
 *   - threads that do nothing but medium allocations never get more arenas
 *     than the cap (one per CPU), and their blocks stay intact while they
 *     move between arenas;
 *   - the cap is the number of CPUs the process may run on (checked again
 *     in a copy of the test started on one CPU).
 * The counts come from r3_stats_print's "arenas N (cap M)" line. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "r3malloc.h"
#include "test_util.h"

#define THREADS 8
#define CHECKED_BYTES 256   /* the pattern covers each block's first bytes */

/* "arenas N (cap M)" */
static void arena_counts(unsigned *count, unsigned *cap)
{
  *count = stats_number("arenas");
  *cap = stats_number("(cap");
}

static size_t checked(size_t size) { return size < CHECKED_BYTES ? size : CHECKED_BYTES; }

/* ops operations on a window of 16 blocks; one in medium_every is a medium
 * size, the others small. */
static void churn(uint64_t seed, int ops, int medium_every)
{
  uint64_t rng = seed * 2654435761u + 1;
  enum { N = 16 };
  void *p[N] = { 0 };
  size_t size[N] = { 0 };
  for (int op = 0; op < ops; op++) {
    int i = (int)(rng_next(&rng) % N);
    if (p[i]) {
      CHECK_PATTERN(p[i], checked(size[i]), pattern_seed(p[i], size[i]));
      r3_free(p[i]);
    }
    size[i] = rng_next(&rng) % (uint64_t)medium_every == 0
                  ? rng_range(&rng, R3_SMALL_MAX + 1, 64 * TEST_KIB)
                  : rng_range(&rng, 1, 512);
    p[i] = r3_malloc(size[i]);
    CHECK(p[i] != NULL);
    pattern_fill(p[i], checked(size[i]), pattern_seed(p[i], size[i]));
  }
  for (int i = 0; i < N; i++) {
    if (p[i])
      CHECK_PATTERN(p[i], checked(size[i]), pattern_seed(p[i], size[i]));
    r3_free(p[i]);
  }
}

struct work { long seed; int ops, medium_every; };

static void *worker(void *arg)
{
  struct work *w = arg;
  churn((uint64_t)w->seed, w->ops, w->medium_every);
  return NULL;
}

static void run_threads(int ops, int medium_every)
{
  pthread_t threads[THREADS];
  struct work work[THREADS];
  for (int i = 0; i < THREADS; i++) {
    work[i] = (struct work){ i + 1, ops, medium_every };
    CHECK(pthread_create(&threads[i], NULL, worker, &work[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++)
    CHECK(pthread_join(threads[i], NULL) == 0);
  CHECK(r3_heap_check() == 0);
}

#define MAX_ARENAS 256      /* the library's bound on the cap */

static cpu_set_t allowed_cpus(void)
{
  cpu_set_t set;
  CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
  return set;
}

static unsigned expected_cap(void)
{
  cpu_set_t set = allowed_cpus();
  unsigned n = (unsigned)CPU_COUNT(&set);
  return n < MAX_ARENAS ? n : MAX_ARENAS;
}

/* Restarts this test on one of its CPUs alone; the copy checks its cap and
 * stops. */
static void exec_on_one_cpu(void *unused)
{
  (void)unused;
  cpu_set_t set = allowed_cpus(), one;
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
    cpu++;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) == 0)
    execl("/proc/self/exe", "test_arenas", "one-cpu", (char *)NULL);
  _exit(126);
}

static void check_cap_on_one_cpu(void)
{
  struct child_result r;
  run_child(exec_on_one_cpu, NULL, &r);
  CHECKF(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
         "on one CPU: status %d, %s", r.status, r.err);
}

int main(int argc, char **argv)
{
  unsigned count, cap;

  if (!getenv("R3MALLOC_ARENAS")) {        /* the default cap */
    arena_counts(&count, &cap);
    CHECKF(cap == expected_cap(), "cap %u, expected %u", cap, expected_cap());
    if (argc > 1 && strcmp(argv[1], "one-cpu") == 0)
      return cap == 1 ? 0 : 1;      /* the copy of check_cap_on_one_cpu */
    check_cap_on_one_cpu();
  }

  churn(100, 20000, 1);
  arena_counts(&count, &cap);
  CHECKF(count == 1, "one thread: %u arenas", count);

  run_threads(20000, 1000);
  arena_counts(&count, &cap);
  CHECKF(count == 1, "seldom-meeting threads: %u arenas", count);

  run_threads(20000, 1);
  arena_counts(&count, &cap);
  CHECKF(count >= 1 && count <= cap, "medium-only threads: %u arenas, cap %u", count, cap);
  fprintf(stderr, "arenas after medium-only threads: %u (cap %u)\n", count, cap);
  return 0;
}
