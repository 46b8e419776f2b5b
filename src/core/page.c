/* Small sizes: per-thread pages of one size class.
 *
 * A page (64 KiB) belongs to one heap (thread). Its free blocks are sharded
 * into three lists, as the fast paths need:
 *   free         the owner allocates from it, no atomics;
 *   local_free   the owner frees into it, no atomics;
 *   thread_free  other threads push onto it with one compare-and-swap
 *                (a counted list, see page_collect_remote).
 * When `free` runs dry, the slow path below takes `thread_free`, swaps in
 * `local_free`, carves more of the page, or moves to the next page.
 *
 * A page whose lists are all empty moves to the heap's full list so that
 * allocation never walks it again. A remote free into a full page sets the
 * heap's remote_full bit for the class; the owner looks at full pages only
 * when that bit is set. The race between "owner marks the page full" and
 * "another thread frees into it" is closed Dekker-style: the owner stores
 * PAGE_FULL then re-reads thread_free; the remote thread pushes then reads the
 * state; with sequentially consistent accesses one of them sees the other.
 *
 * When a thread exits, its pages that still hold live blocks are abandoned
 * to a global list per class; a heap that needs a page of that class adopts
 * one before taking a fresh page. A full page whose blocks all come back
 * from other threads while its owner does not look is given back to the
 * system (page_claim).
 */
#include "internal.h"
#include <errno.h>
#include <string.h>

page_t r3_empty_page;                  /* free == NULL: always takes the slow path */

static struct {
    r3_lock_t lock;
    class_queues_t pages;
} abandoned;


/* The page the fast path allocates from, for a class and for every
 * request size of that class that the direct table covers. */
static void heap_set_current_one(heap_t *h, unsigned cls, page_t *pg)
{
    h->current[cls] = pg;
    size_t hi = r3_class_size[cls] / 16;
    if (hi >= DIRECT_COUNT)
        return;
    size_t lo = cls == 0 ? 0 : r3_class_size[cls - 1] / 16 + 1;
    for (size_t g = lo; g <= hi; g++)
        h->direct[g] = pg;
}

void heap_set_current(heap_t *h, unsigned cls, page_t *pg)
{
    heap_set_current_one(h, cls, pg);
    if (cls > 0 && ((h->coarse >> (cls - 1)) & 1))
        heap_set_current_one(h, cls - 1, pg);   /* the coarse class below follows */
}

static void heap_reset_current(heap_t *h, unsigned cls)
{
    page_t *first = h->queue[cls].first;
    heap_set_current(h, cls, first ? first : &r3_empty_page);
}

/* ---- blocks within a page ---------------------------------------------- */

#if R3_SECURE
R3_COLD void secure_mark_failed(void *b, bool to)
{
    r3_fatal(to ? "block handed out twice at" : "double free of", b);
}
#endif

/* Carves the not yet used blocks that start in the same OS page as the
 * next one (at least that block) onto the free list. Carving writes a link
 * into each block, so carving lazily, one OS page at a time, keeps the
 * untouched rest of the page out of RSS: a program that uses a few blocks
 * of many classes pays 4 KiB per class, not 64. */
static void page_extend(page_t *pg)
{
    size_t bs = page_block_size(pg);
    size_t capacity = r3_load_relaxed(&pg->capacity);
    uint8_t *start = page_start(pg) + capacity * bs;
    size_t room = R3_OS_PAGE - ((uintptr_t)start & (R3_OS_PAGE - 1));
    size_t n = (room + bs - 1) / bs;
    if (n > page_reserved(pg) - capacity) n = page_reserved(pg) - capacity;
    block_t *head = pg->free;
    for (size_t i = n; i-- > 0;) {
        block_t *b = (block_t *)(start + i * bs);
        b->next = head;
        b->freed_tag = 0;
        head = b;
    }
    pg->free = head;
    r3_store_relaxed(&pg->capacity, (uint16_t)(capacity + n));
}

/* The remote list is counted: a pusher stores, with the head of the list,
 * the number of blocks on it in the top 16 bits of the word (addresses
 * have 47 bits; a page has at most 4096 blocks). The owner learns how many
 * blocks came back from the word it exchanges, without walking blocks that
 * other threads wrote and whose lines their caches hold. The two low bits
 * (blocks are 16-byte aligned) carry the marks of a page given back while
 * its owner is idle (below). */
#define REMOTE_COUNT_SHIFT 48
#define MARK_BITS ((uintptr_t)3)

static inline block_t *remote_head(block_t *word)
{
    return (block_t *)((uintptr_t)word & (((uintptr_t)1 << REMOTE_COUNT_SHIFT) - 1) & ~MARK_BITS);
}

static inline unsigned remote_count(block_t *word)
{
    return (unsigned)((uintptr_t)word >> REMOTE_COUNT_SHIFT);
}

/* ---- pages given back while their owner is idle ---------------------------
 * A thread that filled pages and then stopped allocating (a main thread
 * that builds the data and waits in pthread_join while workers free it)
 * would keep them resident for good: their blocks come back on remote
 * lists, which only the owner collects. So a full page whose blocks have
 * all come back, while it is still on its owner's full list (the owner has
 * not looked at the class since its first block came back: a slow path of
 * the class would have moved it), is given back to the system, a little
 * later, unless the owner takes it first.
 *
 * The free that brings the last block back claims the page: it marks the
 * remote list CLAIMED (the list stays in the word) and queues the page. A
 * slow path of any thread, some CLAIM_DELAY purge ticks later, swaps the
 * mark for PURGING, purges the memory and stores PURGED; the owner, when it
 * collects the list first, simply takes it back (so sh8bench's threads,
 * which free each other's half batches while the owner waits at a barrier
 * and then allocate the same classes again, keep their pages), and when it
 * meets PURGED it carves the page again from its start. An owner that
 * comes back for a purged page was between phases, not idle: its pages are
 * no longer claimed. The marks' low bits tell them from a list (blocks are
 * 16-byte aligned); PURGING's count bits carry the fork generation, so a
 * fork child does not wait for a purge whose thread it does not have. */
#define MARK_CLAIMED ((uintptr_t)1)
#define MARK_PURGING ((uintptr_t)2)
#define MARK_PURGED  ((uintptr_t)3)
#define CLAIM_SLOTS  64
#define CLAIM_DELAY  8          /* purge ticks: each is 64 slow paths of one heap */

static inline uintptr_t remote_mark(const block_t *word) { return (uintptr_t)word & MARK_BITS; }

static r3_atomic(unsigned) fork_generation;

#if R3_MT
static struct {
    r3_lock_t lock;
    r3_atomic(unsigned) count;            /* a hint outside the lock */
    struct claim { page_t *page; block_t *word; uint64_t due; } slot[CLAIM_SLOTS];
} claims;
static r3_atomic(uint64_t) claim_clock;   /* purge ticks of all heaps */

/* Under claims.lock: gives c's page back unless its owner took the list;
 * returns the bytes. */
static size_t claim_purge(struct claim *c)
{
    block_t *word = c->word;
    uintptr_t gen = r3_load_relaxed(&fork_generation) & 0xffff;
    block_t *purging = (block_t *)(MARK_PURGING | gen << REMOTE_COUNT_SHIFT);
    if (!r3_cas(&c->page->thread_free, &word, purging))
        return 0;
    page_t *pg = c->page;
    size_t bytes = (size_t)r3_load_relaxed(&pg->capacity) * page_block_size(pg);
    bytes = (bytes + R3_OS_PAGE - 1) & ~(size_t)(R3_OS_PAGE - 1);
    r3_os_purge(page_start(pg), bytes);
    STAT_ADD(purged_bytes, bytes);
    r3_store_release(&pg->thread_free, (block_t *)MARK_PURGED);
    return bytes;
}

static void claim_remove(unsigned i)
{
    unsigned n = r3_load_relaxed(&claims.count) - 1;
    claims.slot[i] = claims.slot[n];
    r3_store_relaxed(&claims.count, n);
}

/* Drops the claims whose page its owner took back. Under claims.lock. */
static void claims_drop_taken(void)
{
    for (unsigned i = 0; i < r3_load_relaxed(&claims.count);) {
        if (r3_load_relaxed(&claims.slot[i].page->thread_free) != claims.slot[i].word)
            claim_remove(i);
        else
            i++;
    }
}

/* word: the remote list as the caller's push left it, every block of the
 * full page pg on it. A page released by its heap leaves the queue
 * (page_claims_forget), so every queued page is a page in use. */
static void page_claim(page_t *pg, block_t *word)
{
    block_t *claimed = (block_t *)((uintptr_t)word | MARK_CLAIMED);
    r3_lock(&claims.lock);
    if (r3_load_relaxed(&claims.count) == CLAIM_SLOTS)
        claims_drop_taken();
    unsigned n = r3_load_relaxed(&claims.count);
    bool queued = n < CLAIM_SLOTS && r3_cas(&pg->thread_free, &word, claimed);
    if (queued) {
        claims.slot[n] = (struct claim){pg, claimed, r3_load_relaxed(&claim_clock) + CLAIM_DELAY};
        r3_store_relaxed(&claims.count, n + 1);
    }
    r3_unlock(&claims.lock);
    if (queued)
        r3_purger_wake();                 /* if every thread goes quiet */
}

/* Gives back the claimed pages due by now; returns the bytes. */
static size_t claims_purge_due(uint64_t now, bool wait)
{
    size_t bytes = 0;
    if (!r3_load_relaxed(&claims.count))
        return 0;
    if (wait)
        r3_lock(&claims.lock);
    else if (!r3_trylock(&claims.lock))
        return 0;
    for (unsigned i = 0; i < r3_load_relaxed(&claims.count);) {
        if (claims.slot[i].due <= now) {
            bytes += claim_purge(&claims.slot[i]);
            claim_remove(i);
        } else {
            i++;
        }
    }
    r3_unlock(&claims.lock);
    return bytes;
}

/* A purge tick of a heap's slow path. */
void page_claims_tick(void)
{
    claims_purge_due(r3_fetch_add(&claim_clock, 1) + 1, false);
}

/* The background purger's round: half a delay on the clock, so that a
 * claim waits for two rounds when no heap ticks. */
void page_claims_round(void)
{
    claims_purge_due(r3_fetch_add(&claim_clock, CLAIM_DELAY / 2) + CLAIM_DELAY / 2, true);
}

/* Every claimed page at once (r3_collect). */
size_t page_claims_collect(void)
{
    return claims_purge_due(UINT64_MAX, true);
}

/* pg leaves its owner (segment_page_release): a claim on it is stale. */
void page_claims_forget(page_t *pg)
{
    if (!r3_load_relaxed(&claims.count))
        return;
    r3_lock(&claims.lock);
    for (unsigned i = 0; i < r3_load_relaxed(&claims.count); i++)
        if (claims.slot[i].page == pg) {
            claim_remove(i);
            break;
        }
    r3_unlock(&claims.lock);
}

static void page_claims_fork_child(void)
{
    if (r3_is_locked(&claims.lock))
        r3_store_relaxed(&claims.count, 0u);   /* claimed pages stay with their owners */
    r3_lock_reset(&claims.lock);
}
#else
void page_claims_tick(void) {}
void page_claims_round(void) {}
size_t page_claims_collect(void) { return 0; }
void page_claims_forget(page_t *pg) { (void)pg; }
static void page_claims_fork_child(void) {}
#endif

/* A mark met where remote frees are collected: waits for the purge to
 * finish, then starts the page over, all its blocks free and none carved. */
static R3_COLD void page_take_purged(page_t *pg, block_t *word)
{
    for (unsigned spins = 0; remote_mark(word) == MARK_PURGING; spins++) {
        unsigned gen = remote_count(word);
        if (gen != (r3_load_relaxed(&fork_generation) & 0xffff))
            break;                        /* its purger does not exist here */
        if (spins >= 64)
            r3_os_yield();
        word = r3_load_acquire(&pg->thread_free);
    }
    pg->free = pg->local_free = NULL;
    pg->used = 0;
    r3_store_relaxed(&pg->capacity, (uint16_t)0);
    r3_store_relaxed(&pg->thread_free, (block_t *)NULL);
}

/* Moves other threads' frees to the owner's free list: in one
 * compare-and-swap when that list is empty (the slow path's case), else to
 * local_free if that is empty, else after a walk to the remote list's tail.
 * A claimed list is taken back the same way. Returns false when the page had been
 * given back (it starts over, empty). */
static bool page_collect_remote(page_t *pg)
{
    block_t *word = r3_load_relaxed(&pg->thread_free);
    if (!word)
        return true;
    do {
        if (R3_UNLIKELY(remote_mark(word) > MARK_CLAIMED)) {
            page_take_purged(pg, word);
            return false;
        }
    } while (!r3_cas(&pg->thread_free, &word, (block_t *)NULL));
    block_t *list = remote_head(word);   /* a claimed list too: taken back */
    if (!list)
        return true;
    if (!pg->free) {
        pg->free = list;
    } else if (!pg->local_free) {
        /* Not appended to free: that walks blocks other threads wrote last
         * (8% of larson -t 4). local_free is swapped in when free runs dry;
         * a page with blocks on it is not full, as the fast path assumes. */
        pg->local_free = list;
    } else {
        block_t *tail = list;
        while (tail->next)
            tail = tail->next;
        tail->next = pg->free;
        pg->free = list;
    }
    pg->used = (uint16_t)(pg->used - remote_count(word));
    return true;
}

/* Everything the owner can make available without a new page: other
 * threads' frees (one exchange when free is empty, the case of the page
 * whose list ran dry), then, if free is still empty, its own (a page taken
 * back from its segment or the spares may have both on free and
 * local_free), else blocks carved. */
static void page_refill(page_t *pg)
{
    if (R3_UNLIKELY(!page_collect_remote(pg)))   /* its owner, allocating: not idle */
        r3_store_relaxed(&r3_load_relaxed(&pg->heap)->took_purged, true);
    if (!pg->free && pg->local_free) {
        pg->free = pg->local_free;
        pg->local_free = NULL;
    }
    if (!pg->free && r3_load_relaxed(&pg->capacity) < page_reserved(pg))
        page_extend(pg);
}

/* A page that served this class before and has not been purged since still
 * has its carved blocks on its free and local_free lists (segment_page_release
 * keeps them): it is taken as it is, without carving again. */
static void page_init(page_t *pg, heap_t *h, unsigned cls)
{
    size_t bs = r3_class_size[cls];
    pg->divisor = UINT64_MAX / bs + 1;
    pg->used = 0;
    if (pg->size_class != cls || r3_load_relaxed(&pg->capacity) == 0) {
        r3_store_relaxed(&pg->capacity, (uint16_t)0);
        pg->free = pg->local_free = NULL;
        pg->size_class = (uint8_t)cls;
    }
    r3_store_relaxed(&pg->thread_free, (block_t *)NULL);
    r3_store_relaxed(&pg->heap, h);
    r3_store_relaxed(&pg->state, (uint8_t)PAGE_QUEUED);
}

static inline void *page_pop(page_t *pg)
{
    block_t *b = pg->free;
    pg->free = b->next;
    pg->used++;
    b->freed_tag = 0;
    SECURE_MARK(pg, b, true);
    return b;
}

/* Moves a page without free blocks to the full list. Returns false (page
 * stays queued) when a remote free slipped in meanwhile. */
static bool page_try_mark_full(heap_t *h, page_t *pg)
{
#if R3_MT
    atomic_store(&pg->state, (uint8_t)PAGE_FULL);
    if (atomic_load(&pg->thread_free)) {
        atomic_store(&pg->state, (uint8_t)PAGE_QUEUED);
        return false;
    }
#else
    pg->state = PAGE_FULL;
#endif
    unsigned cls = pg->size_class;
    queue_remove(&h->queue[cls], pg);
    queue_push_back(&h->full[cls], pg);
    return true;
}

static void page_unfull(heap_t *h, page_t *pg)
{
    unsigned cls = pg->size_class;
    queue_remove(&h->full[cls], pg);
    r3_store_relaxed(&pg->state, (uint8_t)PAGE_QUEUED);
    queue_push_front(&h->queue[cls], pg);
}

/* Full pages of class cls that other threads freed into go back to the queue. */
static void heap_rescue_full(heap_t *h, unsigned cls)
{
    uint64_t bit = 1ull << cls;
    if (!(r3_load_relaxed(&h->remote_full) & bit))
        return;
    r3_fetch_and(&h->remote_full, ~bit);
    page_t *next;
    for (page_t *pg = h->full[cls].first; pg; pg = next) {
        next = pg->next;
        if (r3_load_relaxed(&pg->thread_free))
            page_unfull(h, pg);
    }
}

static page_t *adopt_abandoned(heap_t *h, unsigned cls)
{
    if (!class_queues_may_have(&abandoned.pages, cls))
        return NULL;                      /* a hint; the lock decides */
    r3_lock(&abandoned.lock);
    page_t *pg = abandoned.pages.list[cls].first;
    if (pg)
        class_queues_remove(&abandoned.pages, pg);
    r3_unlock(&abandoned.lock);
    if (!pg)
        return NULL;
    STAT_INC(pages_adopted);
    r3_store_relaxed(&pg->heap, h);
    r3_store_relaxed(&pg->state, (uint8_t)PAGE_QUEUED);
    queue_push_front(&h->queue[cls], pg);
    return pg;
}

/* Slow-path calls a class's only page must stay empty before another class
 * may take it: a program that alternates between classes one block at a
 * time would otherwise move the page back and forth on every call. */
#define IDLE_TICKS 8

/* The empty only page of another class, idle for IDLE_TICKS slow-path calls,
 * or NULL. Taking it keeps the memory a finished phase of the program
 * touched in use, instead of touching a new page while it sits unused (a
 * class's only page is kept when it empties, see page_free_empty). */
static page_t *take_idle_page(heap_t *h, unsigned cls)
{
    uint64_t candidates = h->idle & ~(1ull << cls);
    while (candidates) {
        unsigned c = (unsigned)__builtin_ctzll(candidates);
        candidates &= candidates - 1;
        page_t *pg = h->queue[c].first;
        if (!pg || pg != h->queue[c].last || pg->used != 0) {
            h->idle &= ~(1ull << c);        /* in use again */
            continue;
        }
        if (h->tick - h->idle_tick[c] < IDLE_TICKS)
            continue;
        h->idle &= ~(1ull << c);
        queue_remove(&h->queue[c], pg);
        heap_reset_current(h, c);
        return pg;
    }
    return NULL;
}

/* A page for class cls, in the order that reuses the most: a spare of the
 * class, then an unused page of the class from the segments (both keep
 * their carved blocks and need no set-up), then any spare, a class's idle
 * only page, or any unused page, set up for the class. */
static page_t *fresh_page(heap_t *h, unsigned cls)
{
    page_t *pg = NULL;
    for (unsigned i = h->spare_count; i-- > 0;) {
        if (h->spare[i]->size_class == cls) {
            /* As it was left: its free blocks are on its own lists. */
            pg = h->spare[i];
            h->spare[i] = h->spare[--h->spare_count];
            r3_store_relaxed(&pg->state, (uint8_t)PAGE_QUEUED);
            queue_push_front(&h->queue[cls], pg);
            return pg;
        }
    }
    if (segment_has_page_of_class(cls))
        pg = segment_page_alloc(cls);
    if (!pg && h->spare_count)
        pg = h->spare[--h->spare_count];
    if (!pg)
        pg = take_idle_page(h, cls);
    if (!pg)
        pg = segment_page_alloc(cls);
    if (!pg)
        return NULL;
    STAT_INC(pages_alloc);
    page_init(pg, h, cls);
    queue_push_front(&h->queue[cls], pg);
    return pg;
}

/* True when the heap holds enough blocks of class up for the class below
 * it to pay its own way: more than one page of them, or more than half of
 * one carved. Ending before the page is full keeps the blocks served as
 * coarse that remain afterwards to a few. */
static bool coarse_is_busy(heap_t *h, unsigned up)
{
    const page_t *pg = h->queue[up].first ? h->queue[up].first : h->full[up].first;
    if (!pg)
        return false;
    if (pg->next || (h->queue[up].first && h->full[up].first))
        return true;
    return (size_t)r3_load_relaxed(&pg->capacity) * r3_class_size[up] > PAGE_SIZE / 2;
}

/* Class cls gets pages of its own from now on. */
static void coarse_end(heap_t *h, unsigned cls)
{
    h->coarse &= ~(1ull << cls);
    heap_reset_current(h, cls);
}

/* size: the request, which the class split observes (sizeclass.c). */
void *page_alloc_slow(heap_t *h, unsigned cls, size_t size)
{
    if (h == &r3_empty_heap) {
        h = heap_get_slow();
        if (!h)   /* allocator bootstrap, or a thread past its exit: no heap */
            return arena_alloc(NULL, r3_class_size[cls], 0);
    }
    if (size > DIRECT_MAX)
        cls = size_class_observe(h, cls, size);
    if ((h->coarse >> cls) & 1) {
        if (!coarse_is_busy(h, cls + 1))
            cls++;
        else
            coarse_end(h, cls);
    }
    if (R3_UNLIKELY((++h->tick & 63) == 0))
        r3_purge_tick(h);

    for (int round = 0; round < 2; round++) {
        page_t *next;
        for (page_t *pg = h->queue[cls].first; pg; pg = next) {
            next = pg->next;
            page_refill(pg);
            if (pg->free) {
                if (pg != h->queue[cls].first) {
                    queue_remove(&h->queue[cls], pg);
                    queue_push_front(&h->queue[cls], pg);
                }
                if (h->current[cls] != pg)
                    heap_set_current(h, cls, pg);
                return page_pop(pg);
            }
            if (!page_try_mark_full(h, pg))
                next = pg;          /* a remote free arrived: look again */
        }
        heap_rescue_full(h, cls);
        if (!h->queue[cls].first && !adopt_abandoned(h, cls))
            break;
    }
    page_t *pg = fresh_page(h, cls);
    if (!pg) {
        heap_reset_current(h, cls);
        errno = ENOMEM;
        return NULL;
    }
    page_refill(pg);
    heap_set_current(h, cls, pg);
    return page_pop(pg);
}

/* ---- frees that leave the fast path ------------------------------------- */

/* Freed blocks carry a tag at offset 8: the address of their page's
 * descriptor (the free fast path has it at hand; no block is ever in page
 * 0, where descriptors are, so no live pointer into a block equals it).
 * malloc clears it; finding it at free time means a double free. It does
 * not name the owner: a page that changes owner (its thread exited) keeps
 * its free blocks' tags valid, and a second free of one of them by the new
 * owner is still caught. */
void page_free_remote(page_t *pg, block_t *b)
{
    if (R3_UNLIKELY(b->freed_tag == (uintptr_t)pg))
        r3_fatal("double free of", b);
    SECURE_MARK(pg, b, false);
    b->freed_tag = (uintptr_t)pg;
    STAT_INC(free_remote);
#if R3_MT
    heap_t *owner = r3_load_relaxed(&pg->heap);
    block_t *word = atomic_load_explicit(&pg->thread_free, memory_order_relaxed), *counted;
    do {
        if (R3_UNLIKELY(remote_mark(word)))   /* every block had come back */
            r3_fatal("double free of", b);
        b->next = remote_head(word);
        counted = (block_t *)((uintptr_t)b
                              | (uintptr_t)(remote_count(word) + 1) << REMOTE_COUNT_SHIFT);
    } while (!atomic_compare_exchange_weak(&pg->thread_free, &word, counted));
    if (atomic_load(&pg->state) == PAGE_FULL) {
        /* Heaps are never unmapped, so a stale owner only costs a look. */
        if (owner)
            r3_fetch_or(&owner->remote_full, 1ull << pg->size_class);
        unsigned n = remote_count(counted);   /* all carved, none carvable: all back */
        if (n == r3_load_relaxed(&pg->capacity) && n == page_reserved(pg) && owner
            && !r3_load_relaxed(&owner->took_purged))
            page_claim(pg, counted);
    }
#else
    (void)pg;
    r3_fatal("free of a block whose page has no owner", b);
#endif
}

/* Called by the fast path on the first local free since the last swap (the
 * page may sit on the full list) and when the page's last block came back. */
void page_free_local_slow(heap_t *h, page_t *pg)
{
    if (r3_load_relaxed(&pg->state) == PAGE_FULL)
        page_unfull(h, pg);
    if (pg->used == 0)
        page_free_empty(h, pg);
}

/* The page's last block came back: keep it as a spare for the heap's next
 * new page, or give it to its segment; unless it is the only page of its
 * class (then it would be taken again at once). A spare keeps its owner, so
 * a late second free of one of its blocks still meets the owner's tag. */
void page_free_empty(heap_t *h, page_t *pg)
{
    unsigned cls = pg->size_class;
    page_queue_t *q = r3_load_relaxed(&pg->state) == PAGE_FULL ? &h->full[cls] : &h->queue[cls];
    if (q == &h->queue[cls] && q->first == pg && q->last == pg) {
        h->idle |= 1ull << cls;
        h->idle_tick[cls] = h->tick;
        return;
    }
    queue_remove(q, pg);
    if (h->current[cls] == pg)
        heap_reset_current(h, cls);
    if (h->spare_count < HEAP_SPARE_PAGES) {
        r3_store_relaxed(&pg->state, (uint8_t)PAGE_SPARE);
        h->spare[h->spare_count++] = pg;
        return;
    }
    segment_page_release(pg);
}

void heap_release_spares(heap_t *h)
{
    while (h->spare_count)
        segment_page_release(h->spare[--h->spare_count]);
}

/* ---- thread exit ---------------------------------------------------------- */

static void abandon_list(heap_t *h, page_queue_t *q)
{
    page_t *pg;
    while ((pg = q->first)) {
        queue_remove(q, pg);
        if (pg->local_free) {
            block_t *tail = pg->local_free;
            while (tail->next) tail = tail->next;
            tail->next = pg->free;
            pg->free = pg->local_free;
            pg->local_free = NULL;
        }
        page_collect_remote(pg);
        if (pg->used == 0) {
            segment_page_release(pg);
            continue;
        }
        STAT_INC(pages_abandoned);
        r3_store_relaxed(&pg->heap, (heap_t *)NULL);
        r3_store_relaxed(&pg->state, (uint8_t)PAGE_ABANDONED);
        r3_lock(&abandoned.lock);
        class_queues_push_back(&abandoned.pages, pg);
        r3_unlock(&abandoned.lock);
    }
    (void)h;
}

void heap_abandon_pages(heap_t *h)
{
    for (unsigned c = 0; c < CLASS_COUNT; c++) {
        abandon_list(h, &h->queue[c]);
        abandon_list(h, &h->full[c]);
        heap_set_current(h, c, &r3_empty_page);
    }
    heap_release_spares(h);
    r3_store_relaxed(&h->remote_full, 0);
}

/* Abandoned pages whose blocks have all come back go to their segments. */
size_t abandoned_collect(void)
{
    size_t released = 0;
    r3_lock(&abandoned.lock);
    for (unsigned c = 0; c < CLASS_COUNT; c++) {
        page_t *next;
        for (page_t *pg = abandoned.pages.list[c].first; pg; pg = next) {
            next = pg->next;
            page_collect_remote(pg);
            if (pg->used == 0) {
                class_queues_remove(&abandoned.pages, pg);
                segment_page_release(pg);
                released += PAGE_SIZE;
            }
        }
    }
    r3_unlock(&abandoned.lock);
    return released;
}

/* The page layer in a fork child: the abandoned lists and the claims. */
void page_fork_child(void)
{
    r3_fetch_add(&fork_generation, 1u);   /* see page_take_purged */
    page_claims_fork_child();
    /* The abandoned lists, held by a thread that no longer exists: they may
     * be half-linked. Forget them; their pages stay mapped and their blocks
     * stay valid. */
    if (r3_is_locked(&abandoned.lock)) {
        class_queues_reset(&abandoned.pages);
    }
    r3_lock_reset(&abandoned.lock);
}

/* ---- checking ------------------------------------------------------------- */

static size_t count_list(const page_t *pg, const block_t *b, int *err)
{
    size_t n = 0;
    const uint8_t *lo = page_start(pg), *hi = lo + (size_t)r3_load_relaxed(&pg->capacity) * page_block_size(pg);
    for (; b; b = b->next) {
        if ((const uint8_t *)b < lo || (const uint8_t *)b >= hi
            || ((uintptr_t)((const uint8_t *)b - lo)) % page_block_size(pg)) {
            *err = -1;
            return n;
        }
        if (++n > r3_load_relaxed(&pg->capacity)) {
            *err = -2;   /* a cycle */
            return n;
        }
    }
    return n;
}

/* Checks one page owned by the caller (or abandoned and locked). */
static int page_check(const page_t *pg, bool owned)
{
    int err = 0;
    if (pg->divisor != UINT64_MAX / page_block_size(pg) + 1) return -10;
    if (r3_load_relaxed(&pg->capacity) > page_reserved(pg)) return -11;
    size_t n = count_list(pg, pg->free, &err);
    n += count_list(pg, pg->local_free, &err);
    if (err) return err;
    if (pg->used + n > r3_load_relaxed(&pg->capacity)) return -12;
    if (owned && r3_load_relaxed(&pg->heap) != r3_thread_heap) return -13;
    return 0;
}

static int queue_check(const page_queue_t *q, bool owned, uint8_t state)
{
    const page_t *prev = NULL;
    for (const page_t *pg = q->first; pg; pg = pg->next) {
        if (pg->prev != prev) return -20;
        if (r3_load_relaxed(&pg->state) != state) return -21;
        int rc = page_check(pg, owned);
        if (rc) return rc;
        prev = pg;
    }
    return q->last == prev ? 0 : -22;
}

/* The page of a block the caller just handled, if the caller owns it. */
int page_check_owned(const page_t *pg)
{
    if (r3_load_relaxed(&pg->heap) != r3_thread_heap || r3_thread_heap == &r3_empty_heap)
        return 0;
    return page_check(pg, true);
}

int heap_check_pages(heap_t *h)
{
    for (unsigned c = 0; c < CLASS_COUNT; c++) {
        int rc = queue_check(&h->queue[c], true, PAGE_QUEUED);
        if (!rc) rc = queue_check(&h->full[c], true, PAGE_FULL);
        if (rc) return rc;
        const page_t *cur = h->current[c];
        unsigned served_by = (h->coarse >> c) & 1 ? c + 1 : c;
        if (cur != &r3_empty_page
            && (cur->size_class != served_by || r3_load_relaxed(&cur->heap) != h))
            return -23;
        for (const page_t *pg = h->queue[c].first; pg; pg = pg->next)
            if (pg->size_class != c) return -24;
    }
    return 0;
}

int abandoned_check(void)
{
    int rc = 0;
    r3_lock(&abandoned.lock);
    for (unsigned c = 0; c < CLASS_COUNT && !rc; c++)
        rc = queue_check(&abandoned.pages.list[c], false, PAGE_ABANDONED);
    r3_unlock(&abandoned.lock);
    return rc;
}
