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

/* Where the state bits of the block at offset in slab are. */
typedef struct block_bits {
    r3_atomic(uint64_t) *in_use, *pending;
    uint64_t mask;
} block_bits;

R3_INLINE block_bits fixed_bits_of(const r3_pool_t *pool, fixed_slab *slab, size_t offset)
{
    size_t index = offset >> pool->u.fixed.granule_shift;
    block_bits b = { &slab->bits[index / 64], &slab->bits[slab->bitmap_words + index / 64],
                     (uint64_t)1 << (index % 64) };
    return b;
}

/* Owner side: only the owning pool writes in_use words, so a plain
 * read-modify-write (relaxed load and store) is enough. */
R3_INLINE void fixed_mark_in_use(r3_pool_t *pool, void *b)
{
    fixed_slab *slab = (fixed_slab *)((uintptr_t)b & pool->u.fixed.slab_mask);
    block_bits bits = fixed_bits_of(pool, slab, (size_t)((char *)b - slab->first));
    uint64_t old = r3_load_relaxed(bits.in_use);
    if (R3_DEBUG && (old & bits.mask))
        r3_fatal("pool free list holds a block in use", b);
    r3_store_relaxed(bits.in_use, old | bits.mask);
}

R3_INLINE void *fixed_alloc_unlocked(r3_pool_t *pool)
{
    free_block *b = pool->u.fixed.free_list;
    if (R3_LIKELY(b != NULL)) {
        pool->u.fixed.free_list = b->next;
        fixed_mark_in_use(pool, b);
        return b;
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

/* The offset of p in slab when p is a block start there; otherwise the
 * report is made and SIZE_MAX returned. */
R3_INLINE size_t fixed_block_offset(const r3_pool_t *pool, const fixed_slab *slab, const void *p)
{
    size_t offset = (size_t)((const char *)p - slab->first);
    if (R3_UNLIKELY(offset >= slab->span ||
                    (offset & (((size_t)1 << pool->u.fixed.granule_shift) - 1)))) {
        pool_report("pfree of a pointer not from this pool", p);
        return SIZE_MAX;
    }
    return offset;
}

/* Owner side of a free (locked when the pool has a lock): clears the
 * in-use bit. False (after the report) when p is not a block start of the
 * slab, was not in use, or is waiting on the remote list: a foreign or
 * interior pointer, or a double free. */
R3_INLINE bool fixed_mark_free(r3_pool_t *pool, fixed_slab *slab, void *p)
{
    size_t offset = fixed_block_offset(pool, slab, p);
    if (offset == SIZE_MAX)
        return false;
    block_bits bits = fixed_bits_of(pool, slab, offset);
    uint64_t old = r3_load_relaxed(bits.in_use);
    if (R3_UNLIKELY(!(old & bits.mask) ||
                    (pool->remote_frees && (r3_load_relaxed(bits.pending) & bits.mask)))) {
        pool_report("pfree of a block not in use", p);
        return false;
    }
    r3_store_relaxed(bits.in_use, old & ~bits.mask);
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
    else if ((ok = fixed_mark_free(pool, slab, p)))
        fixed_push_local(pool, p);
    pool_unlock(pool);
    return ok ? 0 : -EINVAL;
}

#endif
