/* The allocation and free fast paths, inlined into the public entry points
 * (pool.c, percpu.c); their slow paths live in region.c and fixed.c. */
#ifndef R3_POOL_FAST_PATH_H
#define R3_POOL_FAST_PATH_H
#include "pool_internal.h"
#include "core/os.h"
#include <errno.h>

/* Region bump: one comparison and one addition. size == 0 means n == 0 or
 * an overflow in the rounding; both take the slow path. */
R3_INLINE void *region_alloc_unlocked(r3_pool_t *pool, size_t n)
{
    size_t size = (n + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
    char *p = pool->u.region.cursor;
    if (R3_LIKELY(size - 1 < (size_t)(pool->u.region.limit - p))) {
        pool->u.region.cursor = p + size;
        return p;
    }
    return region_alloc_slow(pool, n, size);
}

R3_INLINE void *region_alloc(r3_pool_t *pool, size_t n)
{
    pool_lock(pool);
    void *p = region_alloc_unlocked(pool, n);
    pool_unlock(pool);
    return p;
}

R3_INLINE fixed_slab *fixed_slab_of(slab_registry *reg, uintptr_t slab_mask, const void *p)
{
    uintptr_t base = (uintptr_t)p & slab_mask;
    return registry_contains(reg, base) ? (fixed_slab *)base : NULL;
}

R3_INLINE uintptr_t fixed_tag(const r3_pool_t *pool, const void *b)
{
    return (uintptr_t)b ^ pool->u.fixed.secret;
}

/* Every allocation path ends here: the free tag goes, so that the next
 * free of the block is accepted once. A tag that is not there means the
 * free list was written after the block was freed. */
R3_INLINE void *fixed_hand_out(r3_pool_t *pool, free_block *b, bool from_free_list)
{
    if (from_free_list && R3_UNLIKELY(b->tag != fixed_tag(pool, b)))
        r3_fatal("pool free list corrupted at", b);
    b->tag = 0;
    return b;
}

R3_INLINE void *fixed_alloc_unlocked(r3_pool_t *pool)
{
    free_block *b = pool->u.fixed.free_list;
    if (R3_LIKELY(b != NULL)) {
        pool->u.fixed.free_list = b->next;
        return fixed_hand_out(pool, b, true);
    }
    return fixed_refill(pool);
}

R3_INLINE void *fixed_alloc(r3_pool_t *pool, size_t n)
{
    if (R3_UNLIKELY(n > pool->u.fixed.block_size)) {
        errno = EINVAL;
        return NULL;
    }
    pool_lock(pool);
    void *b = fixed_alloc_unlocked(pool);
    pool_unlock(pool);
    return b;
}

/* Whether offset is a multiple of the block size: a multiplication, not a
 * division (see the odd_inverse field). */
R3_INLINE bool fixed_offset_is_aligned(const r3_pool_t *pool, uint64_t offset)
{
    return (offset & pool->u.fixed.low_mask) == 0 &&
           (offset >> pool->u.fixed.shift) * pool->u.fixed.odd_inverse <= pool->u.fixed.odd_limit;
}

/* Whether p is the start of a block of slab. */
R3_INLINE bool fixed_is_block_start(const r3_pool_t *pool, const fixed_slab *slab, const void *p)
{
    uint64_t offset = (uint64_t)((const char *)p - slab->first);
    return offset < slab->span && fixed_offset_is_aligned(pool, offset);
}

/* Checks that p, a block of slab, may be freed and tags it free. False
 * (after the report) for an interior pointer, a block never handed out
 * since the last clear, or a block already free. The caller owns the
 * block's memory now, so no lock is needed for this. */
R3_INLINE bool fixed_tag_free(r3_pool_t *pool, fixed_slab *slab, void *p)
{
    if (R3_UNLIKELY(!fixed_is_block_start(pool, slab, p))) {
        pool_report("pfree of a pointer not from this pool", p);
        return false;
    }
    free_block *b = p;
    uintptr_t tag = fixed_tag(pool, p);
    if (R3_UNLIKELY((char *)p >= r3_load_relaxed(&slab->bump) || b->tag == tag)) {
        pool_report("pfree of a block not in use", p);
        return false;
    }
    b->tag = tag;
    return true;
}

R3_INLINE void fixed_push_local(r3_pool_t *pool, void *p)
{
    free_block *b = p;
    b->next = pool->u.fixed.free_list;
    pool->u.fixed.free_list = b;
}

/* The slab of p if it is one of pool's, else NULL. The first and the last
 * slab (all of them in most pools) are recognised without the registry. */
R3_INLINE fixed_slab *fixed_own_slab_of(r3_pool_t *pool, const void *p)
{
    uintptr_t base = (uintptr_t)p & pool->u.fixed.slab_mask;
    if (R3_LIKELY(base == (uintptr_t)pool->u.fixed.slabs || base == (uintptr_t)pool->u.fixed.last_slab))
        return (fixed_slab *)base;
    fixed_slab *slab = fixed_slab_of(pool->u.fixed.registry, pool->u.fixed.slab_mask, p);
    return slab && slab->owner == pool ? slab : NULL;
}

/* Under the pool's lock: last_slab changes when another thread grows it. */
R3_INLINE int fixed_free(r3_pool_t *pool, void *p)
{
    pool_lock(pool);
    fixed_slab *slab = fixed_own_slab_of(pool, p);
    bool ok = false;
    if (R3_UNLIKELY(!slab))
        pool_report("pfree of a pointer not from this pool", p);
    else if ((ok = fixed_tag_free(pool, slab, p)))
        fixed_push_local(pool, p);
    pool_unlock(pool);
    return ok ? 0 : -EINVAL;
}

#endif
