/* Options from the environment. The test runs itself again (as a fresh
 * process, since options are read once) with R3MALLOC_* variables set and
 * checks the effect:
 *   R3MALLOC_SHOW_STATS=1  statistics naming r3malloc on stderr at exit
 *                          (and nothing on stderr without it);
 *   R3MALLOC_VERBOSE=1     the allocator says something on stderr;
 *   R3MALLOC_ARENAS=1      8 threads share one arena correctly;
 *   malformed or extreme values are ignored or clamped, never fatal. */
#define _GNU_SOURCE
#include <pthread.h>

#include "r3malloc.h"
#include "test_util.h"

extern char **environ;

#define THREADS 8

/* ---- what the re-executed child does ---------------------------------- */

static void *arena_worker(void *arg)
{
  uint64_t rng = (uint64_t)(uintptr_t)arg + 1;
  enum { N = 16 };
  void *p[N] = { 0 };
  size_t size[N] = { 0 };
  for (int round = 0; round < 500; round++) {
    int i = (int)(rng_next(&rng) % N);
    if (p[i]) {
      CHECK_PATTERN(p[i], size[i], pattern_seed(p[i], size[i]));
      r3_free(p[i]);
    }
    size[i] = rng_next(&rng) % 3 ? rng_range(&rng, R3_SMALL_MAX + 1, 64 * TEST_KIB)
                                 : rng_range(&rng, 1, 1000);
    p[i] = r3_malloc(size[i]);
    CHECK(p[i] != NULL);
    pattern_fill(p[i], size[i], pattern_seed(p[i], size[i]));
  }
  for (int i = 0; i < N; i++)
    r3_free(p[i]);
  return NULL;
}

/* Allocates in every layer from 8 threads and checks the heap. */
static int child_workload(void)
{
  pthread_t threads[THREADS];
  for (long i = 0; i < THREADS; i++)
    CHECK(pthread_create(&threads[i], NULL, arena_worker, (void *)i) == 0);
  for (int i = 0; i < THREADS; i++)
    CHECK(pthread_join(threads[i], NULL) == 0);
  void *huge = r3_malloc(3 * TEST_MIB);
  CHECK(huge != NULL);
  r3_free(huge);
  CHECK(r3_heap_check() == 0);
  return 0;
}

/* ---- the parent: run the child with an environment, inspect stderr ---- */

static char self_path[4096];

/* Runs the child workload with the current environment minus R3MALLOC_*
 * plus the given "NAME=value" entry (or none). */
static void run_with(const char *setting, struct child_result *r)
{
  char *envp[512];
  size_t n = 0;
  for (char **e = environ; *e && n < 510; e++)
    if (strncmp(*e, "R3MALLOC_", 9) != 0)
      envp[n++] = *e;
  if (setting)
    envp[n++] = (char *)setting;
  envp[n] = NULL;
  char *argv[] = { self_path, (char *)"child", NULL };
  run_program(argv, envp, r);
  if (!child_exited_ok(r))
    fprintf(stderr, "child with %s failed (status 0x%x): %s\n",
            setting ? setting : "no options", r->status, r->err);
  CHECK(child_exited_ok(r));
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "child") == 0)
    return child_workload();
  ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  CHECK(len > 0);
  self_path[len] = '\0';

  struct child_result r;
  run_with(NULL, &r);
  CHECKF(r.err[0] == '\0', "stderr without options: \"%s\"", r.err);

  run_with("R3MALLOC_SHOW_STATS=1", &r);
  CHECKF(strstr(r.err, "r3malloc") != NULL, "no statistics at exit: \"%s\"",
         r.err);

  run_with("R3MALLOC_VERBOSE=1", &r);
  CHECKF(strstr(r.err, "r3malloc") != NULL, "verbose said nothing: \"%s\"",
         r.err);

  const char *tolerated[] = {
    "R3MALLOC_ARENAS=1", "R3MALLOC_ARENAS=0", "R3MALLOC_ARENAS=100000",
    "R3MALLOC_ARENAS=junk", "R3MALLOC_DECAY_MS=0", "R3MALLOC_DECAY_MS=-5",
    "R3MALLOC_DECAY_MS=99999999999999999999", "R3MALLOC_SHOW_STATS=",
    "R3MALLOC_VERBOSE=0",
  };
  for (size_t i = 0; i < sizeof tolerated / sizeof tolerated[0]; i++)
    run_with(tolerated[i], &r);
  return 0;
}
