/* Huge sizes: one mapping per block.
 *
 * The mapping starts on a 4 MiB boundary with a header, and the block
 * follows within the same 4 MiB, so the segment map entry of the block's
 * address leads to the header. A block aligned to 4 MiB or more cannot share
 * its 4 MiB with the header: its header sits one OS page below it and its map
 * entry says KIND_HUGE_HIGH.
 *
 * realloc uses mremap: in place when the address space after the mapping is
 * free, else the kernel moves the pages (no copy) to a new aligned place.
 *
 * Freed mappings wait in a small cache (at most the retain bound plus half
 * of the live huge bytes, for at most the decay delay) so that a program
 * that allocates and frees large buffers in turn reuses pages that are
 * already faulted in instead of paying mmap, munmap and a page fault per
 * 4 KiB every time. A cached mapping is
 * not "ours" in the segment map, so freeing its old pointer again is caught.
 */
#include "internal.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define HUGE_MAGIC 0x7233687567656863ull   /* "r3hugehc" */

typedef struct huge_header {
    uint64_t magic;
    void *block;
    size_t usable;
    size_t map_size;
    size_t offset;         /* block - mapping start */
    struct huge_header *next, *prev;   /* in the cache */
    uint64_t cached_since_ms;
} huge_header_t;

static r3_atomic(size_t) huge_bytes, huge_blocks;

static struct {
    r3_lock_t lock;
    huge_header_t *first, *last;       /* oldest first */
    size_t bytes;
} cache;

static void cache_remove(huge_header_t *h)
{
    if (h->prev) h->prev->next = h->next; else cache.first = h->next;
    if (h->next) h->next->prev = h->prev; else cache.last = h->prev;
    cache.bytes -= h->map_size;
    r3_fetch_sub(&r3_waiting_bytes, h->map_size);
}

static void cache_push(huge_header_t *h)
{
    h->cached_since_ms = r3_os_now_ms();
    h->next = NULL;
    h->prev = cache.last;
    if (cache.last) cache.last->next = h; else cache.first = h;
    cache.last = h;
    cache.bytes += h->map_size;
    r3_fetch_add(&r3_waiting_bytes, h->map_size);
}

/* Takes the cached mapping with this block offset that is closest in size:
 * the smallest that holds map_size bytes, else the largest (mremap then
 * grows it, keeping its pages). The cache holds a handful of mappings, so
 * the walk is short. Locked. */
static huge_header_t *cache_take(size_t offset, size_t map_size)
{
    huge_header_t *fits = NULL, *largest = NULL;
    for (huge_header_t *h = cache.first; h; h = h->next) {
        if (h->offset != offset)
            continue;
        if (h->map_size >= map_size && (!fits || h->map_size < fits->map_size))
            fits = h;
        if (!largest || h->map_size > largest->map_size)
            largest = h;
    }
    huge_header_t *best = fits ? fits : largest;
    if (best)
        cache_remove(best);
    return best;
}

/* Cuts a cached mapping that is larger than needed instead of shrinking it:
 * the part from the first 4 MiB boundary after the new block's end stays in
 * the cache as a mapping of its own (its pages stay faulted in); only the
 * gap up to that boundary goes back. False when nothing worth keeping is
 * left beyond the boundary. */
static bool cache_split(uint8_t *map, size_t map_size, size_t need, size_t offset)
{
    uintptr_t end = (uintptr_t)map + map_size;
    uintptr_t split = ((uintptr_t)map + need + SEGMENT_MASK) & ~(uintptr_t)SEGMENT_MASK;
    if (split >= end || end - split < SEGMENT_SIZE / 4)
        return false;
    if (split > (uintptr_t)map + need)
        r3_os_unmap(map + need, split - ((uintptr_t)map + need));
    huge_header_t *rest = (huge_header_t *)split;
    rest->magic = 0;
    rest->block = (uint8_t *)split + offset;
    rest->map_size = end - split;
    rest->offset = offset;
    r3_lock(&cache.lock);
    cache_push(rest);
    r3_unlock(&cache.lock);
    return true;
}

/* What may wait in the cache: the retain bound, plus half of what is live in
 * huge blocks, so that a program cycling through large buffers finds its
 * pages again (it decays all the same). */
static size_t cache_budget(void)
{
    return r3_options.retain_bytes + r3_load_relaxed(&huge_bytes) / 2;
}

/* Unmaps cached mappings: the decayed ones, or all. Returns the bytes. */
static size_t cache_trim(bool all, size_t room_for)
{
    size_t bytes = 0;
    uint64_t now = r3_os_now_ms();
    r3_lock(&cache.lock);
    huge_header_t *h;
    while ((h = cache.first) && (all || r3_load_relaxed(&r3_waiting_bytes) + room_for > cache_budget()
                                 || h->cached_since_ms + r3_options.decay_ms <= now)) {
        cache_remove(h);
        bytes += h->map_size;
        r3_os_unmap((uint8_t *)h->block - h->offset, h->map_size);
    }
    r3_unlock(&cache.lock);
    return bytes;
}

size_t huge_collect(bool all) { return cache_trim(all, 0); }

static huge_header_t *header_of(const void *p, enum segment_kind kind)
{
    uintptr_t slot = (uintptr_t)p & ~(uintptr_t)SEGMENT_MASK;
    if (kind == KIND_HUGE_HIGH)
        slot -= R3_OS_PAGE;
    return (huge_header_t *)slot;
}

static size_t round_page(size_t n) { return (n + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1); }

void *huge_alloc(size_t size, size_t align, bool zero)
{
    (void)zero;                     /* fresh mappings are zero already */
    if (align < 16)
        align = 16;
    size_t offset = align < SEGMENT_SIZE ? (align > 64 ? align : 64) : align;
    if (size > PTRDIFF_MAX - offset - SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t map_size = round_page(offset + size);
    size_t map_align = align < SEGMENT_SIZE ? SEGMENT_SIZE : align;
    enum segment_kind kind = align < SEGMENT_SIZE ? KIND_HUGE : KIND_HUGE_HIGH;
    huge_header_t *h = NULL;
    if (kind == KIND_HUGE) {
        r3_lock(&cache.lock);
        h = cache_take(offset, map_size);
        r3_unlock(&cache.lock);
    }
    uint8_t *map = NULL;
    if (h) {
        uint8_t *old = (uint8_t *)h->block - offset;
        size_t reused = h->map_size < map_size ? h->map_size : map_size;
        if (h->map_size > map_size && cache_split(old, h->map_size, map_size, offset))
            map = old;
        else
            map = h->map_size == map_size ? old : r3_os_remap(old, h->map_size, map_size, SEGMENT_SIZE);
        if (!map)
            r3_os_unmap(old, h->map_size);
        else if (zero)
            memset(map + offset, 0, reused - offset);   /* pages past it are fresh */
    }
    if (!map) {
        map = r3_os_map(map_size, map_align);
        if (!map)
            return NULL;
    }
    uint8_t *block = map + offset;
    h = header_of(block, kind);
    h->magic = HUGE_MAGIC;
    h->block = block;
    h->usable = map_size - offset;
    h->map_size = map_size;
    h->offset = offset;
    segment_set_kind(block, 1, kind);
    r3_fetch_add(&huge_bytes, map_size);
    r3_fetch_add(&huge_blocks, 1);
    STAT_INC(malloc_huge);
    return block;
}

static huge_header_t *huge_validate(const void *p, enum segment_kind kind)
{
    huge_header_t *h = header_of(p, kind);
    if (R3_UNLIKELY(h->magic != HUGE_MAGIC || h->block != p))
        r3_fatal("free of a pointer that is not a block:", p);
    return h;
}

void huge_free(void *p, enum segment_kind kind)
{
    huge_header_t *h = huge_validate(p, kind);
    size_t map_size = h->map_size;
    uint8_t *map = (uint8_t *)p - h->offset;
    h->magic = 0;
    segment_set_kind(p, 1, KIND_NONE);
    r3_fetch_sub(&huge_bytes, map_size);
    r3_fetch_sub(&huge_blocks, 1);
    STAT_INC(free_huge);
    if (kind == KIND_HUGE && map_size <= cache_budget() && r3_options.decay_ms) {
        cache_trim(false, map_size);
        r3_lock(&cache.lock);
        cache_push(h);
        r3_unlock(&cache.lock);
        r3_purger_wake();
        return;
    }
    r3_os_unmap(map, map_size);
}

/* Resizes a huge block that stays huge; NULL (block intact) on failure. */
void *huge_realloc(void *p, enum segment_kind kind, size_t size)
{
    huge_header_t *h = huge_validate(p, kind);
    if (kind == KIND_HUGE_HIGH)
        return NULL;                 /* the caller copies */
    size_t offset = h->offset;
    if (size > PTRDIFF_MAX - offset - SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old_map = h->map_size, new_map = round_page(offset + size);
    if (new_map == old_map)
        return p;
    uint8_t *map = (uint8_t *)p - offset;
    uint8_t *moved = r3_os_remap(map, old_map, new_map, SEGMENT_SIZE);
    if (!moved)
        return NULL;
    uint8_t *block = moved + offset;
    if (moved != map) {
        segment_set_kind(p, 1, KIND_NONE);
        segment_set_kind(block, 1, KIND_HUGE);
    }
    h = header_of(block, KIND_HUGE);
    h->block = block;
    h->usable = new_map - offset;
    h->map_size = new_map;
    r3_fetch_add(&huge_bytes, new_map - old_map);   /* wraps correctly on shrink */
    return block;
}

size_t huge_usable_size(const void *p, enum segment_kind kind)
{
    return huge_validate(p, kind)->usable;
}

void huge_stats(size_t *bytes, size_t *blocks)
{
    *bytes = r3_load_relaxed(&huge_bytes);
    *blocks = r3_load_relaxed(&huge_blocks);
}

void huge_fork_child(void)
{
    if (r3_is_locked(&cache.lock)) {
        r3_fetch_sub(&r3_waiting_bytes, cache.bytes);
        cache.first = cache.last = NULL;
        cache.bytes = 0;
    }
    r3_lock_reset(&cache.lock);
}
