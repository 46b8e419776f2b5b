/* Running code in a child process whose stderr the test reads: the way the
 * tests check that misuse aborts with one line. Shared by every test tree
 * (core, pool, rt); depends on the C library only. */
#ifndef R3_TEST_CHILD_H
#define R3_TEST_CHILD_H
#include "check.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct child_result {
  int status;       /* as from waitpid */
  char err[8192];   /* the child's stderr, NUL-terminated, truncated */
};

/* Runs fn(arg) in a forked child that exits 0 when fn returns, capturing
 * the child's stderr into out->err. The child gets an alarm so that a hang
 * fails instead of blocking the test. */
static inline void run_child(void (*fn)(void *), void *arg,
                             struct child_result *out)
{
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    close(fds[1]);
    alarm(60);
    fn(arg);
    _exit(0);
  }
  close(fds[1]);
  size_t len = 0;
  for (;;) {
    char buf[1024];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t room = sizeof out->err - 1 - len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(out->err + len, buf, take);
    len += take;
  }
  out->err[len] = '\0';
  close(fds[0]);
  CHECK(waitpid(pid, &out->status, 0) == pid);
}

struct child_fn { void (*fn)(void); };

static inline void child_call(void *arg)
{
  ((const struct child_fn *)arg)->fn();
}

/* True when fn(), run in a child, ended with SIGABRT after writing a line
 * that starts with prefix; *out holds what happened either way. */
static inline int child_aborts_with(void (*fn)(void), const char *prefix,
                                    struct child_result *out)
{
  struct child_fn call = { fn };
  run_child(child_call, &call, out);
  return WIFSIGNALED(out->status) && WTERMSIG(out->status) == SIGABRT &&
         strncmp(out->err, prefix, strlen(prefix)) == 0;
}

#endif
