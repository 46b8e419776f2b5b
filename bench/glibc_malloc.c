/* libbench-glibc-malloc.so: routes the malloc family to glibc's allocator.
 *
 * Some programs are linked with another allocator (Debian's redis-server
 * with libjemalloc.so.2); running them "without preload" would measure that
 * allocator, not glibc's. Preloading this library puts glibc's own malloc
 * first in symbol lookup, so the glibc row of the benchmark means glibc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *block, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
void __libc_free(void *block);

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t size) { return __libc_malloc(size); }
EXPORT void *calloc(size_t count, size_t size) { return __libc_calloc(count, size); }
EXPORT void *realloc(void *block, size_t size) { return __libc_realloc(block, size); }
EXPORT void free(void *block) { __libc_free(block); }
EXPORT void cfree(void *block) { __libc_free(block); }
EXPORT void *memalign(size_t alignment, size_t size) { return __libc_memalign(alignment, size); }
EXPORT void *aligned_alloc(size_t alignment, size_t size) { return __libc_memalign(alignment, size); }
EXPORT void *valloc(size_t size) { return __libc_valloc(size); }
EXPORT void *pvalloc(size_t size) { return __libc_pvalloc(size); }

EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
  if (alignment < sizeof(void *) || (alignment & (alignment - 1))) return EINVAL;
  void *block = __libc_memalign(alignment, size);
  if (!block) return ENOMEM;
  *out = block;
  return 0;
}

/* glibc exports malloc_usable_size under that name only, and RTLD_NEXT
 * would find the program's other allocator first: ask libc.so.6 itself. */
EXPORT size_t malloc_usable_size(void *block) {
  static size_t (*glibc_usable_size)(void *);
  if (!glibc_usable_size) {
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    glibc_usable_size = (size_t (*)(void *))(uintptr_t)dlsym(libc, "malloc_usable_size");
  }
  return glibc_usable_size(block);
}
