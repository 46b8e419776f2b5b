/* Internal types of the pool module: the pool descriptor shared by both
 * kinds, the fixed-pool slab, the region chunk. See docs/pools.md. */
#ifndef R3_POOL_INTERNAL_H
#define R3_POOL_INTERNAL_H
#include "core/config.h"
#include "core/atomic.h"
#include "core/lock.h"
/* The library defines r3_palloc and r3_pfree: no macros of those names. */
#define R3_POOL_NO_INLINE
#include "r3pool.h"
#include "registry.h"
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_MAGIC_LIVE 0x6c6f6f7033523301ull   /* a usable pool */
#define POOL_MAGIC_DEAD 0x6c6f6f70dead3301ull   /* destroyed (kept so in debug) */
#define SLAB_MAGIC      0x62616c7333523301ull
#define POOL_ALIGN      ((size_t)16)

#define CACHE_LINE      64

typedef struct pool_cleanup {
    struct pool_cleanup *next;
    void *data;
    void (*fn)(void *);
} pool_cleanup;

/* At the start of every slab of a fixed pool; the slab is aligned to its
 * pool's slab alignment, so slab_of(p) is one mask once the pool (or the
 * registry) has said that the masked address is one of its slabs. */
typedef struct fixed_slab {
    uint64_t magic;
    struct r3_pool *owner;
    struct fixed_slab *next;        /* the pool's slabs in creation order */
    char *first;                    /* first block, 64-byte aligned */
    size_t block_count;
    size_t span;                    /* block_count * block size */
    size_t map_size;                /* bytes mapped for this slab */
    /* Blocks in [first, bump) were handed out at least once since the last
     * clear; the rest are untouched. Written by the owner only; read by a
     * free from another CPU, which got its block after the bump passed it,
     * so even a relaxed load sees bump beyond that block. */
    r3_atomic(char *) bump;
} fixed_slab;

/* A free block: the link (used only on the remote list and the list taken
 * back from it; blocks on the free stack leave it unused), then the free
 * tag (address ^ the pool's secret), which a free checks to catch a block
 * freed twice and every allocation clears. The tag's place is fixed by
 * r3_pool_fast_tag_of in r3pool.h. */
typedef struct free_block {
    struct free_block *next;
    uintptr_t tag;
} free_block;

/* A region pool's chunk; allocation bumps from just after this header. */
typedef struct region_chunk {
    struct region_chunk *next;
    size_t size;                    /* bytes mapped, header included */
    char *bump_start;
    size_t used;                    /* bytes handed out, once no longer current */
} region_chunk;

struct r3_pool_percpu;

/* One descriptor per pool, 64-byte aligned (see descriptor.c). The fields
 * used on every allocation come first: the public prefix read by the
 * inline fast paths (r3pool.h: magic, the free stack, the block geometry,
 * the free-tag secret), then the rest; the remote-free list of a per-CPU
 * sub-pool sits alone on the last cache line, because other CPUs write it.
 * Region pools use only fast.magic of the prefix. */
struct r3_pool {
    r3_pool_fast fast;
    uint8_t kind;
    uint8_t thread_safe;
    int16_t node;
    r3_lock_t lock;
    union {
        struct {
            /* Blocks taken back from remote_free, popped after the free
             * stack (fast.free_*) runs dry. */
            free_block *free_list;
            size_t stack_map_size;   /* bytes mapped for the free stack */
            uintptr_t slab_mask;     /* ~(slab alignment - 1) */
            fixed_slab *slabs, *last_slab;
            fixed_slab *fresh_slab;  /* slabs before it are all handed out, after it untouched */
            slab_registry *registry; /* &own_registry, or the per-CPU set's */
            slab_registry own_registry;
            size_t step;             /* blocks per growth step */
            size_t blocks_total;
            size_t capacity;         /* most blocks; 0: no limit */
            size_t bytes_reserved;
            struct r3_pool *meta;    /* region pool holding cleanup records */
            struct r3_pool_percpu *set;
            int set_cpu;
        } fixed;
        struct {
            /* The bump range in current of a thread-safe pool; an
             * unsynchronised one uses fast.bump (see region_bump). */
            struct r3_pool_bump locked_bump;
            region_chunk *current;
            region_chunk *chunks;    /* in use, newest first */
            region_chunk *spare;     /* kept by clear, reused in order */
            size_t next_chunk_size;
            size_t capacity;         /* most bytes of chunks; 0: no limit */
            size_t bytes_reserved;
        } region;
    } u;
    struct r3_pool *parent, *first_child, *prev_sibling, *next_sibling;
    pool_cleanup *cleanups;
    size_t lock_waits;              /* under the lock; see pool_lock */
    alignas(CACHE_LINE) r3_atomic(free_block *) remote_free;
};

#define POOL_DESCRIPTOR_SIZE ((size_t)384)
_Static_assert(sizeof(struct r3_pool) <= POOL_DESCRIPTOR_SIZE, "pool descriptor too big");

/* descriptor.c: zeroed, 64-byte aligned, POOL_DESCRIPTOR_SIZE bytes. */
void *pool_descriptor_alloc(void);
void  pool_descriptor_free(void *d);

/* chunk.c: memory for region chunks; node < 0 means unbound. */
void *pool_chunk_map(size_t size, int node);
void  pool_chunk_unmap(void *p, size_t size, int node);
#define POOL_CHUNK_SIZE ((size_t)64 << 10)

/* topology.c: binds through the active topology; 0 or -errno. */
int   pool_bind(void *p, size_t size, int node);
const r3_pool_topology *pool_topology(void);
bool  pool_topology_is_machine(void);

/* Where a region pool's bump range lives: in the public prefix for an
 * unsynchronised pool, where the inline path of r3pool.h bumps it; in the
 * private part for a thread-safe one, whose prefix range stays empty so
 * that the inline path falls through to the locked path. */
R3_INLINE struct r3_pool_bump *region_bump(r3_pool_t *pool)
{
    return pool->thread_safe ? &pool->u.region.locked_bump : &pool->fast.bump;
}

/* pool.c */
R3_COLD bool pool_unusable(r3_pool_t *pool);
/* The entry check of every call: a live pool. Otherwise errno EINVAL, and
 * the debug build aborts on a destroyed one. */
R3_INLINE bool pool_usable(r3_pool_t *pool)
{
    if (R3_LIKELY(pool && pool->fast.magic == POOL_MAGIC_LIVE))
        return true;
    return pool_unusable(pool);
}
/* Bad pointer given by the caller: the debug build aborts with
 * "r3malloc: <what> <p>"; otherwise errno EINVAL. */
void  pool_report(const char *what, const void *p);
/* Takes a thread-safe pool's lock, counting the times it was taken by
 * another thread already (the count costs nothing when the lock is free). */
R3_INLINE void pool_lock(r3_pool_t *pool)
{
    if (pool->thread_safe && R3_UNLIKELY(!r3_trylock(&pool->lock))) {
        r3_lock(&pool->lock);
        pool->lock_waits++;
    }
}
R3_INLINE void pool_unlock(r3_pool_t *pool)
{
    if (pool->thread_safe)
        r3_unlock(&pool->lock);
}
int   pool_resolve_node(const r3_pool_options *o);  /* node, -1, or -2 with errno */
void  pool_init_common(r3_pool_t *pool, const r3_pool_options *o, int node);

/* Clear and destroy without the "owned by a per-CPU set" refusal. */
void  pool_clear_any(r3_pool_t *pool);
void  pool_destroy_any(r3_pool_t *pool);

/* region.c */
r3_pool_t *region_create(const r3_pool_options *o, int node);
/* The slow path of region_alloc_unlocked (fast_path.h): a new chunk. */
R3_COLD void *region_alloc_slow(r3_pool_t *pool, size_t n, size_t size);
void  region_reset(r3_pool_t *pool);
void  region_release(r3_pool_t *pool);
void  region_stats(r3_pool_t *pool, r3_pool_stats *out);
int   region_check(r3_pool_t *pool);

/* fixed.c */
/* The alignment of every slab of a fixed pool with these options, or 0
 * (errno EINVAL) when the sizes are zero or overflow. */
size_t fixed_slab_align(const r3_pool_options *o);
r3_pool_t *fixed_create(const r3_pool_options *o, int node, slab_registry *shared);
/* The slow path of fixed_alloc_unlocked (fast_path.h): the remote list,
 * the untouched blocks, a new slab. NULL/ENOMEM. */
R3_COLD void *fixed_refill(r3_pool_t *pool);
void  fixed_reset(r3_pool_t *pool);
void  fixed_release(r3_pool_t *pool);
void  fixed_stats(r3_pool_t *pool, r3_pool_stats *out);
int   fixed_check(r3_pool_t *pool);

#endif
