/* Fixed-block pools: blocks of one size in slabs of block_count blocks.
 *
 * A block is in exactly one of four states: in use; free, on the free
 * stack or on the list taken back from the remote list; on the remote free
 * list (per-CPU sub-pools: freed from another CPU, not yet taken back); or
 * untouched (at or after its slab's bump pointer). A free block carries a
 * tag (its address xor the pool's secret) in its second word; every
 * allocation clears it. So a second free of a block finds the tag and is
 * refused, in every build, without a bitmap: the state lives in the line
 * the free writes anyway.
 *
 * The free stack is an array of block addresses with one entry per block
 * of the pool (its own mapping, grown with the pool), not a list threaded
 * through the blocks: popping it needs no load from the block just freed,
 * so consecutive allocations do not wait on each other's cache misses.
 *
 * Allocation pops the free stack, else the taken-back list, else takes
 * back the whole remote list with one exchange, else bumps fresh_slab's
 * bump pointer, else maps a new slab: O(1) with no loop over blocks, and
 * untouched blocks cost no physical memory. Free
 * finds the slab with one mask, once the pool (first or last slab) or the
 * registry has confirmed the address, so a foreign pointer is refused
 * without reading memory that is not ours; an interior pointer fails the
 * block-start test. */
#include "fast_path.h"
#include "core/os.h"
#include <errno.h>
#include <string.h>

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) & ~(to - 1);
}

#define SLAB_HEADER round_up(sizeof(fixed_slab), CACHE_LINE)

/* Bytes to map for a slab of count blocks, or 0 when that overflows. */
static size_t slab_map_size(size_t count, size_t block_size)
{
    if (count > (SIZE_MAX / 4) / block_size)
        return 0;
    return round_up(SLAB_HEADER + count * block_size, R3_OS_PAGE);
}

static size_t next_power_of_two(size_t n)
{
    return n <= 1 ? 1 : (size_t)1 << (64 - __builtin_clzll(n - 1));
}

/* Maps size bytes aligned to align, bound to the pool's node if it has
 * one (before anything touches them). NULL with errno. */
static void *map_bound(r3_pool_t *pool, size_t size, size_t align)
{
    void *p = r3_os_map(size, align);
    if (p && pool->node >= 0) {
        int rc = pool_bind(p, size, pool->node);
        if (rc < 0) {
            r3_os_unmap(p, size);
            errno = -rc;
            return NULL;
        }
    }
    return p;
}

/* Makes room on the free stack for entries blocks, keeping its contents.
 * The mapping starts with one NULL entry, free_base[-1], which tells the
 * inline allocation that the stack is empty. The first call maps it; later
 * ones move it with mremap (page tables, no copy), at least doubling it,
 * so growth is O(1) amortised per slab. */
static bool stack_reserve(r3_pool_t *pool, size_t entries)
{
    size_t old = pool->u.fixed.stack_map_size;
    if (entries > (SIZE_MAX / 4) / sizeof(void *)) {
        errno = ENOMEM;
        return false;
    }
    size_t size = round_up((entries + 1) * sizeof(void *), R3_OS_PAGE);
    if (size <= old)
        return true;
    if (size < 2 * old)
        size = 2 * old;
    void **map = old ? r3_os_remap(pool->fast.free_base - 1, old, size, R3_OS_PAGE)
                     : map_bound(pool, size, R3_OS_PAGE);
    if (!map)
        return false;
    size_t used = (size_t)(pool->fast.free_top - pool->fast.free_base);
    void **base = map + 1;
    pool->fast.free_base = base;
    pool->fast.free_top = base + used;
    pool->fast.free_end = map + size / sizeof(void *);
    pool->u.fixed.stack_map_size = size;
    pool->u.fixed.bytes_reserved += size - old;
    /* The moved pages keep their node; the new tail gets the policy. */
    if (old && pool->node >= 0) {
        int rc = pool_bind(map, size, pool->node);
        if (rc < 0) {
            errno = -rc;
            return false;
        }
    }
    return true;
}

/* The inline paths of r3pool.h serve unsynchronised pools only. */
static bool inline_paths_allowed(const r3_pool_t *pool)
{
    return !pool->thread_safe;
}

/* What first_handed must be for a first slab whose bump pointer is at
 * bump: the bytes handed out, capped at 2^32 (the inline block-start test
 * holds below that; blocks beyond take the exported path), or 0. */
static uint64_t first_handed_of(const r3_pool_t *pool, const fixed_slab *first, const char *bump)
{
    uint64_t handed = (uint64_t)(bump - first->first), cap = (uint64_t)1 << 32;
    return !inline_paths_allowed(pool) ? 0 : handed < cap ? handed : cap;
}

/* Sets slab's bump pointer. The first slab's is mirrored in the pool's
 * public prefix (first_handed), which the inline free path reads. */
static void set_bump(r3_pool_t *pool, fixed_slab *slab, char *bump)
{
    r3_store_relaxed(&slab->bump, bump);
    if (slab == pool->u.fixed.slabs)
        pool->fast.first_handed = first_handed_of(pool, slab, bump);
}

/* Maps, binds and registers a slab of count blocks, after making room on
 * the free stack for them; it becomes the last and the fresh slab (the
 * caller has used up every other one). */
static bool add_slab(r3_pool_t *pool, size_t count)
{
    size_t bs = pool->fast.block_size;
    size_t size = slab_map_size(count, bs);
    size_t align = ~pool->u.fixed.slab_mask + 1;
    if (!stack_reserve(pool, pool->u.fixed.blocks_total + count))
        return false;
    char *base = map_bound(pool, size, align);
    if (!base)
        return false;
    if (!registry_insert(pool->u.fixed.registry, (uintptr_t)base)) {
        r3_os_unmap(base, size);
        return false;
    }
    fixed_slab *slab = (fixed_slab *)base;
    slab->magic = SLAB_MAGIC;
    slab->owner = pool;
    slab->block_count = count;
    slab->span = count * bs;
    slab->map_size = size;
    slab->first = base + SLAB_HEADER;
    if (pool->u.fixed.last_slab) {
        pool->u.fixed.last_slab->next = slab;
    } else {
        pool->u.fixed.slabs = slab;
        pool->fast.first_block = slab->first;
    }
    set_bump(pool, slab, slab->first);
    pool->u.fixed.last_slab = slab;
    pool->u.fixed.fresh_slab = slab;   /* only called when every slab is used up */
    pool->u.fixed.blocks_total += count;
    pool->u.fixed.bytes_reserved += size;
    return true;
}

/* The rounded block size and the blocks of a full slab for options o, or
 * a zero block size when the options are invalid. */
typedef struct slab_geometry {
    size_t block_size;
    size_t count;
} slab_geometry;

static slab_geometry geometry_of(const r3_pool_options *o)
{
    slab_geometry g = { 0, o->block_count };
    if (o->block_size == 0 || g.count == 0 || o->block_size > SIZE_MAX / 4)
        return g;
    if (o->capacity && o->capacity < g.count)
        g.count = o->capacity;
    size_t bs = round_up(o->block_size, POOL_ALIGN);
    if (slab_map_size(g.count, bs))
        g.block_size = bs;
    return g;
}

/* Every slab holds at most geometry.count blocks, so the full slab's size
 * rounded up to a power of two aligns them all. */
size_t fixed_slab_align(const r3_pool_options *o)
{
    slab_geometry g = geometry_of(o);
    if (g.block_size == 0) {
        errno = EINVAL;
        return 0;
    }
    return next_power_of_two(slab_map_size(g.count, g.block_size));
}

/* A per-pool secret for the free tags: not a security measure, only so
 * that no fixed value in user data can look like a free block. */
static uintptr_t tag_secret(const r3_pool_t *pool)
{
    uint64_t x = r3_os_now_ns() ^ (uintptr_t)pool;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return (uintptr_t)(x ^ (x >> 29)) | 1;
}

r3_pool_t *fixed_create(const r3_pool_options *o, int node, slab_registry *shared)
{
    size_t align = fixed_slab_align(o);
    if (align == 0)
        return NULL;
    slab_geometry g = geometry_of(o);
    r3_pool_t *pool = pool_descriptor_alloc();
    if (!pool) {
        errno = ENOMEM;
        return NULL;
    }
    pool_init_common(pool, o, node);
    pool->fast.block_size = g.block_size;
    pool->fast.div_magic = UINT64_MAX / g.block_size + 1;
    pool->fast.secret = tag_secret(pool);
    pool->u.fixed.step = g.count;
    pool->u.fixed.capacity = o->capacity;
    pool->u.fixed.set_cpu = -1;
    pool->u.fixed.slab_mask = ~(uintptr_t)(align - 1);
    pool->u.fixed.registry = shared ? shared : &pool->u.fixed.own_registry;
    if ((!shared && !registry_init(pool->u.fixed.registry, (unsigned)__builtin_ctzll(align))) ||
        !add_slab(pool, g.count)) {
        int err = errno;
        fixed_release(pool);
        pool_descriptor_free(pool);
        errno = err;
        return NULL;
    }
    if (inline_paths_allowed(pool))
        pool->fast.alloc_limit = g.block_size;
    return pool;
}

/* Returns a block ready to hand out from (in this order) the blocks freed
 * by other CPUs, the untouched blocks, a new slab. */
void *fixed_refill(r3_pool_t *pool)
{
    if (r3_load_relaxed(&pool->remote_free)) {
        free_block *taken = r3_exchange(&pool->remote_free, (free_block *)NULL);
        if (taken) {
            pool->u.fixed.free_list = taken->next;
            return fixed_hand_out(pool, taken, true);
        }
    }
    for (fixed_slab *slab = pool->u.fixed.fresh_slab; slab; slab = slab->next) {
        char *b = r3_load_relaxed(&slab->bump);
        if (b != slab->first + slab->span) {
            set_bump(pool, slab, b + pool->fast.block_size);
            return fixed_hand_out(pool, (free_block *)b, false);
        }
        pool->u.fixed.fresh_slab = slab->next ? slab->next : slab;
    }
    size_t count = pool->u.fixed.step, cap = pool->u.fixed.capacity;
    if (cap) {
        if (pool->u.fixed.blocks_total >= cap) {
            errno = ENOMEM;
            return NULL;
        }
        if (count > cap - pool->u.fixed.blocks_total)
            count = cap - pool->u.fixed.blocks_total;
    }
    if (!add_slab(pool, count))
        return NULL;
    fixed_slab *slab = pool->u.fixed.last_slab;
    char *b = r3_load_relaxed(&slab->bump);
    set_bump(pool, slab, b + pool->fast.block_size);
    return fixed_hand_out(pool, (free_block *)b, false);
}

/* Every block becomes untouched again. Blocks that were free keep a stale
 * tag, which is harmless: handing a block out clears its tag. */
void fixed_reset(r3_pool_t *pool)
{
    pool->fast.free_top = pool->fast.free_base;
    pool->u.fixed.free_list = NULL;
    r3_store_relaxed(&pool->remote_free, NULL);
    for (fixed_slab *s = pool->u.fixed.slabs; s; s = s->next)
        set_bump(pool, s, s->first);
    pool->u.fixed.fresh_slab = pool->u.fixed.slabs;
    if (pool->u.fixed.meta)
        region_reset(pool->u.fixed.meta);
}

void fixed_release(r3_pool_t *pool)
{
    fixed_slab *s = pool->u.fixed.slabs;
    while (s) {
        fixed_slab *next = s->next;
        r3_os_unmap(s, s->map_size);
        s = next;
    }
    pool->u.fixed.slabs = NULL;
    if (pool->u.fixed.stack_map_size)
        r3_os_unmap(pool->fast.free_base - 1, pool->u.fixed.stack_map_size);
    if (pool->u.fixed.registry == &pool->u.fixed.own_registry)
        registry_destroy(pool->u.fixed.registry);
    if (pool->u.fixed.meta)
        pool_destroy_any(pool->u.fixed.meta);
}

/* Blocks never handed out since the last clear. */
static size_t untouched_blocks(r3_pool_t *pool)
{
    size_t n = 0;
    for (fixed_slab *s = pool->u.fixed.slabs; s; s = s->next)
        n += (size_t)(s->first + s->span - r3_load_relaxed(&s->bump)) / pool->fast.block_size;
    return n;
}

static long list_length(free_block *b, size_t bound)
{
    size_t n = 0;
    for (; b && n <= bound; b = b->next)
        n++;
    return b ? -1 : (long)n;
}

/* Free blocks on the free stack. */
static size_t stacked_blocks(r3_pool_t *pool)
{
    return (size_t)(pool->fast.free_top - pool->fast.free_base);
}

void fixed_stats(r3_pool_t *pool, r3_pool_stats *out)
{
    size_t total = pool->u.fixed.blocks_total;
    size_t free_blocks = stacked_blocks(pool) + (size_t)list_length(pool->u.fixed.free_list, total) +
                         (size_t)list_length(r3_load_acquire(&pool->remote_free), total);
    out->block_size = pool->fast.block_size;
    out->blocks_total = total;
    out->blocks_in_use = total - untouched_blocks(pool) - free_blocks;
    out->bytes_in_use = out->blocks_in_use * pool->fast.block_size;
    out->bytes_reserved = pool->u.fixed.bytes_reserved;
}

static int broken(const char *what)
{
    r3_os_print("r3pool: fixed pool: ");
    r3_os_print(what);
    r3_os_print("\n");
    return -1;
}

/* Checks that b, on the free stack or a free list, is a free block start
 * of this pool, tagged free, outside the untouched range. 0 or -1. */
static int check_free_block(r3_pool_t *pool, free_block *b)
{
    fixed_slab *slab = fixed_slab_of(pool->u.fixed.registry, pool->u.fixed.slab_mask, b);
    if (!slab || slab->owner != pool)
        return broken("free block outside the pool");
    if (!fixed_is_block_start(pool, slab, b))
        return broken("free block not a block start");
    if (b->tag != fixed_tag(pool, b))
        return broken("free block without its free tag");
    if ((char *)b >= r3_load_relaxed(&slab->bump))
        return broken("free block in the untouched range");
    return 0;
}

/* Counts a free list, checking every entry; -1 when one is wrong or the
 * list is longer than the pool (a cycle). */
static long check_free_list(r3_pool_t *pool, free_block *b)
{
    size_t n = 0;
    for (; b; b = b->next) {
        if (++n > pool->u.fixed.blocks_total)
            return broken("free list longer than the pool (a cycle)");
        if (check_free_block(pool, b) < 0)
            return -1;
    }
    return (long)n;
}

/* Checks the free stack's bounds and entries; its length or -1. */
static long check_free_stack(r3_pool_t *pool)
{
    void **base = pool->fast.free_base, **top = pool->fast.free_top, **end = pool->fast.free_end;
    if (top < base || top > end || base[-1] != NULL ||
        (size_t)(end - base) + 1 != pool->u.fixed.stack_map_size / sizeof(void *) ||
        (size_t)(end - base) < pool->u.fixed.blocks_total)
        return broken("free stack bounds wrong");
    for (void **e = base; e < top; e++)
        if (check_free_block(pool, *e) < 0)
            return -1;
    return (long)(top - base);
}

int fixed_check(r3_pool_t *pool)
{
    size_t bs = pool->fast.block_size;
    fixed_slab *fresh_slab = pool->u.fixed.fresh_slab;
    bool fresh_seen = false;
    size_t total = 0, bytes = 0;
    for (fixed_slab *s = pool->u.fixed.slabs; s; s = s->next) {
        if (s->magic != SLAB_MAGIC || s->owner != pool || s->span != s->block_count * bs ||
            s->first != (char *)s + SLAB_HEADER)
            return broken("slab header corrupt");
        char *bump = r3_load_relaxed(&s->bump), *end = s->first + s->span;
        if (bump < s->first || bump > end || (size_t)(bump - s->first) % bs)
            return broken("bump pointer outside its slab");
        /* Slabs before the fresh one are used up, those after untouched. */
        if ((!fresh_seen && s != fresh_slab && bump != end) || (fresh_seen && bump != s->first))
            return broken("slab bump pointers out of order");
        if (!fixed_slab_of(pool->u.fixed.registry, pool->u.fixed.slab_mask, s->first))
            return broken("slab missing from the registry");
        fresh_seen |= s == fresh_slab;
        total += s->block_count;
        bytes += s->map_size;
    }
    if (!fresh_seen || total != pool->u.fixed.blocks_total ||
        bytes + pool->u.fixed.stack_map_size != pool->u.fixed.bytes_reserved)
        return broken("slab list and counters disagree");
    fixed_slab *first = pool->u.fixed.slabs;
    if (pool->fast.first_block != first->first ||
        pool->fast.first_handed != first_handed_of(pool, first, r3_load_relaxed(&first->bump)))
        return broken("first slab's inline copy stale");
    long stacked = check_free_stack(pool);
    long local = check_free_list(pool, pool->u.fixed.free_list);
    long remote = check_free_list(pool, r3_load_acquire(&pool->remote_free));
    if (stacked < 0 || local < 0 || remote < 0)
        return -1;
    if ((size_t)(stacked + local + remote) + untouched_blocks(pool) > total)
        return broken("more free blocks than the pool holds");
    return 0;
}
