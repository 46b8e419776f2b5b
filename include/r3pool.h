/* r3pool: memory pools with CPU-core and NUMA affinity.
 *
 * A pool is memory reserved from the operating system in which allocation
 * and release happen without going back to the general allocator. Two kinds
 * of pool share one handle, r3_pool_t:
 *
 *   fixed-block pools  every block has the size fixed at creation; blocks
 *                      are allocated and freed one by one in O(1). When the
 *                      blocks run out the pool grows by another block_count
 *                      blocks, unless a capacity limit was set.
 *   region pools       (as in Apache APR) bump allocation of any size in
 *                      chained chunks; no per-object free; everything is
 *                      released at once by r3_pool_clear or r3_pool_destroy.
 *
 * Both kinds have child pools, which are destroyed with their parent (and
 * when the parent is cleared), and cleanup callbacks, which run in reverse
 * order of registration when the pool is cleared or destroyed.
 *
 * A per-CPU pool set (r3_pool_percpu_*) holds one fixed-block sub-pool per
 * CPU, each on its own cache lines and placed on that CPU's NUMA node; a
 * thread allocates from the sub-pool of the CPU it runs on, so threads on
 * different cores share no lock and no cache line, and a block freed on
 * another CPU goes back to its owner through a lock-free list.
 *
 * Memory comes straight from the OS (mmap), never from malloc: destroying a
 * pool gives its memory back to the system.
 *
 * Errors: functions that return a pointer return NULL and set errno
 * (EINVAL for a bad argument, ENOMEM when memory cannot be had or a limit
 * is reached); functions that return int return 0 or a negative errno value
 * and also set errno. A pointer given to r3_pfree that the pool did not hand
 * out, or a block freed twice, is an error (-EINVAL) in every build; the
 * debug build (R3_DEBUG=1) instead prints "r3malloc: <what> <pointer>" and
 * aborts, and it also detects the use of a destroyed pool.
 *
 * Thread safety: a pool created unsynchronised (the default, like APR) must
 * be used by one thread at a time. A pool created with thread_safe = 1 may
 * be used by any number of threads at once, except for r3_pool_clear and
 * r3_pool_destroy, which must not race with other calls on the same pool.
 * Per-CPU sets are always safe for concurrent allocation and free.
 *
 * Short names: define R3_POOL_SHORT_NAMES before including this header to
 * get pool_create, pool_clear, pool_destroy, palloc, pcalloc and pfree as
 * static inline wrappers. They are never exported by the library, so a
 * preloaded r3malloc cannot shadow another program's own palloc.
 */
#ifndef R3POOL_H
#define R3POOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct r3_pool r3_pool_t;
typedef struct r3_pool_percpu r3_pool_percpu_t;

typedef enum r3_pool_kind {
    R3_POOL_FIXED = 0,   /* blocks of one size, freed one by one */
    R3_POOL_REGION = 1   /* bump allocation of any size, freed all at once */
} r3_pool_kind;

/* No node / no CPU: the pool's memory follows the kernel's default policy. */
#define R3_POOL_ANY (-1)

/* Options for r3_pool_create_ex and r3_pool_percpu_create. Start from
 * R3_POOL_OPTIONS_INIT so that new fields keep their defaults. */
typedef struct r3_pool_options {
    r3_pool_kind kind;
    /* Fixed pools: bytes per block (rounded up to a multiple of 16) and the
     * number of blocks reserved at creation and at each growth step.
     * Region pools: bytes of the first chunk (0: 64 KiB); block_count unused. */
    size_t block_size;
    size_t block_count;
    /* Fixed pools: the most blocks the pool may ever hold (0: no limit).
     * Region pools: the most bytes of chunks the pool may hold (0: no limit).
     * Past the limit allocation fails with ENOMEM. */
    size_t capacity;
    /* The pool is destroyed (and cleared) with its parent. NULL: a root. */
    r3_pool_t *parent;
    /* 0: unsynchronised (one thread at a time); 1: safe for concurrent use. */
    int thread_safe;
    /* Affinity: a NUMA node whose memory the pool uses, or a CPU (the pool
     * then uses that CPU's node). R3_POOL_ANY for either means no binding;
     * when both are given they must agree. */
    int node;
    int cpu;
} r3_pool_options;

#define R3_POOL_OPTIONS_INIT \
    { R3_POOL_FIXED, 0, 0, 0, NULL, 0, R3_POOL_ANY, R3_POOL_ANY }

/* What a pool holds now (not counting its children). */
typedef struct r3_pool_stats {
    r3_pool_kind kind;
    size_t block_size;      /* fixed pools: the rounded block size; region: 0 */
    size_t blocks_in_use;   /* fixed: blocks handed out and not freed;
                               region: chunks used since the last clear */
    size_t blocks_total;    /* fixed: blocks reserved; region: chunks held
                               (used, and kept for reuse by a clear) */
    size_t bytes_in_use;    /* bytes handed out (region: with alignment) */
    size_t bytes_reserved;  /* bytes mapped from the OS for this pool */
    size_t children;        /* live child pools */
    size_t lock_waits;      /* thread-safe pools: times the lock was found
                               taken by another thread (contention) */
    int node;               /* the NUMA node the pool is bound to, or -1 */
} r3_pool_stats;

/* Creates an unsynchronised fixed-block pool of block_count blocks of
 * block_size bytes, reserved now; it grows by block_count blocks when they
 * run out. NULL/EINVAL when a size is 0 or the product overflows,
 * NULL/ENOMEM when the memory cannot be mapped. O(1) (the blocks are
 * reserved, not touched). */
r3_pool_t *r3_pool_create(size_t block_size, size_t block_count);

/* Creates an unsynchronised region pool, a child of parent (NULL: a root).
 * NULL/EINVAL for a destroyed parent, NULL/ENOMEM. O(1). */
r3_pool_t *r3_pool_create_region(r3_pool_t *parent);

/* Creates a pool as described by opts (see r3_pool_options).
 * NULL/EINVAL for NULL opts, an unknown kind, a zero or overflowing size, an
 * unknown node or CPU, a node and a CPU that disagree; NULL/ENOMEM.
 * Thread-safe with respect to other pools; a parent that is not thread-safe
 * must not be used by another thread at the same time. O(1). */
r3_pool_t *r3_pool_create_ex(const r3_pool_options *opts);

/* Allocates n bytes from pool, 16-byte aligned.
 * Fixed pools: one block, n <= block_size (else NULL/EINVAL); O(1), and
 * O(block_count) page-table work only when the pool grows.
 * Region pools: any n; O(1). NULL/ENOMEM when n is impossibly large or the
 * capacity limit is reached, NULL/EINVAL for a NULL or destroyed pool. */
void *r3_palloc(r3_pool_t *pool, size_t n);

/* r3_palloc, then the n bytes are zeroed (reused memory included). O(n). */
void *r3_pcalloc(r3_pool_t *pool, size_t n);

/* Gives one block back to a fixed pool. O(1). p == NULL is allowed (0).
 * Returns -EINVAL (errno EINVAL) when pool is NULL or destroyed, when p is
 * not a block of this pool (another pool's, malloc's, an interior pointer,
 * one not handed out since the last clear) or was already freed; the debug
 * build aborts on the latter two. Region
 * pools have no per-object free: -ENOTSUP. */
int r3_pfree(r3_pool_t *pool, void *p);

/* Destroys the children, runs the cleanups (last registered first), and
 * makes every block unused again. The memory stays mapped and is reused by
 * later allocations without new system calls. NULL is ignored.
 * O(children + cleanups + chunks or slabs). */
void r3_pool_clear(r3_pool_t *pool);

/* Destroys the children first, runs the cleanups, then returns all of the
 * pool's memory to the system. NULL is ignored. After this call the pool
 * handle is invalid (the debug build detects its use and aborts).
 * O(children + cleanups + chunks or slabs). */
void r3_pool_destroy(r3_pool_t *pool);

/* Registers fn(data) to run when pool is cleared or destroyed; callbacks
 * run in reverse order of registration. Returns 0, -EINVAL (NULL pool or
 * fn), -ENOMEM. Same thread-safety as r3_palloc on that pool. O(1). */
int r3_pool_cleanup_register(r3_pool_t *pool, void *data, void (*fn)(void *));

/* Removes the most recent registration of fn(data) without running it.
 * Returns 0, or -ENOENT when there is none, -EINVAL. O(cleanups). */
int r3_pool_cleanup_kill(r3_pool_t *pool, void *data, void (*fn)(void *));

/* Fills *out. Returns 0 or -EINVAL (NULL or destroyed pool, NULL out).
 * O(chunks or slabs). */
int r3_pool_stats_get(r3_pool_t *pool, r3_pool_stats *out);

/* Checks the pool's invariants (free-list entries are tagged free block
 * starts of this pool, bump pointers and counters consistent, chunk
 * cursors within bounds). Per-CPU sub-pools must be quiescent. Returns 0 or a
 * negative number after printing what is wrong. O(pool size). */
int r3_pool_check(r3_pool_t *pool);

/* ---- Per-CPU pool sets --------------------------------------------------
 * One fixed-block sub-pool per CPU of the topology (see below); opts->kind
 * must be R3_POOL_FIXED, node/cpu/parent/thread_safe are ignored (each
 * sub-pool is bound to its CPU's node and is safe for concurrent use), and
 * capacity applies to each sub-pool. */

/* NULL/EINVAL for bad options, NULL/ENOMEM. O(CPUs). */
r3_pool_percpu_t *r3_pool_percpu_create(const r3_pool_options *opts);

/* Allocates one block from the calling CPU's sub-pool (n <= block_size).
 * Lock-free CPU lookup (rseq cpu_id, else sched_getcpu), then that
 * sub-pool's own lock, uncontended unless threads share the CPU. O(1).
 * NULL/EINVAL, NULL/ENOMEM. */
void *r3_pool_percpu_alloc(r3_pool_percpu_t *set, size_t n);

/* r3_pool_percpu_alloc, then n bytes zeroed. */
void *r3_pool_percpu_calloc(r3_pool_percpu_t *set, size_t n);

/* Frees a block of the set from any thread. A block of another CPU's
 * sub-pool is pushed onto that sub-pool's lock-free remote list. O(1).
 * 0, or -EINVAL as r3_pfree. */
int r3_pool_percpu_free(r3_pool_percpu_t *set, void *p);

/* The CPU whose sub-pool holds block p, or -EINVAL. O(1). */
int r3_pool_percpu_cpu_of(r3_pool_percpu_t *set, const void *p);

/* The sub-pool of a CPU (for statistics and checks), or NULL/EINVAL. */
r3_pool_t *r3_pool_percpu_get(r3_pool_percpu_t *set, int cpu);

/* The number of sub-pools (the topology's CPU count). */
int r3_pool_percpu_count(r3_pool_percpu_t *set);

/* Sums the sub-pools' statistics (node: -1). 0 or -EINVAL. O(pool size). */
int r3_pool_percpu_stats(r3_pool_percpu_t *set, r3_pool_stats *out);

/* Clears or destroys every sub-pool; no other call on the set may run at
 * the same time. NULL is ignored. O(CPUs + slabs). */
void r3_pool_percpu_clear(r3_pool_percpu_t *set);
void r3_pool_percpu_destroy(r3_pool_percpu_t *set);

/* ---- Topology ------------------------------------------------------------
 * Pools see the machine only through this interface: how many NUMA nodes
 * and CPUs there are, which node each CPU belongs to, which CPU the caller
 * runs on, and how to bind memory to a node. The default reads
 * /sys/devices/system/node once, uses glibc's registered rseq area (else
 * sched_getcpu) and mbind. Tests replace it with a simulated machine (for
 * example 2 nodes x 4 CPUs) to exercise the multi-node logic on a
 * single-node host; other programs have no reason to. */
#define R3_POOL_MAX_CPUS  1024
#define R3_POOL_MAX_NODES 64

typedef struct r3_pool_topology {
    int node_count;                          /* nodes 0 .. node_count-1 */
    int cpu_count;                           /* CPUs 0 .. cpu_count-1 */
    int (*node_of_cpu)(int cpu);             /* in [0, node_count) */
    int (*current_cpu)(void);                /* the caller's CPU, >= 0 */
    /* Binds [p, p+size) to node before it is touched; 0 or -errno. */
    int (*bind_memory)(void *p, size_t size, int node);
} r3_pool_topology;

/* Installs topo for pools created from now on (the structure is copied);
 * NULL restores the machine's. Returns 0, or -EINVAL when a count is out of
 * range or a function is missing. Not thread-safe: call it before creating
 * pools. */
int r3_pool_set_topology(const r3_pool_topology *topo);

/* Copies the topology in use into *out. */
void r3_pool_get_topology(r3_pool_topology *out);

/* The CPU the caller runs on now, as the machine's topology reads it
 * (rseq cpu_id, else sched_getcpu). A few instructions with rseq. */
int r3_pool_current_cpu(void);

/* ---- Inline fast paths of unsynchronised pools ---------------------------
 * r3_palloc and r3_pfree are macros that call the inline functions below;
 * they handle the common cases of unsynchronised pools without a call (a
 * fixed pool's allocation and free, a region pool's bump), and hand every
 * other case (thread-safe pools, a NULL or destroyed pool, an empty free
 * stack, a full chunk, and every error) to the exported function of the
 * same name, which makes the same checks again and reports.
 * (r3_palloc)(pool, n), with the name in parentheses, or the address
 * &r3_palloc always reach the exported function. Define R3_POOL_NO_INLINE
 * before including this header to do without the inline paths.
 *
 * The fast paths check everything the exported functions check on their
 * own fast paths. Allocation: from a live unsynchronised fixed pool, 0 <
 * n <= block size and a popped block whose free tag is intact; from a live
 * unsynchronised region pool, room for n bytes in the current chunk. Free
 * (fixed pools): the pointer is the start of a block of the pool's first
 * slab, handed out since the last clear and not already free (the free
 * tag, see docs/pools.md).
 *
 * struct r3_pool_fast is the start of every pool descriptor. Its layout is
 * part of the library's ABI; programs must not read or write it. The pool
 * kind is not tested separately: alloc_limit and first_handed are 0 in
 * every pool but a live unsynchronised fixed pool, and bump is empty in
 * every pool but a live unsynchronised region pool (thread-safe pools keep
 * their state elsewhere), so each test fails for the other pools and the
 * call falls through to the exported function. */
typedef struct r3_pool_fast {
    uint64_t magic;          /* the library's check word: live or destroyed */
    /* The free stack: [free_base, free_top) are free blocks, the most
     * recently freed on top, free_end its capacity; free_base[-1] is NULL,
     * so an empty stack is seen without reading free_base. */
    void **free_top;
    size_t alloc_limit;      /* block_size, or 0: no inline path */
    uintptr_t secret;        /* the free tag of block b is (uintptr_t)b ^ secret */
    const char *first_block; /* the first block of the first slab */
    /* Bytes of the first slab handed out since the last clear (its blocks
     * below this offset), at most 2^32 (see r3_pool_fast_is_block_offset);
     * 0: no inline path. */
    uint64_t first_handed;
    uint64_t div_magic;      /* UINT64_MAX / block_size + 1 */
    void **free_end;
    /* Unsynchronised region pools: the free room [cursor, limit) of the
     * current chunk. NULL, NULL in every other pool. */
    struct r3_pool_bump {
        char *cursor, *limit;
    } bump;
    void **free_base;
    size_t block_size;       /* rounded up to a multiple of 16 */
} r3_pool_fast;

#if defined(__GNUC__)
#define R3_POOL_EXPECT(c) __builtin_expect(!!(c), 1)
#else
#define R3_POOL_EXPECT(c) (c)
#endif

/* The word after a block's first: a free block's tag. Read and written
 * with memcpy, which compiles to one move and may alias the program's own
 * view of the block. */
static inline uintptr_t r3_pool_fast_tag_of(const void *b)
{
    uintptr_t t;
    memcpy(&t, (const char *)b + sizeof(void *), sizeof t);
    return t;
}

static inline void r3_pool_fast_set_tag(void *b, uintptr_t t)
{
    memcpy((char *)b + sizeof(void *), &t, sizeof t);
}

/* Whether offset, below 2^32, is a whole number of blocks: one
 * multiplication instead of a division. With c = ceil(2^64 / block_size),
 * offset * c mod 2^64 is below c exactly when block_size divides offset
 * (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019;
 * it holds for any offset and block size below 2^32, and for larger block
 * sizes because offset * c then does not wrap). O(1). */
static inline int r3_pool_fast_is_block_offset(const r3_pool_fast *f, uint64_t offset)
{
    return offset * f->div_magic < f->div_magic;
}

/* size bytes from a bump range, or NULL when they do not fit; size 0 (a
 * request of 0 bytes, or one whose rounding overflowed) never fits. O(1). */
static inline void *r3_pool_bump_take(struct r3_pool_bump *b, size_t size)
{
    char *p = b->cursor;
    if (R3_POOL_EXPECT(size - 1 < (size_t)(b->limit - p))) {
        b->cursor = p + size;
        return p;
    }
    return NULL;
}

/* A block from the top of the free stack of an unsynchronised fixed pool,
 * or n bytes (rounded up to 16) bumped from an unsynchronised region pool's
 * current chunk; NULL when the inline path does not apply (the caller then
 * calls the exported r3_palloc). Not thread-safe (as the pool). O(1). */
static inline void *r3_pool_fast_alloc(r3_pool_t *pool, size_t n)
{
    r3_pool_fast *f = (r3_pool_fast *)pool;
    if (R3_POOL_EXPECT(f != NULL)) {
        if (R3_POOL_EXPECT(n - 1 < f->alloc_limit)) {
            /* Every field is read before the block is written: the
             * compiler may not assume that a write to the block leaves the
             * descriptor alone. */
            void **top = f->free_top;
            void *b = top[-1];
            uintptr_t secret = f->secret;
            /* A block without its tag was written after it was freed: the
             * exported path reports that. */
            if (R3_POOL_EXPECT(b && r3_pool_fast_tag_of(b) == ((uintptr_t)b ^ secret))) {
                f->free_top = top - 1;
                r3_pool_fast_set_tag(b, 0);
                return b;
            }
        } else {
            /* size == 0: n == 0 or an overflow; the exported path decides. */
            return r3_pool_bump_take(&f->bump, (n + 15) & ~(size_t)15);
        }
    }
    return NULL;
}

/* Frees p to an unsynchronised fixed pool when p is a handed-out, not yet
 * freed block of its first slab and the free stack has room: returns 1.
 * Otherwise 0, having changed nothing (the caller then calls the exported
 * r3_pfree, which decides and reports). Not thread-safe. O(1). */
static inline int r3_pool_fast_free(r3_pool_t *pool, void *p)
{
    r3_pool_fast *f = (r3_pool_fast *)pool;
    if (R3_POOL_EXPECT(f != NULL)) {
        uint64_t offset = (uint64_t)((uintptr_t)p - (uintptr_t)f->first_block);
        void **top = f->free_top;
        uintptr_t tag = (uintptr_t)p ^ f->secret;
        if (R3_POOL_EXPECT(offset < f->first_handed && r3_pool_fast_is_block_offset(f, offset) &&
                           top != f->free_end && r3_pool_fast_tag_of(p) != tag)) {
            f->free_top = top + 1;
            *top = p;
            r3_pool_fast_set_tag(p, tag);
            return 1;
        }
    }
    return 0;
}

#ifndef R3_POOL_NO_INLINE
/* r3_palloc and r3_pfree with the fast paths inlined; see above. */
static inline void *r3_pool_inline_palloc(r3_pool_t *pool, size_t n)
{
    void *b = r3_pool_fast_alloc(pool, n);
    return R3_POOL_EXPECT(b != NULL) ? b : (r3_palloc)(pool, n);
}

static inline int r3_pool_inline_pfree(r3_pool_t *pool, void *p)
{
    return R3_POOL_EXPECT(r3_pool_fast_free(pool, p)) ? 0 : (r3_pfree)(pool, p);
}

#define r3_palloc(pool, n) r3_pool_inline_palloc((pool), (n))
#define r3_pfree(pool, p)  r3_pool_inline_pfree((pool), (p))
#endif

/* ---- The seed's names ---------------------------------------------------- */
#ifdef R3_POOL_SHORT_NAMES
typedef r3_pool_t pool_t;
static inline pool_t *pool_create(size_t block_size, size_t block_count)
{ return r3_pool_create(block_size, block_count); }
static inline void pool_clear(pool_t *pool) { r3_pool_clear(pool); }
static inline void pool_destroy(pool_t *pool) { r3_pool_destroy(pool); }
static inline void *palloc(pool_t *pool, size_t n) { return r3_palloc(pool, n); }
static inline void *pcalloc(pool_t *pool, size_t n) { return r3_pcalloc(pool, n); }
static inline int pfree(pool_t *pool, void *p) { return r3_pfree(pool, p); }
#endif

#ifdef __cplusplus
}
#endif
#endif
