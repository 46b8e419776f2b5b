/* Fixed-block pools: blocks of one size in slabs of block_count blocks.
 *
 * A block is in exactly one of four states: in use (its bit set in the
 * slab's in-use bitmap), on the local free list, on the remote free list
 * (per-CPU sub-pools: freed from another CPU, not yet taken back), or
 * untouched (at or after `fresh` in fresh_slab, or in a slab after it).
 * fixed_check() verifies that the four counts add up to blocks_total.
 *
 * Allocation pops the free list, else takes back the remote list with one
 * exchange, else bumps `fresh`, else maps a new slab: O(1) with no loop
 * over blocks, and untouched blocks cost no physical memory. Free finds the
 * slab with one mask once the registry has confirmed the address, so a
 * foreign pointer is rejected without reading memory that is not ours, and
 * the bitmap catches a double free or an interior pointer in every build. */
#include "fast_path.h"
#include "core/os.h"
#include <errno.h>
#include <string.h>

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) & ~(to - 1);
}

static size_t bitmap_words(size_t count, size_t block_size, unsigned shift)
{
    size_t granules = (count * block_size) >> shift;
    return (granules + 63) / 64;
}

static size_t slab_header_size(size_t words)
{
    return round_up(sizeof(fixed_slab) + 2 * words * sizeof(uint64_t), CACHE_LINE);
}

/* Bytes to map for a slab of count blocks, or 0 when that overflows. */
static size_t slab_map_size(size_t count, size_t block_size, unsigned shift)
{
    if (count > (SIZE_MAX / 2) / block_size)
        return 0;
    size_t header = slab_header_size(bitmap_words(count, block_size, shift));
    size_t bytes = header + count * block_size;
    if (bytes > SIZE_MAX / 4)
        return 0;
    return round_up(bytes, R3_OS_PAGE);
}

static size_t next_power_of_two(size_t n)
{
    return n <= 1 ? 1 : (size_t)1 << (64 - __builtin_clzll(n - 1));
}

/* Maps, binds and registers a slab of count blocks; it becomes the last
 * slab and, when nothing untouched is left, the fresh one. */
static bool add_slab(r3_pool_t *pool, size_t count)
{
    size_t bs = pool->u.fixed.block_size;
    unsigned shift = pool->u.fixed.granule_shift;
    size_t size = slab_map_size(count, bs, shift);
    size_t align = ~pool->u.fixed.slab_mask + 1;
    char *base = r3_os_map(size, align);
    if (!base)
        return false;
    if (pool->node >= 0) {
        int rc = pool_bind(base, size, pool->node);
        if (rc < 0) {
            r3_os_unmap(base, size);
            errno = -rc;
            return false;
        }
    }
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
    slab->bitmap_words = bitmap_words(count, bs, shift);
    slab->first = base + slab_header_size(slab->bitmap_words);
    if (pool->u.fixed.last_slab)
        pool->u.fixed.last_slab->next = slab;
    else
        pool->u.fixed.slabs = slab;
    pool->u.fixed.last_slab = slab;
    pool->u.fixed.blocks_total += count;
    pool->u.fixed.bytes_reserved += size;
    if (pool->u.fixed.fresh == pool->u.fixed.fresh_end) {
        pool->u.fixed.fresh_slab = slab;
        pool->u.fixed.fresh = slab->first;
        pool->u.fixed.fresh_end = slab->first + count * bs;
    }
    return true;
}

/* The block geometry of a pool with options o: rounded block size, granule
 * shift, blocks per slab and the bytes of a full slab (0: invalid). */
typedef struct slab_geometry {
    size_t block_size;
    unsigned shift;
    size_t count;
    size_t slab_size;
} slab_geometry;

static slab_geometry geometry_of(const r3_pool_options *o)
{
    slab_geometry g = { 0, 0, o->block_count, 0 };
    if (o->block_size == 0 || g.count == 0 || o->block_size > SIZE_MAX / 4)
        return g;
    g.block_size = round_up(o->block_size, POOL_ALIGN);
    g.shift = (unsigned)__builtin_ctzll(g.block_size);
    if (o->capacity && o->capacity < g.count)
        g.count = o->capacity;
    g.slab_size = slab_map_size(g.count, g.block_size, g.shift);
    return g;
}

/* Every slab holds at most geometry.count blocks, so the full slab's size
 * rounded up to a power of two aligns them all. */
size_t fixed_slab_align(const r3_pool_options *o)
{
    slab_geometry g = geometry_of(o);
    if (g.slab_size == 0) {
        errno = EINVAL;
        return 0;
    }
    return next_power_of_two(g.slab_size);
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
    pool->remote_frees = shared != NULL;
    pool->u.fixed.block_size = g.block_size;
    pool->u.fixed.granule_shift = g.shift;
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
    return pool;
}

/* Hands out a block that was freed from another CPU: its in-use bit is
 * still set, only its pending bit goes. */
static void *take_remote(r3_pool_t *pool)
{
    free_block *b = pool->u.fixed.remote_taken;
    pool->u.fixed.remote_taken = b->next;
    fixed_slab *slab = (fixed_slab *)((uintptr_t)b & pool->u.fixed.slab_mask);
    block_bits bits = fixed_bits_of(pool, slab, (size_t)((char *)b - slab->first));
    r3_fetch_and(bits.pending, ~bits.mask);
    return b;
}

/* Returns a block marked in use, from (in this order) the blocks freed by
 * other CPUs, the untouched blocks, a new slab. */
void *fixed_refill(r3_pool_t *pool)
{
    if (pool->u.fixed.remote_taken)
        return take_remote(pool);
    if (r3_load_relaxed(&pool->remote_free)) {
        pool->u.fixed.remote_taken = r3_exchange(&pool->remote_free, (free_block *)NULL);
        if (pool->u.fixed.remote_taken)
            return take_remote(pool);
    }
    size_t bs = pool->u.fixed.block_size;
    for (;;) {
        if (pool->u.fixed.fresh != pool->u.fixed.fresh_end) {
            void *b = pool->u.fixed.fresh;
            pool->u.fixed.fresh += bs;
            fixed_mark_in_use(pool, b);
            return b;
        }
        fixed_slab *next = pool->u.fixed.fresh_slab ? pool->u.fixed.fresh_slab->next : NULL;
        if (!next)
            break;
        pool->u.fixed.fresh_slab = next;
        pool->u.fixed.fresh = next->first;
        pool->u.fixed.fresh_end = next->first + next->block_count * bs;
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
    void *b = pool->u.fixed.fresh;
    pool->u.fixed.fresh += bs;
    fixed_mark_in_use(pool, b);
    return b;
}

void fixed_reset(r3_pool_t *pool)
{
    for (fixed_slab *s = pool->u.fixed.slabs; s; s = s->next)
        memset((void *)s->bits, 0, 2 * s->bitmap_words * sizeof(uint64_t));
    pool->u.fixed.free_list = NULL;
    pool->u.fixed.remote_taken = NULL;
    r3_store_relaxed(&pool->remote_free, NULL);
    fixed_slab *first = pool->u.fixed.slabs;
    pool->u.fixed.fresh_slab = first;
    pool->u.fixed.fresh = first->first;
    pool->u.fixed.fresh_end = first->first + first->block_count * pool->u.fixed.block_size;
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
    if (pool->u.fixed.registry == &pool->u.fixed.own_registry)
        registry_destroy(pool->u.fixed.registry);
    if (pool->u.fixed.meta)
        pool_destroy_any(pool->u.fixed.meta);
}

/* The number of bits set in the in-use (pending: false) or pending
 * (pending: true) bitmaps of every slab. */
static size_t count_bits(r3_pool_t *pool, bool pending)
{
    size_t n = 0;
    for (fixed_slab *s = pool->u.fixed.slabs; s; s = s->next)
        for (size_t i = 0; i < s->bitmap_words; i++)
            n += (size_t)__builtin_popcountll(
                r3_load_relaxed(&s->bits[(pending ? s->bitmap_words : 0) + i]));
    return n;
}

void fixed_stats(r3_pool_t *pool, r3_pool_stats *out)
{
    out->block_size = pool->u.fixed.block_size;
    /* Blocks freed from another CPU keep their in-use bit until reused. */
    out->blocks_in_use = count_bits(pool, false) - count_bits(pool, true);
    out->blocks_total = pool->u.fixed.blocks_total;
    out->bytes_in_use = out->blocks_in_use * pool->u.fixed.block_size;
    out->bytes_reserved = pool->u.fixed.bytes_reserved;
}

static int broken(const char *what, const void *p)
{
    r3_os_print("r3pool: fixed pool: ");
    r3_os_print(what);
    r3_os_print("\n");
    (void)p;
    return -1;
}

/* Counts a free list, checking that every entry is a block start of this
 * pool outside the untouched range, with the state bits of its list: in
 * use and pending for the remote lists (remote: true), neither for the
 * local one. -1 when one is wrong. */
static long count_free_list(r3_pool_t *pool, free_block *b, bool remote)
{
    size_t n = 0, bs = pool->u.fixed.block_size;
    for (; b; b = b->next) {
        fixed_slab *slab = fixed_slab_of(pool->u.fixed.registry, pool->u.fixed.slab_mask, b);
        if (!slab || slab->owner != pool || ++n > pool->u.fixed.blocks_total)
            return broken("free list entry outside the pool, or a cycle", b);
        size_t offset = (size_t)((char *)b - slab->first);
        if (offset >= slab->block_count * bs || offset % bs)
            return broken("free list entry not a block start", b);
        block_bits bits = fixed_bits_of(pool, slab, offset);
        bool in_use = r3_load_relaxed(bits.in_use) & bits.mask;
        bool pending = r3_load_relaxed(bits.pending) & bits.mask;
        if (in_use != remote || pending != remote)
            return broken("free list entry with the wrong state bits", b);
        if (slab == pool->u.fixed.fresh_slab && (char *)b >= pool->u.fixed.fresh)
            return broken("free list entry in the untouched range", b);
    }
    return (long)n;
}

int fixed_check(r3_pool_t *pool)
{
    size_t bs = pool->u.fixed.block_size, untouched = 0;
    fixed_slab *fresh_slab = pool->u.fixed.fresh_slab;
    char *fresh = pool->u.fixed.fresh, *end = pool->u.fixed.fresh_end;
    if (fresh > end || (size_t)(end - fresh) % bs ||
        fresh < fresh_slab->first || end != fresh_slab->first + fresh_slab->block_count * bs)
        return broken("untouched range outside the fresh slab", fresh);
    untouched = (size_t)(end - fresh) / bs;
    bool after_fresh = false;
    size_t total = 0;
    for (fixed_slab *s = pool->u.fixed.slabs; s; s = s->next) {
        if (s->magic != SLAB_MAGIC || s->owner != pool)
            return broken("slab header corrupt", s);
        if (after_fresh)
            untouched += s->block_count;
        after_fresh |= s == fresh_slab;
        total += s->block_count;
        /* Only block starts may be marked in use. */
        for (size_t i = 0; i < s->bitmap_words; i++) {
            uint64_t w = r3_load_relaxed(&s->bits[i]) | r3_load_relaxed(&s->bits[s->bitmap_words + i]);
            while (w) {
                size_t index = i * 64 + (size_t)__builtin_ctzll(w);
                if (((index << pool->u.fixed.granule_shift) % bs) != 0)
                    return broken("in-use bit on a block interior", s);
                w &= w - 1;
            }
        }
    }
    if (!after_fresh || total != pool->u.fixed.blocks_total)
        return broken("slab list and counters disagree", pool);
    long local = count_free_list(pool, pool->u.fixed.free_list, false);
    long remote = count_free_list(pool, r3_load_relaxed(&pool->remote_free), true);
    long taken = count_free_list(pool, pool->u.fixed.remote_taken, true);
    if (local < 0 || remote < 0 || taken < 0)
        return -1;
    if (count_bits(pool, false) + (size_t)local + untouched != total)
        return broken("in use + free + untouched != blocks reserved", pool);
    if (count_bits(pool, true) != (size_t)(remote + taken))
        return broken("pending bits and remote lists disagree", pool);
    return 0;
}
