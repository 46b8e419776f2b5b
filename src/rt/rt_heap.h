/* Internals of the real-time heap (include/r3rt.h), shared by its files. */
#ifndef R3_RT_HEAP_H
#define R3_RT_HEAP_H
#include "r3rt.h"
#include "core/config.h"
#include "core/atomic.h"
#include "core/lock.h"
#include "core/tlsf.h"
#include <stdbool.h>

#define RT_HEAP_MAGIC 0x7233727468656170ull   /* "r3rtheap" */
#define RT_KNOWN_FLAGS (R3_RT_PREFAULT | R3_RT_MLOCK | R3_RT_NONBLOCKING | R3_RT_ABORT_ON_MISUSE)
/* The heap's bookkeeping sits before its TLSF region, rounded to a cache
 * line so the region and the lock do not share one with user data. */
#define RT_CACHE_LINE 64
#define RT_HEAP_SPAN  ((sizeof(struct r3_rt_heap) + RT_CACHE_LINE - 1) & ~(size_t)(RT_CACHE_LINE - 1))

struct r3_rt_heap {
    uint64_t magic;            /* RT_HEAP_MAGIC while the heap lives */
    r3_lock_t lock;            /* guards tlsf and stats */
    unsigned flags;
    char *region;              /* the TLSF region: [region, region + region_size) */
    size_t region_size;
    void *mapping;             /* what r3_rt_create mapped; NULL for r3_rt_init */
    size_t mapping_size;
    r3_rt_stats stats;         /* busy is kept in busy_answers */
    r3_atomic(uint64_t) busy_answers;   /* EBUSY answers: counted without the lock */
    tlsf tlsf;
};

/* Resolves NULL to the default heap and checks the handle; NULL/EINVAL
 * when there is no live heap. */
r3_rt_heap *rt_heap_resolve(r3_rt_heap *heap);

/* Takes the heap's lock: one attempt for a NONBLOCKING heap (false and
 * errno EBUSY when it is held), else waits. Counts the attempts. */
bool rt_lock(r3_rt_heap *h);
/* Takes the lock by waiting, whatever the heap's flags. */
void rt_lock_wait(r3_rt_heap *h);
void rt_unlock(r3_rt_heap *h);

/* True when p is the payload of a used block of h: O(1), from the block
 * headers (see rt_block.c). Called with the lock held. */
bool rt_block_is_live(const r3_rt_heap *h, const void *p);

/* Records a rejected pointer: aborts with ABORT_ON_MISUSE, else counts it
 * and sets errno EINVAL. Called with the lock held. */
void rt_reject(r3_rt_heap *h, const char *what, const void *p);

/* Work counting for the bounded-time proof (R3_WORK_COUNTERS=1). Each
 * public operation starts with rt_work_begin; every TLSF call is followed
 * by rt_work_add_tlsf. */
#if R3_WORK_COUNTERS
extern __thread r3_rt_work rt_work;
#define rt_work_begin()         (rt_work = (r3_rt_work){0, 0, 0, 0, 0})
#define rt_work_add_tlsf(h)     (rt_work.list_nodes += (h)->tlsf.work.list_nodes, \
                                 rt_work.bitmap_words += (h)->tlsf.work.bitmap_words, \
                                 rt_work.tlsf_calls++)
#define rt_work_add_lock()      (rt_work.lock_attempts++)
#define rt_work_add_bytes(n)    (rt_work.bytes_copied += (n))
#else
#define rt_work_begin()         ((void)0)
#define rt_work_add_tlsf(h)     ((void)(h))
#define rt_work_add_lock()      ((void)0)
#define rt_work_add_bytes(n)    ((void)(n))
#endif

#endif
