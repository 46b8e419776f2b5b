/* Segments: 4 MiB aligned pieces of address space, and the map that says
 * which of them are ours.
 *
 * The segment map has one byte per 4 MiB of the 47-bit address space (32 MiB
 * of zero-initialised address space, of which only the parts that cover our
 * segments are ever touched). free() reads one byte to learn whether a
 * pointer is ours and which layer owns it.
 *
 * Small segments are cut into 64 KiB pages handed to heaps one at a time;
 * page 0 holds the segment header and the page descriptors. Arena segments
 * are one TLSF region each. A segment whose pages are all unused, or an arena
 * segment its arena gave back, waits in the empty cache.
 *
 * Decay: an unused page keeps its physical memory for r3_options.decay_ms in
 * case it is needed again, then is purged (MADV_DONTNEED); an empty segment
 * is unmapped after the same delay. Unused pages wait in one queue per size
 * class they last served, each ordered by the time its pages became unused,
 * so purging looks at the heads of the non-empty queues and never searches.
 * A heap that needs a page of a class takes the newest unused page of that
 * class: its blocks are still carved and warm in the caches. What waits is
 * bounded too (with the huge-block cache, counted in r3_waiting_bytes):
 * beyond r3_options.retain_bytes the oldest goes back at once
 * (down to half the bound), so that memory freed in bulk leaves promptly
 * even if the program then stays on the allocation fast paths.
 *
 * Everything here runs under one lock: these are slow paths (once per 64 KiB
 * of small allocations, once per 4 MiB of medium ones).
 */
#include "internal.h"
#include <errno.h>
#include <string.h>

#define SEGMENT_MAGIC   0x72336d616c6c6f63ull   /* "r3malloc" */
#define ALL_PAGES_FREE  (~(uint64_t)1)          /* page 0 is the header */

r3_atomic(uint8_t) r3_segmap[SEGMAP_ENTRIES];
r3_atomic(size_t) r3_waiting_bytes;

typedef struct segment_list { segment_t *first, *last; } segment_list_t;

static struct {
    r3_lock_t lock;
    segment_list_t partial;       /* small segments with an unused page */
    segment_list_t empty;         /* unused segments, oldest first */
    class_queues_t purge;         /* unused dirty pages by their last class, oldest first */
    unsigned generation;
    size_t mapped_segments;
    r3_atomic(uint64_t) next_purge_ms;
} seg;

static void list_push_back(segment_list_t *l, segment_t *s)
{
    s->next = NULL;
    s->prev = l->last;
    if (l->last) l->last->next = s; else l->first = s;
    l->last = s;
}

static void list_remove(segment_list_t *l, segment_t *s)
{
    if (s->prev) s->prev->next = s->next; else l->first = s->next;
    if (s->next) s->next->prev = s->prev; else l->last = s->prev;
    s->next = s->prev = NULL;
}

static size_t release_waiting_locked(bool all);

static void empty_push(segment_t *s)
{
    s->empty_since_ms = r3_os_now_ms();
    list_push_back(&seg.empty, s);
    r3_fetch_add(&r3_waiting_bytes, SEGMENT_SIZE);
}

static void empty_remove(segment_t *s)
{
    list_remove(&seg.empty, s);
    r3_fetch_sub(&r3_waiting_bytes, SEGMENT_SIZE);
}

/* Unused dirty pages wait in one queue per class they last served: a heap
 * that needs a page of a class takes the newest of that class, whose blocks
 * are still carved (see segment_page_alloc). Decay takes the oldest of all.
 * An unused page keeps the time it became unused in its thread_free word. */
static uint64_t unused_since_ms(const page_t *pg)
{
    return (uint64_t)(uintptr_t)r3_load_relaxed(&((page_t *)pg)->thread_free);
}

static void purge_push(page_t *pg)
{
    pg->dirty = true;
    r3_store_relaxed(&pg->thread_free, (block_t *)(uintptr_t)r3_os_now_ms());
    class_queues_push_back(&seg.purge, pg);
    r3_fetch_add(&r3_waiting_bytes, PAGE_SIZE);
}

static void purge_remove(page_t *pg)
{
    r3_fetch_sub(&r3_waiting_bytes, PAGE_SIZE);
    class_queues_remove(&seg.purge, pg);
    pg->dirty = false;
}

/* The unused dirty page that has waited longest (newest false) or least
 * (newest true), of any class, or NULL: each queue is ordered by age, so
 * only one end of each non-empty queue is compared. Locked. */
static page_t *purge_pick(bool newest)
{
    page_t *pick = NULL;
    for (uint64_t left = r3_load_relaxed(&seg.purge.nonempty); left; left &= left - 1) {
        page_queue_t *q = &seg.purge.list[__builtin_ctzll(left)];
        page_t *pg = newest ? q->last : q->first;
        uint64_t t = unused_since_ms(pg);
        if (!pick || (newest ? t > unused_since_ms(pick) : t < unused_since_ms(pick)))
            pick = pg;
    }
    return pick;
}

bool segment_has_page_of_class(unsigned cls)
{
    return class_queues_may_have(&seg.purge, cls);
}

void segment_set_kind(void *start, size_t size, enum segment_kind kind)
{
    uintptr_t first = (uintptr_t)start >> SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)start + (size ? size - 1 : 0)) >> SEGMENT_SHIFT;
    for (uintptr_t i = first; i <= last; i++)
        r3_store_relaxed(&r3_segmap[i], (uint8_t)kind);
}

static void segment_unmap(segment_t *s)
{
    segment_set_kind(s, SEGMENT_SIZE, KIND_NONE);
    s->magic = 0;
    r3_os_unmap(s, SEGMENT_SIZE);
    seg.mapped_segments--;
}

/* An empty cached segment, or a new one, made of the pages waiting in the
 * huge-block cache as far as they go (they are resident: taking fresh pages
 * while they wait would add to RSS); *fresh, unless NULL, tells whether
 * none of its memory was resident before. The caller sets it up. Locked. */
static segment_t *segment_obtain(bool *fresh)
{
    segment_t *s = seg.empty.first;
    if (fresh)
        *fresh = false;
    if (s) {
        empty_remove(s);
        return s;
    }
    size_t reused = 0;
    s = huge_cache_lend(SEGMENT_SIZE, &reused);
    if (!s)
        s = r3_os_map(SEGMENT_SIZE, SEGMENT_SIZE);
    if (fresh)
        *fresh = reused == 0;
    if (s)
        seg.mapped_segments++;
    return s;
}

static void segment_setup_small(segment_t *s)
{
    memset(&s->pages[1], 0, sizeof s->pages - sizeof s->pages[0]);
    s->magic = SEGMENT_MAGIC;
    s->kind = KIND_SMALL;
    s->generation = seg.generation;
    s->free_pages = ALL_PAGES_FREE;
    s->arena = NULL;
    segment_set_kind(s, SEGMENT_SIZE, KIND_SMALL);
    list_push_back(&seg.partial, s);
}

/* The newest unused page that served cls (its blocks stay carved, see
 * page_init), else the newest unused page not yet purged (its memory is
 * resident: taking a clean page instead would add to RSS while it waits),
 * else the lowest unused page of the first segment that has one, else a
 * page of a new segment. */
page_t *segment_page_alloc(unsigned cls)
{
    r3_lock(&seg.lock);
    page_t *recent = seg.purge.list[cls].last;
    if (!recent)
        recent = purge_pick(true);
    segment_t *s = recent ? segment_of(recent) : seg.partial.first;
    bool fresh = false;
    if (!s) {
        s = segment_obtain(&fresh);
        if (!s) {
            r3_unlock(&seg.lock);
            errno = ENOMEM;
            return NULL;
        }
        segment_setup_small(s);
    }
    unsigned idx = recent ? (unsigned)(recent - s->pages) : (unsigned)__builtin_ctzll(s->free_pages);
    s->free_pages &= ~(1ull << idx);
    if (!s->free_pages)
        list_remove(&seg.partial, s);
    page_t *pg = &s->pages[idx];
    if (pg->dirty)
        purge_remove(pg);
    r3_store_relaxed(&pg->state, (uint8_t)PAGE_QUEUED);   /* the caller's from now on */
    r3_unlock(&seg.lock);
    if (fresh)   /* unlocked: draining an arena's deferred frees may give a segment back */
        arena_purge_free();
#if R3_SECURE
    memset((void *)page_bitmap(pg), 0, SECURE_BITMAP_WORDS * 8);
#endif
    return pg;
}

void segment_page_release(page_t *pg)
{
    segment_t *s = segment_of(pg);
    unsigned idx = (unsigned)(pg - s->pages);
    page_claims_forget(pg);
    /* Readers on other threads see an unused page as "not a block". */
    pg->divisor = 0;
    /* Its blocks are all free (nothing is in use) and stay on its free and
     * local_free lists, so that the page can serve its class again without
     * carving until it is purged (page_init keeps both). */
    r3_store_relaxed(&pg->heap, (heap_t *)NULL);

    r3_lock(&seg.lock);
    /* Under the lock, with the bit: segment_check relies on both agreeing. */
    r3_store_relaxed(&pg->state, (uint8_t)PAGE_UNUSED);
    if (s->generation != seg.generation) {     /* forgotten at fork */
        r3_unlock(&seg.lock);
        return;
    }
    if (!s->free_pages)
        list_push_back(&seg.partial, s);
    s->free_pages |= 1ull << idx;
    if (s->free_pages == ALL_PAGES_FREE) {
        /* The whole segment waits as one piece; its pages leave the queue. */
        for (unsigned i = 1; i < PAGES_PER_SEGMENT; i++)
            if (s->pages[i].dirty)
                purge_remove(&s->pages[i]);
        list_remove(&seg.partial, s);
        empty_push(s);
    } else {
        purge_push(pg);
    }
    release_waiting_locked(false);
    r3_unlock(&seg.lock);
    r3_purger_wake();
}

segment_t *segment_map_arena(struct arena *a)
{
    r3_lock(&seg.lock);
    segment_t *s = segment_obtain(NULL);
    if (s) {
        s->magic = SEGMENT_MAGIC;
        s->kind = KIND_ARENA;
        s->generation = seg.generation;
        s->free_pages = 0;
        s->arena = a;
        segment_set_kind(s, SEGMENT_SIZE, KIND_ARENA);
    }
    r3_unlock(&seg.lock);
    if (!s)
        errno = ENOMEM;
    return s;
}

void segment_release_arena(segment_t *s)
{
    r3_lock(&seg.lock);
    if (s->generation == seg.generation) {
        s->arena = NULL;
        s->kind = KIND_NONE;
        segment_set_kind(s, SEGMENT_SIZE, KIND_NONE);
        empty_push(s);
        release_waiting_locked(false);
    }
    r3_unlock(&seg.lock);
    r3_purger_wake();
}

/* Gives back, oldest first, what has waited longer than the decay delay, and
 * while more than retain_bytes wait, whatever is oldest until half that is
 * left (all of it when `all`). Returns the bytes given back. Locked. */
static size_t release_waiting_locked(bool all)
{
    size_t bytes = 0;
    bool over = r3_load_relaxed(&r3_waiting_bytes) > r3_options.retain_bytes;
    uint64_t now = r3_os_now_ms(), decay = r3_options.decay_ms;
    segment_t *s;
    while ((s = seg.empty.first)) {
        over = over && r3_load_relaxed(&r3_waiting_bytes) > r3_options.retain_bytes / 2;
        if (!all && !over && s->empty_since_ms + decay > now)
            break;
        empty_remove(s);
        segment_unmap(s);
        bytes += SEGMENT_SIZE;
    }
    page_t *pg;
    while ((pg = purge_pick(false))) {
        over = over && r3_load_relaxed(&r3_waiting_bytes) > r3_options.retain_bytes / 2;
        if (!all && !over && unused_since_ms(pg) + decay > now)
            break;
        purge_remove(pg);
        r3_os_purge(page_start(pg), PAGE_SIZE);
        pg->free = pg->local_free = NULL;         /* the blocks are zero now */
        r3_store_relaxed(&pg->capacity, (uint16_t)0);
        bytes += PAGE_SIZE;
    }
    STAT_ADD(purged_bytes, bytes);
    return bytes;
}

size_t segment_collect(bool all)
{
    r3_lock(&seg.lock);
    size_t bytes = release_waiting_locked(all);
    r3_unlock(&seg.lock);
    return bytes;
}

/* Called now and then from slow paths: gives back what has decayed. */
void r3_purge_tick(heap_t *h)
{
    (void)h;
    page_claims_tick();
    uint64_t now = r3_os_now_ms();
    uint64_t next = r3_load_relaxed(&seg.next_purge_ms);
    if (now < next)
        return;
    uint64_t step = r3_options.decay_ms / 4 + 1;
    if (!r3_cas(&seg.next_purge_ms, &next, now + step))
        return;                               /* another thread does it */
    segment_collect(false);
    huge_collect(false);
    abandoned_collect();
    arena_collect_decayed();
}

void segment_fork_child(void)
{
    if (r3_is_locked(&seg.lock)) {
        /* A thread that does not exist here held the lock: the lists may be
         * half-linked. Start new ones; segments of the old generation stay
         * mapped (their live blocks remain valid) but are never reused. */
        seg.generation++;
        memset(&seg.partial, 0, sizeof seg.partial);
        memset(&seg.empty, 0, sizeof seg.empty);
        class_queues_reset(&seg.purge);
    }
    r3_lock_reset(&seg.lock);
}

void segment_stats(size_t *mapped, size_t *segments)
{
    *segments = seg.mapped_segments;
    *mapped = seg.mapped_segments * SEGMENT_SIZE;
}

static int segment_list_check(const segment_list_t *l)
{
    const segment_t *prev = NULL;
    for (const segment_t *s = l->first; s; s = s->next) {
        if (s->prev != prev) return -30;
        if (s->magic != SEGMENT_MAGIC && s->kind != KIND_NONE) return -31;
        if ((uintptr_t)s & SEGMENT_MASK) return -32;
        prev = s;
    }
    return l->last == prev ? 0 : -33;
}

int segment_check(void)
{
    r3_lock(&seg.lock);
    int rc = segment_list_check(&seg.partial);
    if (!rc) rc = segment_list_check(&seg.empty);
    for (const segment_t *s = seg.partial.first; s && !rc; s = s->next) {
        if (s->kind != KIND_SMALL || segment_kind_of(s) != KIND_SMALL) rc = -34;
        else if (!s->free_pages || (s->free_pages & 1)) rc = -35;
        for (unsigned i = 1; i < PAGES_PER_SEGMENT && !rc; i++) {
            bool unused = s->free_pages & (1ull << i);
            if (unused != (r3_load_relaxed(&s->pages[i].state) == PAGE_UNUSED)) rc = -36;
        }
    }
    for (unsigned c = 0; c < CLASS_COUNT && !rc; c++) {
        const page_t *prev = NULL;
        for (const page_t *pg = seg.purge.list[c].first; pg && !rc; pg = pg->next) {
            if (pg->prev != prev || !pg->dirty || r3_load_relaxed(&pg->state) != PAGE_UNUSED
                || pg->size_class != c) rc = -37;
            prev = pg;
        }
        if (!rc && seg.purge.list[c].last != prev) rc = -38;
    }
    r3_unlock(&seg.lock);
    return rc;
}
