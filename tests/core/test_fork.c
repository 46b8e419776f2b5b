/* fork() leaves the child a consistent allocator. Runs with the C library
 * names taken from the shared r3malloc, because fork, stdio and pthread
 * allocate through them.
 *
 * 1. The main thread forks repeatedly while worker threads allocate, free
 *    and call fflush(NULL) (the stdio lock order trap of fork); each child
 *    allocates and frees in every layer, checks the heap and exits 0.
 * 2. A signal handler forks, once while the interrupted thread is idle
 *    (the child allocates) and repeatedly while the interrupted thread is
 *    allocating (the child only exits: what it interrupted may be half
 *    done). Neither parent nor child may hang.
 * 3. Full pages whose blocks another thread has freed, claimed to be given
 *    back (core/page.c), when the process forks: the child gives them back
 *    (r3_collect) or takes them back by allocating, the parent takes them
 *    back; both heaps check. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "r3malloc.h"
#include "test_util.h"

#define WORKERS 4
#define FORKS 60
#define SIGNAL_FORKS 60

static atomic_bool stop_workers;

static void allocate_and_free_everywhere(uint64_t *rng)
{
  const size_t sizes[] = { 16, 200, 3000, R3_SMALL_MAX + 1, 70000,
                           R3_MEDIUM_MAX - 1, R3_MEDIUM_MAX + 1 };
  void *p[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t size = sizes[i] + (size_t)(rng_next(rng) % 64);
    p[i] = malloc(size);
    CHECK(p[i] != NULL);
    pattern_fill(p[i], size, size);
    p[i] = realloc(p[i], size * 2);
    CHECK(p[i] != NULL);
    CHECK_PATTERN(p[i], size, size);
  }
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    free(p[i]);
}

static void *worker_main(void *arg)
{
  uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 1;
  FILE *sink = fopen("/dev/null", "w");
  CHECK(sink != NULL);
  void *held[16] = { 0 };
  for (long i = 0; !atomic_load_explicit(&stop_workers, memory_order_relaxed); i++) {
    size_t slot = rng_next(&rng) % 16;
    free(held[slot]);
    held[slot] = malloc(rng_next(&rng) % 4 == 0 ? rng_range(&rng, 8193, 300000)
                                                : rng_range(&rng, 1, 2000));
    CHECK(held[slot] != NULL);
    if (i % 32 == 0) {
      fprintf(sink, "%ld\n", i);
      fflush(NULL);
    }
  }
  for (int k = 0; k < 16; k++)
    free(held[k]);
  fclose(sink);
  return NULL;
}

static void start_workers(pthread_t *threads, void *(*fn)(void *))
{
  atomic_store(&stop_workers, false);
  for (long i = 0; i < WORKERS; i++)
    CHECK(pthread_create(&threads[i], NULL, fn, (void *)i) == 0);
}

static void stop_and_join(pthread_t *threads)
{
  atomic_store(&stop_workers, true);
  for (int i = 0; i < WORKERS; i++)
    CHECK(pthread_join(threads[i], NULL) == 0);
}

static void expect_clean_exit(pid_t pid, const char *what)
{
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status))
    fprintf(stderr, "%s: child killed by signal %d\n", what, WTERMSIG(status));
  CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child failed", what);
}

static void child_body(uint64_t seed)
{
  alarm(20);
  allocate_and_free_everywhere(&seed);
  char *line = NULL;
  CHECK(asprintf(&line, "child %d", (int)getpid()) > 0);
  free(line);
  CHECK(r3_heap_check() == 0);
}

static void test_fork_while_allocating(void)
{
  pthread_t threads[WORKERS];
  start_workers(threads, worker_main);
  for (int i = 0; i < FORKS; i++) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      child_body((uint64_t)i + 1);
      exit(0);
    }
    expect_clean_exit(pid, "fork while allocating");
    uint64_t rng = (uint64_t)i + 100;
    allocate_and_free_everywhere(&rng);
  }
  stop_and_join(threads);
  CHECK(r3_heap_check() == 0);
}

#define CLAIMED_BLOCKS (1024 * 1024 / 64)
static void *claimed[CLAIMED_BLOCKS];

static void *free_claimed(void *arg)
{
  (void)arg;
  for (size_t i = 0; i < CLAIMED_BLOCKS; i++)
    free(claimed[i]);
  return NULL;
}

static void allocate_claimed(void)
{
  for (size_t i = 0; i < CLAIMED_BLOCKS; i++) {
    claimed[i] = malloc(64);
    CHECK(claimed[i] != NULL);
    memset(claimed[i], (int)(i & 0xff), 64);
  }
}

static void test_fork_with_claimed_pages(void)
{
  for (int round = 0; round < 2; round++) {
    allocate_claimed();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_claimed, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      alarm(20);
      if (round == 0)
        r3_collect();
      allocate_claimed();
      CHECK(r3_heap_check() == 0);
      free_claimed(NULL);
      CHECK(r3_heap_check() == 0);
      exit(0);
    }
    expect_clean_exit(pid, "fork with claimed pages");
    allocate_claimed();
    CHECK(r3_heap_check() == 0);
    free_claimed(NULL);
  }
}

/* Children forked by the handler, reaped by the thread that sent the
 * signals; handler_forks counts the entries already stored. */
static pid_t handler_children[SIGNAL_FORKS + 1];
static atomic_int handler_slots, handler_forks;
static volatile sig_atomic_t child_allocates;

static void fork_in_handler(int sig)
{
  (void)sig;
  int saved_errno = errno;
  pid_t pid = fork();
  if (pid == 0) {
    if (child_allocates)
      child_body(42);
    _exit(0);
  }
  int n = atomic_fetch_add(&handler_slots, 1);
  if (n <= SIGNAL_FORKS)
    handler_children[n] = pid;
  atomic_fetch_add(&handler_forks, 1);
  errno = saved_errno;
}

/* A fork that does not return within seconds is a deadlock (e.g. a fork
 * handler waiting for a lock that the interrupted thread holds); report it
 * rather than wait for the test timeout. */
static void wait_for_handler_fork(int before)
{
  for (int i = 0; atomic_load(&handler_forks) == before; i++) {
    if (i == 5000) {
      fprintf(stderr, "fork in a signal handler that interrupted a thread "
                      "inside the allocator hung (fork %d)\n", before);
      _exit(1);
    }
    struct timespec ms = { 0, 1000000 };
    nanosleep(&ms, NULL);
  }
}

static void *allocating_target(void *arg)
{
  (void)arg;
  uint64_t rng = 5;
  while (!atomic_load_explicit(&stop_workers, memory_order_relaxed))
    allocate_and_free_everywhere(&rng);
  return NULL;
}

static void test_fork_in_signal_handler(void)
{
  struct sigaction sa = { 0 };
  sa.sa_handler = fork_in_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

  /* The handler runs in this idle thread while workers allocate. */
  pthread_t threads[WORKERS];
  start_workers(threads, worker_main);
  child_allocates = 1;
  CHECK(raise(SIGUSR1) == 0);
  stop_and_join(threads);
  CHECK(atomic_load(&handler_forks) == 1);
  CHECK(handler_children[0] > 0);
  expect_clean_exit(handler_children[0], "fork in handler, child allocates");

  /* The handler interrupts a thread inside the allocator. */
  child_allocates = 0;
  atomic_store(&handler_slots, 0);
  atomic_store(&handler_forks, 0);
  start_workers(threads, allocating_target);
  for (int i = 0; i < SIGNAL_FORKS; i++) {
    int before = atomic_load(&handler_forks);
    CHECK(pthread_kill(threads[i % WORKERS], SIGUSR1) == 0);
    wait_for_handler_fork(before);
    expect_clean_exit(handler_children[before], "fork in handler");
  }
  stop_and_join(threads);
  CHECK(r3_heap_check() == 0);
}

int main(void)
{
  alarm(120);
  test_fork_while_allocating();
  fprintf(stderr, "%d forks while threads allocate: ok\n", FORKS);
  test_fork_in_signal_handler();
  fprintf(stderr, "%d forks in signal handlers: ok\n", SIGNAL_FORKS + 1);
  test_fork_with_claimed_pages();
  fprintf(stderr, "forks with claimed pages: ok\n");
  return 0;
}
