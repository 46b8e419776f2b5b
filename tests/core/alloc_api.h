/* The allocation entry points under test, as a table, so that one test
 * source checks both the r3_* API (alloc_api_r3.c, linked with a static
 * r3api variant) and the C library names exported by the shared library
 * (alloc_api_libc.c, linked with a shared r3malloc variant). */
#ifndef R3_TEST_ALLOC_API_H
#define R3_TEST_ALLOC_API_H

#include <stddef.h>

struct alloc_api {
  const char *name;
  void *(*malloc)(size_t size);
  void *(*calloc)(size_t n, size_t size);
  void *(*realloc)(void *p, size_t size);
  void *(*reallocarray)(void *p, size_t n, size_t size);
  void (*free)(void *p);
  int (*posix_memalign)(void **out, size_t align, size_t size);
  void *(*aligned_alloc)(size_t align, size_t size);
  size_t (*usable_size)(void *p);
  /* Present only for the C library names (NULL for r3_*). */
  void *(*memalign)(size_t align, size_t size);
  void *(*valloc)(size_t size);
  void *(*pvalloc)(size_t size);
};

extern const struct alloc_api test_api;

/* Fails the test when the entry points are not the allocator's (e.g. the C
 * library's malloc was linked instead of the override). */
void alloc_api_check_origin(void);

#endif
