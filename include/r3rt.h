/* r3rt: a real-time heap with bounded worst-case time.
 *
 * A heap manages one fixed region, either memory the caller owns
 * (r3_rt_init) or a capacity the heap reserves, pre-faults and optionally
 * locks in RAM (r3_rt_create). After that, r3_rt_malloc, r3_rt_free,
 * r3_rt_realloc, r3_rt_memalign and r3_rt_calloc:
 *   - make no system call (an uncontended heap; see "Locking"),
 *   - take no page fault on heap metadata (a created heap is pre-faulted),
 *   - do an amount of work bounded by a constant that depends on neither the
 *     heap's size nor its state (TLSF: two bitmap searches, no list walk),
 *     plus, for realloc/calloc, a copy or clear bounded by the size asked.
 * docs/realtime.md states the bounds as formulas and tests/rt/ proves them
 * by counting work over a million random operations.
 *
 * Several heaps can live side by side; each function takes the heap as a
 * handle, and NULL names the default heap (r3_rt_set_default).
 *
 * Locking: each heap has its own lock, held only for O(1) work (the
 * copy of realloc and the clear of calloc run outside it). Waiting for the
 * lock is the only unbounded part; a heap made with R3_RT_NONBLOCKING makes
 * exactly one lock attempt per call and fails with EBUSY instead of waiting
 * (and so never makes the futex calls a waiting lock needs).
 *
 * Robustness: a pointer that is not a live block of the heap (foreign,
 * interior, misaligned, already freed) is detected in O(1) from the block
 * headers and rejected with EINVAL, changing nothing (data the program
 * shapes into fake block headers on purpose can defeat the check: see
 * docs/realtime.md, "Known limits"); with
 * R3_RT_ABORT_ON_MISUSE it is reported as "r3malloc: <what> <pointer>" and
 * the process aborts. Exhaustion returns NULL with errno ENOMEM.
 */
#ifndef R3RT_H
#define R3RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct r3_rt_heap r3_rt_heap;

/* Flags of r3_rt_create / r3_rt_init_flags. */
#define R3_RT_PREFAULT        1u  /* touch the whole capacity at creation
                                     (always on in the R3_REALTIME build) */
#define R3_RT_MLOCK           2u  /* lock the capacity in RAM (implies
                                     PREFAULT); creation fails with EPERM or
                                     ENOMEM when mlock is refused */
#define R3_RT_NONBLOCKING     4u  /* one lock attempt per call; EBUSY when
                                     another thread holds the lock */
#define R3_RT_ABORT_ON_MISUSE 8u  /* bad pointers abort instead of EINVAL */

/* The smallest region r3_rt_init accepts (the heap's own bookkeeping plus
 * one minimal block). */
size_t r3_rt_min_size(void);

/* Makes a heap over [mem, mem + size), which the caller owns and keeps
 * mapped until r3_rt_destroy. The heap's bookkeeping lives at the start of
 * the region. mem is aligned up to 64 bytes internally.
 * Errors: NULL/EINVAL when mem is NULL or size < r3_rt_min_size(), or flags
 * hold an unknown bit. R3_RT_PREFAULT and R3_RT_MLOCK apply to the region.
 * Not thread-safe with respect to the same memory. O(1) (O(size) with
 * PREFAULT/MLOCK). */
r3_rt_heap *r3_rt_init(void *mem, size_t size);
r3_rt_heap *r3_rt_init_flags(void *mem, size_t size, unsigned flags);

/* Reserves capacity bytes of memory (plus the bookkeeping) from the OS and
 * makes a heap over it; with PREFAULT (or the R3_REALTIME build) every page
 * is touched now, so that no later operation takes a page fault.
 * Errors: NULL/EINVAL for a capacity of 0 or unknown flags, NULL/ENOMEM when
 * the OS refuses, NULL/EPERM or ENOMEM when MLOCK is refused.
 * Thread-safe. O(capacity) when pre-faulting, else O(1). */
r3_rt_heap *r3_rt_create(size_t capacity, unsigned flags);

/* Ends a heap: unmaps the memory of a created heap; for r3_rt_init the
 * caller's memory is left alone. Every block of the heap dies with it. If
 * it was the default heap, there is no default heap afterwards.
 * Returns 0, or -EINVAL for a handle that is not a live heap. The caller
 * ensures no other thread uses the heap. A heap over caller memory answers
 * EINVAL to any later call while that memory stays mapped; a created heap's
 * handle points to unmapped memory afterwards and must not be used.
 * O(1) (munmap for created heaps). */
int r3_rt_destroy(r3_rt_heap *heap);

/* Makes heap the default heap (the one NULL names); NULL clears it.
 * Returns 0 or -EINVAL for a dead handle. Thread-safe (atomic). O(1). */
int r3_rt_set_default(r3_rt_heap *heap);
r3_rt_heap *r3_rt_default(void);

/* Allocates size bytes, 16-byte aligned (size 0 gives a unique minimal
 * block). Errors: NULL/ENOMEM when no free block fits, NULL/EINVAL when
 * heap is dead or NULL without a default heap, NULL/EBUSY for a contended
 * NONBLOCKING heap. Thread-safe. O(1). */
void *r3_rt_malloc(r3_rt_heap *heap, size_t size);

/* n * size zeroed bytes; NULL/ENOMEM when the product overflows.
 * Otherwise as r3_rt_malloc, plus an O(n * size) clear outside the lock. */
void *r3_rt_calloc(r3_rt_heap *heap, size_t n, size_t size);

/* size bytes aligned to align (a power of two; any size up to the heap's
 * capacity). Errors as r3_rt_malloc, plus NULL/EINVAL when align is not a
 * power of two. Thread-safe. O(1). */
void *r3_rt_memalign(r3_rt_heap *heap, size_t align, size_t size);

/* Frees p (NULL is allowed and does nothing). Returns 0, -EINVAL when p is
 * not a live block of the heap (nothing is changed; or abort with
 * ABORT_ON_MISUSE), -EBUSY for a contended NONBLOCKING heap (p stays
 * allocated). Thread-safe. O(1). */
int r3_rt_free(r3_rt_heap *heap, void *p);

/* Resizes p to size bytes keeping min(old, size) bytes of content. In place
 * when the block shrinks or its next neighbour is free and large enough;
 * otherwise allocates, copies and frees (the copy, O(min(old, size)), runs
 * outside the lock). realloc(NULL, n) is malloc(n); realloc(p, 0) frees p
 * and returns NULL with errno unchanged.
 * Errors: NULL/ENOMEM (p is untouched), NULL/EINVAL when p is not a live
 * block, NULL/EBUSY for a contended NONBLOCKING heap. Thread-safe. */
void *r3_rt_realloc(r3_rt_heap *heap, void *p, size_t size);

/* Bytes usable at p (>= the size asked for); 0 for NULL, 0 with errno
 * EINVAL when p is not a live block (or heap not a live heap), 0 with errno
 * EBUSY for a contended NONBLOCKING heap. Thread-safe. O(1). */
size_t r3_rt_usable_size(r3_rt_heap *heap, const void *p);

typedef struct r3_rt_stats {
    size_t capacity;          /* payload bytes of the empty heap */
    size_t bytes_used;        /* usable bytes of live blocks */
    size_t bytes_free;        /* payload bytes of free blocks */
    size_t peak_used;         /* highest bytes_used so far */
    size_t blocks_used;       /* live blocks */
    uint64_t allocs;          /* successful malloc/calloc/memalign/realloc */
    uint64_t frees;
    uint64_t failed;          /* ENOMEM answers */
    uint64_t rejected;        /* bad pointers (EINVAL answers) */
    uint64_t busy;            /* EBUSY answers */
} r3_rt_stats;

/* Copies the heap's counters. Returns 0 or -EINVAL. Thread-safe. O(1). */
int r3_rt_get_stats(r3_rt_heap *heap, r3_rt_stats *out);

/* Checks every invariant of the heap (TLSF's block tiling, lists and
 * bitmaps, and the heap's own accounting). Returns 0 when all hold,
 * otherwise prints the first violation on stderr and returns a negative
 * number. Holds the lock for O(blocks): not for real-time paths. */
int r3_rt_check(r3_rt_heap *heap);

/* The work one operation did, counted in the R3_WORK_COUNTERS=1 build
 * (library variant r3api_rt) for the bounded-time proof. */
typedef struct r3_rt_work {
    uint32_t list_nodes;      /* free-list nodes read or linked */
    uint32_t bitmap_words;    /* TLSF bitmap words read or written */
    uint32_t lock_attempts;   /* lock acquisitions tried (1 uncontended) */
    uint32_t tlsf_calls;      /* TLSF operations made */
    size_t bytes_copied;      /* realloc's copy and calloc's clear */
} r3_rt_work;

/* The work of the calling thread's last r3_rt_malloc, calloc, memalign,
 * realloc, free or usable_size call. Returns 0, or -ENOTSUP when the
 * library was built without R3_WORK_COUNTERS. Thread-safe (per thread). */
int r3_rt_last_work(r3_rt_work *out);

#ifdef __cplusplus
}
#endif
#endif
