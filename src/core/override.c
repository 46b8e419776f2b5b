/* The C library's allocation functions, for LD_PRELOAD and for programs
 * linked with libr3malloc. malloc, free, calloc and realloc are aliases
 * defined in alloc.c; the rest of the family calls the r3_* functions. */
#include "internal.h"
#include <errno.h>
#include <unistd.h>

void *r3_memalign_internal(size_t align, size_t size);

#define EXPORT __attribute__((visibility("default")))

EXPORT void *reallocarray(void *p, size_t n, size_t size) { return r3_reallocarray(p, n, size); }
EXPORT int posix_memalign(void **out, size_t align, size_t size) { return r3_posix_memalign(out, align, size); }
EXPORT void *aligned_alloc(size_t align, size_t size) { return r3_aligned_alloc(align, size); }
EXPORT void *memalign(size_t align, size_t size) { return r3_memalign_internal(align, size); }
EXPORT size_t malloc_usable_size(void *p) { return r3_usable_size(p); }
EXPORT void cfree(void *p) { r3_free(p); }

EXPORT void *valloc(size_t size)
{
    return r3_memalign_internal(R3_OS_PAGE, size);
}

EXPORT void *pvalloc(size_t size)
{
    size_t rounded = (size + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1);
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return r3_memalign_internal(R3_OS_PAGE, rounded ? rounded : R3_OS_PAGE);
}

/* glibc-internal names that some programs and libraries call directly. */
EXPORT void *__libc_malloc(size_t size) { return r3_malloc(size); }
EXPORT void __libc_free(void *p) { r3_free(p); }
EXPORT void *__libc_calloc(size_t n, size_t size) { return r3_calloc(n, size); }
EXPORT void *__libc_realloc(void *p, size_t size) { return r3_realloc(p, size); }
EXPORT void *__libc_memalign(size_t align, size_t size) { return r3_memalign_internal(align, size); }
EXPORT int malloc_trim(size_t pad) { (void)pad; return r3_collect() > 0; }
