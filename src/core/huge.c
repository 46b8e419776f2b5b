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
 * Freed mappings wait in a cache (at most the retain bound plus the live
 * huge bytes, for at most the decay delay) so that a program that
 * allocates and frees large buffers in turn reuses pages that are already
 * faulted in instead of paying mmap, munmap and a page fault per 4 KiB every
 * time. The cache holds pieces: any whole number of OS pages, anywhere. A
 * request takes the smallest piece that holds it, cut to size (the tail
 * stays in the cache, no system call); a piece that is not on a 4 MiB
 * boundary is moved to one with mremap, which carries its pages along. If
 * no piece holds it, the largest pieces are moved side by side into a fresh
 * mapping, so that what the cache holds is reused whatever the sizes. A
 * cached piece is not "ours" in the segment map, so freeing its old pointer
 * again is caught.
 */
#include "internal.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define HUGE_MAGIC 0x7233687567656863ull   /* "r3hugehc" */
/* A tail shorter than this stays with the block it was cut from. */
#define PIECE_MIN  (MEDIUM_MAX / 4)

typedef struct huge_header {
    uint64_t magic;
    void *block;
    size_t usable;
    size_t map_size;
    size_t offset;         /* block - mapping start */
} huge_header_t;

/* A cached piece, described in its own first page. */
typedef struct piece {
    size_t size;
    struct piece *next, *prev;         /* in the cache, oldest first */
    uint64_t cached_since_ms;
} piece_t;

static r3_atomic(size_t) huge_bytes, huge_blocks;

static struct {
    r3_lock_t lock;
    piece_t *first, *last;
    size_t bytes;
} cache;

static void cache_remove(piece_t *pc)
{
    if (pc->prev) pc->prev->next = pc->next; else cache.first = pc->next;
    if (pc->next) pc->next->prev = pc->prev; else cache.last = pc->prev;
    cache.bytes -= pc->size;
    r3_fetch_sub(&r3_waiting_bytes, pc->size);
}

/* Takes the smallest piece that holds need bytes, or with need == 0 the
 * largest piece. The cache holds a handful of pieces (its budget is a few
 * times the largest block), so the walk is short. Locked. */
static piece_t *cache_take(size_t need)
{
    piece_t *best = NULL;
    for (piece_t *pc = cache.first; pc; pc = pc->next) {
        if (need ? pc->size >= need && (!best || pc->size < best->size)
                 : !best || pc->size > best->size)
            best = pc;
    }
    if (best)
        cache_remove(best);
    return best;
}

/* Puts size bytes of mapping at start into the cache, newest last. */
static void cache_give_back(void *start, size_t size)
{
    piece_t *pc = start;
    pc->size = size;
    pc->cached_since_ms = r3_os_now_ms();
    pc->next = NULL;
    r3_lock(&cache.lock);
    pc->prev = cache.last;
    if (cache.last) cache.last->next = pc; else cache.first = pc;
    cache.last = pc;
    cache.bytes += size;
    r3_fetch_add(&r3_waiting_bytes, size);
    r3_unlock(&cache.lock);
}

/* A piece that holds the request becomes its mapping: cut to size (a tail
 * too short to be worth caching stays with the block) and moved to a 4 MiB
 * boundary if it is not on one. NULL, the piece gone, if the move fails. */
static uint8_t *piece_reuse(piece_t *pc, size_t *map_size)
{
    uint8_t *start = (uint8_t *)pc;
    size_t size = pc->size;
    if (size - *map_size >= PIECE_MIN) {
        cache_give_back(start + *map_size, size - *map_size);
        size = *map_size;
    }
    *map_size = size;
    if (!((uintptr_t)start & SEGMENT_MASK))
        return start;
    uint8_t *map = r3_os_move(start, size, size, SEGMENT_SIZE);
    if (!map)
        r3_os_unmap(start, size);
    return map;
}

/* No piece holds the request: a fresh aligned mapping, with the largest
 * pieces moved into it one after the other (their pages come along, only
 * what they do not cover is fresh). At most GATHER_MAX pieces, so that the
 * work per call stays bounded. Returns the mapping and the bytes that came
 * from the cache, or NULL if the cache is empty or the mapping fails. */
#define GATHER_MAX 8
static uint8_t *cache_gather(size_t map_size, size_t *filled)
{
    if (!r3_load_relaxed(&r3_waiting_bytes))
        return NULL;                          /* a hint; the lock decides */
    uint8_t *map = r3_os_map(map_size, SEGMENT_SIZE);
    if (!map)
        return NULL;
    *filled = 0;
    for (int i = 0; i < GATHER_MAX && *filled < map_size; i++) {
        r3_lock(&cache.lock);
        piece_t *pc = cache_take(0);
        r3_unlock(&cache.lock);
        if (!pc)
            break;
        size_t size = pc->size, take = map_size - *filled < size ? map_size - *filled : size;
        if (take < size)
            cache_give_back((uint8_t *)pc + take, size - take);
        if (!r3_os_move_to(pc, take, map + *filled)) {
            r3_os_unmap(pc, take);
            break;
        }
        *filled += take;
    }
    return map;
}

/* A mapping of *map_size bytes on a 4 MiB boundary made of cached pages as
 * far as they go (*map_size may grow a little), or NULL. For calloc the
 * reused part is cleared; the rest is fresh and reads as zero. */
static uint8_t *cache_reuse(size_t *map_size, size_t offset, bool zero)
{
    r3_lock(&cache.lock);
    piece_t *pc = cache_take(*map_size);
    r3_unlock(&cache.lock);
    size_t reused = 0;
    uint8_t *map;
    if (pc) {
        map = piece_reuse(pc, map_size);
        reused = *map_size;
    } else {
        map = cache_gather(*map_size, &reused);
    }
    if (map && zero && reused > offset)
        memset(map + offset, 0, reused - offset);
    return map;
}

/* What may wait in the cache: the retain bound, plus what is live in huge
 * blocks, so that a program cycling through large buffers finds its pages
 * again (they decay all the same). */
static size_t cache_budget(void)
{
    return r3_options.retain_bytes + r3_load_relaxed(&huge_bytes);
}

/* Unmaps cached pieces: the decayed ones, or all, or as many as it takes
 * to make room_for bytes fit the budget. Returns the bytes. */
static size_t cache_trim(bool all, size_t room_for)
{
    size_t bytes = 0;
    uint64_t now = r3_os_now_ms();
    r3_lock(&cache.lock);
    piece_t *pc;
    while ((pc = cache.first) && (all || r3_load_relaxed(&r3_waiting_bytes) + room_for > cache_budget()
                                  || pc->cached_since_ms + r3_options.decay_ms <= now)) {
        cache_remove(pc);
        bytes += pc->size;
        r3_os_unmap(pc, pc->size);
    }
    r3_unlock(&cache.lock);
    return bytes;
}

size_t huge_collect(bool all) { return cache_trim(all, 0); }

/* A mapping for a new segment, made of cached pieces as far as they go
 * (see cache_gather; *reused = the bytes that came from the cache), or NULL
 * when nothing waits. Pages that wait in the cache are resident: a segment
 * that takes them in grows the heap without adding to RSS. */
void *huge_cache_lend(size_t size, size_t *reused)
{
    return cache_gather(size, reused);
}

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
    uint8_t *map = kind == KIND_HUGE ? cache_reuse(&map_size, offset, zero) : NULL;
    if (!map) {
        map = r3_os_map(map_size, map_align);
        if (!map)
            return NULL;
    }
    uint8_t *block = map + offset;
    huge_header_t *h = header_of(block, kind);
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
        cache_give_back(map, map_size);
        r3_purger_wake();
        return;
    }
    r3_os_unmap(map, map_size);
}

/* Resizes a huge block that stays huge; NULL (block intact) on failure,
 * errno ENOMEM when memory ran out, else the caller copies. */
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
