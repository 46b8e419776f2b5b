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
    void *p = r3_pool_bump_take(region_bump(pool), size);
    return R3_LIKELY(p != NULL) ? p : region_alloc_slow(pool, n, size);
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
    return (uintptr_t)b ^ pool->fast.secret;
}

/* Every allocation path ends here: the free tag goes, so that the next
 * free of the block is accepted once. A tag that is not there means the
 * block was written after it was freed (or the free list is corrupt). */
R3_INLINE void *fixed_hand_out(r3_pool_t *pool, free_block *b, bool was_free)
{
    if (was_free && R3_UNLIKELY(b->tag != fixed_tag(pool, b)))
        r3_fatal("pool free list corrupted at", b);
    b->tag = 0;
    return b;
}

/* The free stack first (the blocks freed on this pool's own side), then
 * the list taken back from the remote list, then fixed_refill. */
R3_INLINE void *fixed_alloc_unlocked(r3_pool_t *pool)
{
    if (R3_LIKELY(pool->fast.free_top != pool->fast.free_base))
        return fixed_hand_out(pool, *--pool->fast.free_top, true);
    free_block *b = pool->u.fixed.free_list;
    if (b) {
        pool->u.fixed.free_list = b->next;
        return fixed_hand_out(pool, b, true);
    }
    return fixed_refill(pool);
}

R3_INLINE void *fixed_alloc(r3_pool_t *pool, size_t n)
{
    if (R3_UNLIKELY(n > pool->fast.block_size)) {
        errno = EINVAL;
        return NULL;
    }
    pool_lock(pool);
    void *b = fixed_alloc_unlocked(pool);
    pool_unlock(pool);
    return b;
}

/* Whether p is the start of a block of slab: the multiplication of
 * r3_pool_fast_is_block_offset, or a division for offsets past 4 GiB. */
R3_INLINE bool fixed_is_block_start(const r3_pool_t *pool, const fixed_slab *slab, const void *p)
{
    uint64_t offset = (uint64_t)((const char *)p - slab->first);
    if (offset >= slab->span)
        return false;
    if (R3_LIKELY(offset < ((uint64_t)1 << 32)))
        return r3_pool_fast_is_block_offset(&pool->fast, offset);
    return offset % pool->fast.block_size == 0;
}

/* Checks that p, a block of slab, may be freed and tags it free. False
 * (after the report) for an interior pointer, a block never handed out
 * since the last clear, or a block already free. pool is the slab's owner
 * or a pool with the same block size and secret (a sibling sub-pool of a
 * per-CPU set). The caller owns the block's memory now, so no lock is
 * needed for this. */
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

/* Frees p, a pointer into slab, a slab of pool, under the pool's lock
 * (if any): the checks of fixed_tag_free, then a push on the free stack.
 * The stack has one entry per block of the pool and a block passes
 * fixed_tag_free once per allocation, so it is full only when the tags of
 * free blocks were overwritten and those blocks freed again: refused then. */
R3_INLINE int fixed_free_in_slab(r3_pool_t *pool, fixed_slab *slab, void *p)
{
    if (R3_UNLIKELY(pool->fast.free_top == pool->fast.free_end)) {
        pool_report("pfree of a block not in use", p);
        return -EINVAL;
    }
    if (!fixed_tag_free(pool, slab, p))
        return -EINVAL;
    *pool->fast.free_top++ = p;
    return 0;
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
    int rc = -EINVAL;
    if (R3_UNLIKELY(!slab))
        pool_report("pfree of a pointer not from this pool", p);
    else
        rc = fixed_free_in_slab(pool, slab, p);
    pool_unlock(pool);
    return rc;
}

#endif
