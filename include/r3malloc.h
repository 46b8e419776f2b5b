/* r3malloc: a general-purpose memory allocator.
 *
 * Linked as libr3malloc.so (or preloaded with LD_PRELOAD) it also provides
 * the C library's malloc family; this header is its native API.
 *
 * Design in one paragraph: requests up to R3_SMALL_MAX bytes come from
 * per-thread pages of one size class each (no lock, no atomic on the fast
 * path); larger ones up to R3_MEDIUM_MAX come from a bounded set of TLSF
 * arenas shared by threads with try-locks; larger ones still are mapped
 * directly. See docs/design.md.
 *
 * Thread safety: every function may be called from any thread at any time,
 * and a block may be freed by a thread other than the one that allocated it
 * (except in the R3_MT=0 build, which is for single-threaded programs).
 *
 * Errors follow the C library: NULL with errno = ENOMEM when memory cannot
 * be had or a size is impossible. A pointer passed to free or realloc that
 * this allocator did not hand out, or one freed twice, is reported as
 * "r3malloc: <what> <pointer>" on stderr and the process aborts.
 */
#ifndef R3MALLOC_H
#define R3MALLOC_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define R3_VERSION "0.1.0"

/* Size limits between the allocator's layers (see docs/design.md). */
#define R3_SMALL_MAX  ((size_t)16384)
#define R3_MEDIUM_MAX ((size_t)1 << 20)

/* Allocates size bytes, 16-byte aligned; malloc(0) returns a unique pointer.
 * NULL/ENOMEM on failure. O(1) amortised; O(1) worst case for medium sizes
 * once the arena holds enough memory. */
void  *r3_malloc(size_t size);

/* Allocates n * size zeroed bytes. NULL/ENOMEM when the product overflows. */
void  *r3_calloc(size_t n, size_t size);

/* Resizes p, keeping min(old, new) bytes. Grows or shrinks in place when the
 * layer allows (a free TLSF neighbour, mremap for huge blocks). realloc(NULL,
 * n) is malloc(n); realloc(p, 0) frees p and returns NULL. On failure returns
 * NULL/ENOMEM and p is untouched. */
void  *r3_realloc(void *p, size_t size);

/* realloc(p, n * size) with overflow checking (NULL/ENOMEM). */
void  *r3_reallocarray(void *p, size_t n, size_t size);

/* Frees p (NULL is allowed). O(1); a free from another thread is a lock-free
 * push for small blocks. */
void   r3_free(void *p);

/* Aligned allocation: align a power of two that is a multiple of
 * sizeof(void *). Returns 0, EINVAL for a bad alignment, ENOMEM. */
int    r3_posix_memalign(void **out, size_t align, size_t size);

/* C11 aligned_alloc: align a power of two; NULL/EINVAL otherwise. */
void  *r3_aligned_alloc(size_t align, size_t size);

/* The number of bytes usable at p (>= the size asked for); 0 for NULL. */
size_t r3_usable_size(const void *p);

/* Walks every structure of the allocator and checks its invariants.
 * Returns 0 when all hold; otherwise prints what is wrong on stderr and
 * returns a negative number. Takes every lock in turn: O(heap size). */
int    r3_heap_check(void);

/* Returns free memory to the OS now, ignoring the decay delay. Returns the
 * number of bytes given back. O(heap size). */
size_t r3_collect(void);

/* Prints counters and sizes (more in the R3_STATS=1 build). */
void   r3_stats_print(FILE *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
