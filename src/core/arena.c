/* Medium sizes: a bounded set of TLSF arenas shared by threads.
 *
 * A thread remembers the arena it last used and try-locks it; when the lock
 * is busy it tries the others. When every arena is busy it waits on its own
 * arena's lock, unless its arena was busy in at least half of the thread's
 * last CONTENTION_WINDOW acquisitions and fewer than r3_options.max_arenas
 * (one per CPU) exist: then it creates one. Each arena keeps its own free
 * memory, which the others cannot use, and threads move between arenas, so
 * every arena added costs memory: one is added only when the lock is
 * saturated, not for collisions that cost little time.
 *
 * A free whose arena lock is busy never waits: the block is pushed onto the
 * arena's lock-free deferred list, which whoever next holds the lock drains.
 *
 * Each arena owns whole 4 MiB segments, one TLSF region each; a region that
 * becomes entirely free goes back to the segment cache (except the arena's
 * last one). Free blocks of 64 KiB and more have their inner pages purged on
 * the decay tick, by r3_collect(), and when small pages map a fresh segment
 * (arena_purge_free).
 */
#include "internal.h"
#include <errno.h>
#include <string.h>

/* An arena segment uses only the segment header; the TLSF region follows. */
#define ARENA_REGION_OFFSET sizeof(page_t)
_Static_assert(offsetof(segment_t, magic) + sizeof(uint64_t) <= ARENA_REGION_OFFSET,
               "the header fits before the region");
#define ARENA_REGION_SIZE   (SEGMENT_SIZE - ARENA_REGION_OFFSET)

/* Acquisitions per window of a thread's contention count. */
#define CONTENTION_WINDOW 256u

static arena_t arenas[MAX_ARENAS];        /* zeroed TLSF state is a valid empty arena */
static r3_atomic(unsigned) arenas_created = 1;
static r3_lock_t create_lock;
static __thread arena_t *thread_arena __attribute__((tls_model("initial-exec")));
/* This thread's acquisitions and busy arenas in the current window, and
 * whether its last full window was saturated (busy in half or more). */
static __thread struct {
    uint16_t ops, busy;
    bool saturated;
} contention __attribute__((tls_model("initial-exec")));

static void contention_count(bool busy)
{
    contention.busy += busy;
    if (R3_UNLIKELY(++contention.ops == CONTENTION_WINDOW)) {
        contention.saturated = contention.busy >= CONTENTION_WINDOW / 2;
        contention.ops = contention.busy = 0;
    }
}

unsigned arena_count(void) { return r3_load_acquire(&arenas_created); }

static inline void *region_start(segment_t *s) { return (uint8_t *)s + ARENA_REGION_OFFSET; }

/* ---- picking and locking ---------------------------------------------- */

static arena_t *arena_create_locked(void)
{
    arena_t *a = NULL;
    r3_lock(&create_lock);
    unsigned n = r3_load_relaxed(&arenas_created);
    unsigned live = 0;
    for (unsigned i = 0; i < n; i++)
        live += !arenas[i].dead;
    if (live < r3_options.max_arenas && n < MAX_ARENAS) {
        a = &arenas[n];
        a->index = n;
        r3_lock(&a->lock);
        r3_store_release(&arenas_created, n + 1);
    }
    r3_unlock(&create_lock);
    return a;
}

/* Returns a locked arena. */
static arena_t *arena_acquire(void)
{
    arena_t *a = thread_arena;
    if (!a)
        a = &arenas[0];
    if (R3_LIKELY(!a->dead && r3_trylock(&a->lock))) {
        contention_count(false);
        return a;
    }
    contention_count(true);
    unsigned n = arena_count();
    for (unsigned i = 1; i < n; i++) {
        arena_t *b = &arenas[(a->index + i) % n];
        if (!b->dead && r3_trylock(&b->lock))
            return thread_arena = b;
    }
    /* After a fork, arenas whose lock another thread held are dead; when
     * all are, there is none to wait for and one is created at once. */
    arena_t *wait_for = NULL;
    for (unsigned i = 0; i < n && !wait_for; i++)
        if (!arenas[(a->index + i) % n].dead)
            wait_for = &arenas[(a->index + i) % n];
    if (!wait_for || contention.saturated) {
        arena_t *fresh = arena_create_locked();
        if (fresh) {
            contention.saturated = false;
            return thread_arena = fresh;
        }
        if (!wait_for)
            r3_fatal("no usable arena left after fork at", NULL);
    }
    r3_lock(&wait_for->lock);
    return thread_arena = wait_for;
}

/* ---- freeing, under the lock ------------------------------------------- */

static void arena_free_locked(arena_t *a, void *p)
{
    segment_t *s = segment_of(p);
    uint8_t *lo = region_start(s), *hi = (uint8_t *)s + SEGMENT_SIZE;
    if (R3_UNLIKELY(!tlsf_block_is_valid(p, lo, hi)))
        r3_fatal("free of a pointer that is not a block:", p);
    if (R3_UNLIKELY(!tlsf_block_is_used(p)))
        r3_fatal("double free of", p);
    struct tlsf_region *r = tlsf_free(&a->tlsf, p);
    if (r && a->segments > 1 && tlsf_region_is_empty(&a->tlsf, r)) {
        tlsf_remove_region(&a->tlsf, r);
        a->segments--;
        segment_release_arena(s);
    }
}

static void arena_drain_deferred(arena_t *a)
{
    if (!r3_load_relaxed(&a->deferred))
        return;
    block_t *b = r3_exchange(&a->deferred, (block_t *)NULL);
    while (b) {
        block_t *next = b->next;
        b->freed_tag = 0;
        arena_free_locked(a, b);
        b = next;
    }
}

/* ---- entry points -------------------------------------------------------- */

/* Medium operations pace the decay clock too (every 64th of a thread). */
static void arena_tick(void)
{
    static __thread uint32_t ticks __attribute__((tls_model("initial-exec")));
    if (R3_UNLIKELY((++ticks & 63) == 0))
        r3_purge_tick(NULL);
}

void *arena_alloc(heap_t *h, size_t size, size_t align)
{
    (void)h;
    arena_tick();
    arena_t *a = arena_acquire();
    arena_drain_deferred(a);
    void *p = tlsf_memalign(&a->tlsf, align, size);
    if (!p) {
        segment_t *s = segment_map_arena(a);
        if (s) {
            tlsf_add_region(&a->tlsf, region_start(s), ARENA_REGION_SIZE);
            a->segments++;
            p = tlsf_memalign(&a->tlsf, align, size);
        }
    }
    STAT_INC(malloc_medium);
    r3_unlock(&a->lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

void arena_free(void *p)
{
    segment_t *s = segment_of(p);
    arena_t *a = s->arena;
    block_t *b = p;
    if (R3_UNLIKELY((uintptr_t)p & 15) || R3_UNLIKELY((uint8_t *)p < (uint8_t *)region_start(s)) || !a)
        r3_fatal("free of a pointer that is not a block:", p);
    /* A block waiting in the deferred list carries the tag. */
    if (R3_UNLIKELY(b->freed_tag == r3_secret))
        r3_fatal("double free of", p);
    if (R3_UNLIKELY(a->dead))
        return;     /* an arena left inconsistent by fork: its blocks are kept */
    arena_tick();
    if (r3_trylock(&a->lock)) {
        STAT_INC(free_medium);
        arena_free_locked(a, p);
        arena_drain_deferred(a);
        r3_unlock(&a->lock);
        return;
    }
    STAT_INC(free_deferred);
    b->freed_tag = r3_secret;
    block_t *head = r3_load_relaxed(&a->deferred);
    do {
        b->next = head;
    } while (!r3_cas_weak(&a->deferred, &head, b));
}

static arena_t *arena_lock_of(const void *p)
{
    arena_t *a = segment_of(p)->arena;
    r3_lock(&a->lock);
    return a;
}

bool arena_resize_in_place(void *p, size_t size)
{
    arena_t *a = arena_lock_of(p);
    segment_t *s = segment_of(p);
    if (!tlsf_block_is_valid(p, region_start(s), (uint8_t *)s + SEGMENT_SIZE) || !tlsf_block_is_used(p))
        r3_fatal("realloc of a pointer that is not a live block:", p);
    bool ok = tlsf_resize_in_place(&a->tlsf, p, size);
    if (ok) STAT_INC(realloc_in_place);
    r3_unlock(&a->lock);
    return ok;
}

size_t arena_usable_size(const void *p)
{
    arena_t *a = arena_lock_of(p);
    segment_t *s = segment_of(p);
    size_t n = tlsf_block_is_valid(p, region_start(s), (uint8_t *)s + SEGMENT_SIZE)
               ? tlsf_usable_size(p) : 0;
    r3_unlock(&a->lock);
    return n;
}

/* ---- giving memory back ------------------------------------------------------ */

/* Free blocks carry no time stamp of their own, so decay works in passes,
 * one per decay delay: a pass stamps every large free block (in its third
 * word, which the free-list links leave alone) and purges those that already
 * carried the previous pass's stamp, that is, blocks free for at least one
 * whole delay. A block used in between has user data there instead. */
struct purge_walk {
    bool all;             /* every large free block, not only the decayed */
    bool wait;            /* wait for busy arenas instead of passing them */
    uint64_t stamp, previous;
    size_t bytes;
};

#define PURGE_MIN ((size_t)64 * 1024)

static void purge_free_block(void *start, size_t size, void *arg)
{
    struct purge_walk *w = arg;
    if (size < PURGE_MIN)
        return;
    uint64_t *stamp = (uint64_t *)start + 2;
    bool due = w->all || *stamp == w->previous;
    *stamp = w->stamp;
    if (!due)
        return;
    /* Keep the page that holds the links and the stamp. */
    uintptr_t lo = ((uintptr_t)(stamp + 1) + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1);
    uintptr_t hi = ((uintptr_t)start + size) & ~(R3_OS_PAGE - 1);
    if (hi > lo) {
        r3_os_purge((void *)lo, hi - lo);
        w->bytes += hi - lo;
    }
}

static size_t arena_purge_all(struct purge_walk *w)
{
    unsigned n = arena_count();
    for (unsigned i = 0; i < n; i++) {
        arena_t *a = &arenas[i];
        if (a->dead)
            continue;
        if (w->wait) r3_lock(&a->lock);
        else if (!r3_trylock(&a->lock)) continue;
        arena_drain_deferred(a);
        tlsf_walk_free(&a->tlsf, purge_free_block, w);
        r3_unlock(&a->lock);
    }
    STAT_ADD(purged_bytes, w->bytes);
    return w->bytes;
}

static r3_atomic(uint64_t) purge_pass;
static r3_atomic(uint64_t) next_pass_ms;

static size_t arena_purge(bool all, bool wait)
{
    uint64_t pass = r3_fetch_add(&purge_pass, 1) + 1;
    struct purge_walk w = { all, wait, r3_secret ^ pass, r3_secret ^ (pass - 1), 0 };
    return arena_purge_all(&w);
}

size_t arena_collect(bool all) { return arena_purge(all, all); }

/* Before small pages take fresh memory: the large free blocks of the arenas
 * that are not busy give back their pages now, not after the decay delay,
 * so that the footprint moves from one layer to the other instead of
 * growing. Once per fresh 4 MiB segment at most. */
void arena_purge_free(void) { arena_purge(true, false); }

/* From the decay tick: one pass per decay delay. */
void arena_collect_decayed(void)
{
    uint64_t now = r3_os_now_ms(), next = r3_load_relaxed(&next_pass_ms);
    if (now < next || !r3_cas(&next_pass_ms, &next, now + r3_options.decay_ms))
        return;
    arena_collect(false);
}

void arena_fork_child(void)
{
    unsigned n = arena_count();
    for (unsigned i = 0; i < n; i++) {
        /* Held by a thread that is gone: its TLSF may be mid-update. */
        if (r3_is_locked(&arenas[i].lock))
            arenas[i].dead = true;
        r3_lock_reset(&arenas[i].lock);
    }
    r3_lock_reset(&create_lock);
}

int arena_check(void)
{
    unsigned n = arena_count();
    for (unsigned i = 0; i < n; i++) {
        arena_t *a = &arenas[i];
        if (a->dead)
            continue;
        r3_lock(&a->lock);
        int rc = tlsf_check(&a->tlsf);
        unsigned regions = 0;
        for (struct tlsf_region *r = a->tlsf.regions; r && !rc; r = r->next) {
            segment_t *s = segment_of(r);
            if (s->arena != a || segment_kind_of(s) != KIND_ARENA) rc = -40;
            regions++;
        }
        if (!rc && regions != a->segments) rc = -41;
        r3_unlock(&a->lock);
        if (rc)
            return rc;
    }
    return 0;
}
