/* The assertions of every test tree (core, pool, rel, rt): a failed check
 * names the place and the condition, then fails the test with exit(1). */
#ifndef R3_TEST_CHECK_H
#define R3_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,       \
              #cond);                                                        \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* CHECK with a message in printf form, for failures whose values matter. */
#define CHECKF(cond, ...)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__,       \
              #cond);                                                        \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                   \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#endif
