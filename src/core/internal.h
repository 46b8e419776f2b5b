/* Types and constants shared by the core allocator's files.
 *
 * Layers, bottom up (one file each):
 *   os.c       system calls
 *   segment.c  4 MiB aligned segments, the segment map, small-page supply,
 *              decay and purging
 *   page.c     small size classes: per-thread pages with sharded free lists
 *   arena.c    medium sizes: a bounded set of TLSF arenas with try-locks
 *   huge.c     huge sizes: one mapping each, mremap on realloc
 *   heap.c     per-thread heaps, thread exit, fork
 *   alloc.c    the r3_* entry points (fast paths)
 *   override.c the C library's names
 */
#ifndef R3_INTERNAL_H
#define R3_INTERNAL_H
#include "config.h"
#include "atomic.h"
#include "lock.h"
#include "os.h"
#include "tlsf.h"
#include "r3malloc.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Everything declared below is internal to the library: hidden visibility
 * lets the compiler address globals directly instead of through the GOT. */
#pragma GCC visibility push(hidden)

/* ---- sizes ------------------------------------------------------------ */
#define SEGMENT_SHIFT   22
#define SEGMENT_SIZE    ((size_t)1 << SEGMENT_SHIFT)          /* 4 MiB */
#define SEGMENT_MASK    (SEGMENT_SIZE - 1)
#define PAGE_SHIFT      16
#define PAGE_SIZE       ((size_t)1 << PAGE_SHIFT)             /* 64 KiB small page */
#define PAGES_PER_SEGMENT (SEGMENT_SIZE / PAGE_SIZE)           /* 64; page 0 holds metadata */
#define ADDRESS_BITS    47
#define SEGMAP_ENTRIES  ((size_t)1 << (ADDRESS_BITS - SEGMENT_SHIFT))

#define SMALL_MAX       R3_SMALL_MAX                          /* 16 KiB */
#define MEDIUM_MAX      R3_MEDIUM_MAX                         /* 1 MiB */
#define CLASS_STATIC    36                                    /* the fixed table */
#define CLASS_SPLIT_MAX 8                                     /* classes split off on demand */
#define CLASS_COUNT     (CLASS_STATIC + CLASS_SPLIT_MAX)
#define MAX_ARENAS      256

/* What the segment map says of each 4 MiB of address space. */
enum segment_kind {
    KIND_NONE = 0,   /* not ours */
    KIND_SMALL,      /* small pages; header at the segment start */
    KIND_ARENA,      /* a TLSF region of a medium arena */
    KIND_HUGE,       /* one huge block; header at the start of this 4 MiB */
    KIND_HUGE_HIGH,  /* one huge block aligned to >= 4 MiB; header one OS page below it */
};

extern r3_atomic(uint8_t) r3_segmap[SEGMAP_ENTRIES];
/* Bytes of unused memory kept for reuse (unused pages, empty segments,
 * cached huge mappings): bounded by r3_options.retain_bytes. */
extern r3_atomic(size_t) r3_waiting_bytes;

/* The free fast path's test. A plain read: the entry of a block's segment
 * was written before the block was handed out, and the user's own
 * synchronisation orders that before this free. */
R3_INLINE bool segment_is_small(const void *p)
{
    uintptr_t slot = ((uintptr_t)p >> SEGMENT_SHIFT) & (SEGMAP_ENTRIES - 1);
#if defined(__SANITIZE_THREAD__) || !R3_MT
    return r3_load_relaxed(&r3_segmap[slot]) == KIND_SMALL;
#else
    return *(const uint8_t *)&r3_segmap[slot] == KIND_SMALL;
#endif
}

R3_INLINE enum segment_kind segment_kind_of(const void *p)
{
    /* Masked rather than bounds-checked: user-space pointers have at most 47
     * significant bits, so the mask changes nothing for them. */
    uintptr_t slot = ((uintptr_t)p >> SEGMENT_SHIFT) & (SEGMAP_ENTRIES - 1);
    return (enum segment_kind)r3_load_relaxed(&r3_segmap[slot]);
}

/* ---- small pages ------------------------------------------------------ */
typedef struct block { struct block *next; uintptr_t freed_tag; } block_t;

enum page_state {
    PAGE_UNUSED = 0,    /* free in its segment */
    PAGE_QUEUED,        /* in its heap's queue for its class */
    PAGE_FULL,          /* in its heap's full list: no free block seen */
    PAGE_ABANDONED,     /* its thread exited; waits for another heap */
    PAGE_SPARE,         /* empty, kept by its heap for the next page it needs */
};

struct heap;
typedef struct page {
    /* Two cache lines, so that finding a page's descriptor is still a shift.
     * The first holds what the owner's fast paths write; the second what
     * other threads read and write: a thread freeing into the page reads its
     * owner and block size and pushes on thread_free, without taking the
     * line the owner allocates from (xmalloc's producer would otherwise lose
     * it to the consumer at every block). */
    block_t *free;                      /* allocate from here */
    block_t *local_free;                /* the owner's frees */
    uint16_t used;                      /* handed out, not yet freed locally or collected */

    _Alignas(64)                        /* the shared line starts here */
    r3_atomic(block_t *) thread_free;   /* other threads' frees: lock-free push of a
                                           counted list (page.c); while the page is
                                           unused (no block can be freed into it) the
                                           time it became unused, in ms */
    r3_atomic(struct heap *) heap;      /* owner, NULL when abandoned */
    uint64_t divisor;                   /* UINT64_MAX / block size + 1, 0 while unused:
                                           offset % size == 0 iff offset * divisor < divisor */
    r3_atomic(uint16_t) capacity;       /* blocks carved so far (carving is lazy);
                                           other threads read it to validate frees */
    uint8_t  size_class;
    r3_atomic(uint8_t) state;           /* enum page_state */
    bool     dirty;                     /* while unused: memory not yet given back */
    struct page *next, *prev;           /* heap queue, or the purge queue while unused */
} page_t;
#define PAGE_DESC_SHIFT 7               /* 128-byte descriptors */

/* Page 0 of a segment holds the metadata, so its descriptor is never used:
 * the segment header lives in that descriptor's place and page i's
 * descriptor sits at segment + 128 * i. The header puts `magic` where a
 * descriptor has its owner, so a stray pointer into page 0 never passes the
 * free fast path's owner test. */
typedef struct segment {
    union {
        struct {
            struct segment *next, *prev;    /* in the segment lists of segment.c */
            uint64_t free_pages;            /* bit i: page i unused (small segments) */
            uint64_t empty_since_ms;
            struct arena *arena;            /* arena segments */
            unsigned generation;            /* an older generation is left alone (fork) */
            uint8_t kind;
        };
        struct {
            uint8_t before_magic[offsetof(page_t, heap)];
            uint64_t magic;                 /* where a descriptor has its owner */
        };
        page_t pages[PAGES_PER_SEGMENT];
    };
} segment_t;
_Static_assert(offsetof(segment_t, kind) < offsetof(segment_t, magic), "the header's fields before magic");
_Static_assert(offsetof(segment_t, magic) + 8 <= sizeof(page_t), "the header fits in page 0's descriptor");

_Static_assert(sizeof(page_t) == (1u << PAGE_DESC_SHIFT), "descriptors are found by a shift");
_Static_assert(offsetof(page_t, thread_free) == 64, "the owner's line and the shared line");

R3_INLINE size_t page_block_size(const page_t *pg);
/* Blocks that fit in the page. */
R3_INLINE unsigned page_reserved(const page_t *pg) { return (unsigned)(PAGE_SIZE / page_block_size(pg)); }

R3_INLINE segment_t *segment_of(const void *p)
{
    return (segment_t *)((uintptr_t)p & ~(uintptr_t)SEGMENT_MASK);
}
R3_INLINE page_t *page_of(const segment_t *s, const void *p)
{
    /* Written as one shift and one mask: descriptors are 128 bytes. */
    uintptr_t offset = ((uintptr_t)p >> (PAGE_SHIFT - PAGE_DESC_SHIFT))
                       & ((PAGES_PER_SEGMENT - 1) << PAGE_DESC_SHIFT);
    return (page_t *)((uintptr_t)s->pages + offset);
}
R3_INLINE uint8_t *page_start(const page_t *pg)
{
    segment_t *s = segment_of(pg);
    return (uint8_t *)s + (size_t)(pg - s->pages) * PAGE_SIZE;
}


/* Size classes: 16-byte steps to 128, then four classes per power of two;
 * above DIRECT_MAX a request size that dominates its class's traffic and
 * wastes at least an eighth of its block gets a class of its own
 * (sizeclass.c). Entries of r3_class_size from CLASS_STATIC on are written
 * once, before the granule table names them (release/acquire). */
extern uint32_t r3_class_size[CLASS_COUNT];
extern r3_atomic(uint8_t) r3_class_of_granule[SMALL_MAX / 16 + 1];
R3_INLINE unsigned size_class_of(size_t size)
{
    return r3_load_acquire(&r3_class_of_granule[(size + 15) >> 4]);
}
/* The class to serve a request of size (> DIRECT_MAX) of static class cls
 * from, after counting it in h's sample; may split a class off. Slow path. */
unsigned size_class_observe(struct heap *h, unsigned cls, size_t size);
unsigned size_class_split_count(void);
/* The classes above 128 bytes that a new heap serves from the next class
 * up (every other one: 160 B from 192 B blocks, 224 from 256, ...). */
uint64_t size_class_coarse_mask(void);
void     size_class_fork_child(void);
R3_INLINE size_t page_block_size(const page_t *pg) { return r3_class_size[pg->size_class]; }

#if R3_SECURE
/* The secure build keeps one bit per block, in the segment's header page
 * after the descriptors: 512 bytes per page. Setting and clearing are atomic,
 * so every double free (and a block handed out twice) is caught exactly. */
#define SECURE_BITMAP_WORDS  (PAGE_SIZE / 16 / 64)
#define SECURE_BITMAP_OFFSET sizeof(segment_t)
_Static_assert(SECURE_BITMAP_OFFSET + PAGES_PER_SEGMENT * SECURE_BITMAP_WORDS * 8 <= PAGE_SIZE,
               "secure bitmaps fit in the header page");

R3_INLINE r3_atomic(uint64_t) *page_bitmap(const page_t *pg)
{
    segment_t *s = segment_of(pg);
    r3_atomic(uint64_t) *all = (r3_atomic(uint64_t) *)((uint8_t *)s + SECURE_BITMAP_OFFSET);
    return all + (size_t)(pg - s->pages) * SECURE_BITMAP_WORDS;
}
R3_COLD void secure_mark_failed(void *b, bool to);
/* Sets (to = true) or clears b's bit; finding it already so is fatal. */
R3_INLINE void secure_mark(page_t *pg, void *b, bool to)
{
    size_t i = ((uintptr_t)b & (PAGE_SIZE - 1)) / page_block_size(pg);
    uint64_t bit = 1ull << (i & 63);
    r3_atomic(uint64_t) *word = page_bitmap(pg) + (i >> 6);
    uint64_t old = to ? r3_fetch_or(word, bit) : r3_fetch_and(word, ~bit);
    if (R3_UNLIKELY(!!(old & bit) == to))
        secure_mark_failed(b, to);
}
#define SECURE_MARK(pg, b, to) secure_mark((pg), (b), (to))
#else
#define SECURE_MARK(pg, b, to) ((void)0)
#endif

/* Sizes up to DIRECT_MAX find their page in one load: heap->direct[granules]. */
#define DIRECT_MAX      ((size_t)1024)
#define DIRECT_COUNT    (DIRECT_MAX / 16 + 1)

/* ---- page queues ------------------------------------------------------ */
/* A doubly linked list of pages through their next and prev fields. */
typedef struct page_queue { page_t *first, *last; } page_queue_t;

R3_INLINE void queue_push_front(page_queue_t *q, page_t *pg)
{
    pg->prev = NULL;
    pg->next = q->first;
    if (q->first) q->first->prev = pg; else q->last = pg;
    q->first = pg;
}

R3_INLINE void queue_push_back(page_queue_t *q, page_t *pg)
{
    pg->next = NULL;
    pg->prev = q->last;
    if (q->last) q->last->next = pg; else q->first = pg;
    q->last = pg;
}

R3_INLINE void queue_remove(page_queue_t *q, page_t *pg)
{
    if (pg->prev) pg->prev->next = pg->next; else q->first = pg->next;
    if (pg->next) pg->next->prev = pg->prev; else q->last = pg->prev;
    pg->next = pg->prev = NULL;
}

/* One queue per size class (a page goes to the queue of pg->size_class),
 * with a bit per non-empty queue that may be read without the lock that
 * guards the queues (a hint: the lock decides). The abandoned pages
 * (page.c) and the unused dirty pages (segment.c) wait in such queues. */
typedef struct class_queues {
    page_queue_t list[CLASS_COUNT];
    r3_atomic(uint64_t) nonempty;       /* bit c: list[c] has a page */
} class_queues_t;

R3_INLINE void class_queues_push_back(class_queues_t *cq, page_t *pg)
{
    unsigned c = pg->size_class;
    queue_push_back(&cq->list[c], pg);
    r3_fetch_or(&cq->nonempty, 1ull << c);
}

R3_INLINE void class_queues_remove(class_queues_t *cq, page_t *pg)
{
    unsigned c = pg->size_class;
    queue_remove(&cq->list[c], pg);
    if (!cq->list[c].first)
        r3_fetch_and(&cq->nonempty, ~(1ull << c));
}

R3_INLINE bool class_queues_may_have(class_queues_t *cq, unsigned cls)
{
    return r3_load_relaxed(&cq->nonempty) & (1ull << cls);
}

/* For a fork child, where no other thread exists. */
R3_INLINE void class_queues_reset(class_queues_t *cq)
{
    memset(cq->list, 0, sizeof cq->list);
    r3_store_relaxed(&cq->nonempty, (uint64_t)0);
}

/* ---- heaps ------------------------------------------------------------ */

/* Empty pages a heap keeps instead of giving them to their segment: a
 * program whose working set breathes around a page boundary would otherwise
 * take the segment lock twice per breath. 8 pages: 512 KiB per thread. */
#define HEAP_SPARE_PAGES 8

typedef struct heap {
    page_t *direct[DIRECT_COUNT];        /* fast path: current page by 16-byte granules */
    page_t *current[CLASS_COUNT];        /* allocate from current[c]->free */
    page_queue_t queue[CLASS_COUNT];     /* pages with (possibly) free blocks; current is first */
    page_queue_t full[CLASS_COUNT];      /* pages found without a free block */
    r3_atomic(uint64_t) remote_full;     /* bit c: a remote free hit a full page of class c */
    r3_atomic(bool) took_purged;         /* it allocated again from a page that other
                                            threads gave back while it was idle (page.c) */
    struct arena *arena;                 /* the arena this thread tries first */
    struct heap *next_free;              /* in the pool of unused heaps */
    bool live;
    uint32_t tick;                       /* counts slow-path calls, to pace purging */
    unsigned spare_count;
    page_t *spare[HEAP_SPARE_PAGES];     /* empty pages kept for reuse, any class */
    uint64_t coarse;                     /* bit c: class c is served from class c + 1's
                                            pages while this heap holds few such blocks */
    uint64_t idle;                       /* bit c: class c's only page became empty
                                            (a hint: the page may be in use again) */
    uint32_t idle_tick[CLASS_COUNT];     /* the tick at which it did */
    /* The request sizes (16-byte granules) that reached the slow path of
     * each static class above DIRECT_MAX, as a streak of equal ones. */
    struct { uint16_t granule, streak; } sample[CLASS_STATIC];
} heap_t;

extern heap_t r3_empty_heap;             /* every page in it is the empty page */
extern __thread heap_t *r3_thread_heap __attribute__((tls_model("initial-exec")));

/* ---- options (options.c) --------------------------------------------- */
typedef struct options {
    bool verbose;
    bool show_stats;
    unsigned max_arenas;
    uint64_t decay_ms;
    size_t retain_bytes;
    bool background;
} options_t;
extern options_t r3_options;
void r3_options_read(void);

/* ---- global state ------------------------------------------------------ */
void r3_init_slow(void);
extern r3_atomic(int) r3_init_state;   /* 0 no, 1 in progress, 2 done */
R3_INLINE void r3_ensure_init(void)
{
    if (R3_UNLIKELY(r3_load_relaxed(&r3_init_state) != 2))
        r3_init_slow();
}
extern uintptr_t r3_secret;            /* random: tags medium blocks waiting in a deferred list */

/* ---- segment.c --------------------------------------------------------- */
page_t   *segment_page_alloc(unsigned cls);
/* A hint, read without the lock: an unused page of class cls waits. */
bool      segment_has_page_of_class(unsigned cls);
void      segment_page_release(page_t *pg);
segment_t *segment_map_arena(struct arena *a);
void      segment_release_arena(segment_t *s);
void      segment_set_kind(void *start, size_t size, enum segment_kind kind);
void      r3_purge_tick(heap_t *h);
size_t    segment_collect(bool all);
int       segment_check(void);
void      segment_fork_child(void);
/* purger.c: starts the background purger if memory waits and none runs.
 * Never call it with an allocator lock held. */
void      r3_purger_wake(void);
void      r3_purger_fork_child(void);
void      segment_stats(size_t *mapped, size_t *segments);

/* ---- page.c ------------------------------------------------------------ */
void     *page_alloc_slow(heap_t *h, unsigned cls, size_t size);
void      page_free_remote(page_t *pg, block_t *b);
void      page_free_empty(heap_t *h, page_t *pg);
void      heap_set_current(heap_t *h, unsigned cls, page_t *pg);
void      page_free_local_slow(heap_t *h, page_t *pg);
void      heap_abandon_pages(heap_t *h);
void      heap_release_spares(heap_t *h);
int       heap_check_pages(heap_t *h);
int       page_check_owned(const page_t *pg);
int       abandoned_check(void);
size_t    abandoned_collect(void);
void      page_fork_child(void);
void      page_claims_tick(void);          /* a purge tick (segment.c) */
void      page_claims_round(void);         /* the background purger's round */
size_t    page_claims_collect(void);       /* every claimed page, now */
void      page_claims_forget(page_t *pg);  /* pg leaves its heap */

/* ---- arena.c ----------------------------------------------------------- */
typedef struct arena {
    r3_lock_t lock;
    tlsf tlsf;
    r3_atomic(block_t *) deferred;       /* frees made while the lock was busy */
    unsigned index;
    unsigned segments;
    bool dead;                           /* inconsistent after fork: never used again */
} arena_t;
void     *arena_alloc(heap_t *h, size_t size, size_t align);
void      arena_free(void *p);
bool      arena_resize_in_place(void *p, size_t size);
size_t    arena_usable_size(const void *p);
size_t    arena_collect(bool all);
void      arena_purge_free(void);
void      arena_collect_decayed(void);
int       arena_check(void);
void      arena_fork_child(void);
unsigned  arena_count(void);

/* ---- huge.c ------------------------------------------------------------ */
void     *huge_alloc(size_t size, size_t align, bool zero);
void      huge_free(void *p, enum segment_kind kind);
void     *huge_realloc(void *p, enum segment_kind kind, size_t size);
size_t    huge_usable_size(const void *p, enum segment_kind kind);
void      huge_stats(size_t *bytes, size_t *blocks);
size_t    huge_collect(bool all);
void     *huge_cache_lend(size_t size, size_t *reused);
void      huge_fork_child(void);

/* ---- heap.c ------------------------------------------------------------ */
heap_t   *heap_get_slow(void);           /* the caller's heap, created on first use */
R3_INLINE heap_t *heap_get(void)
{
    heap_t *h = r3_thread_heap;
    return R3_LIKELY(h != &r3_empty_heap) ? h : heap_get_slow();
}
int       heap_check(void);
size_t    heap_count(void);

/* ---- stats ------------------------------------------------------------- */
#if R3_STATS
typedef struct stats {
    r3_atomic(uint64_t) malloc_small, malloc_medium, malloc_huge;
    r3_atomic(uint64_t) free_small, free_remote, free_medium, free_deferred, free_huge;
    r3_atomic(uint64_t) realloc_in_place, realloc_moved;
    r3_atomic(uint64_t) pages_alloc, pages_abandoned, pages_adopted, purged_bytes;
} stats_t;
extern stats_t r3_stats;
#define STAT_INC(field) ((void)r3_fetch_add(&r3_stats.field, 1))
#define STAT_ADD(field, n) ((void)r3_fetch_add(&r3_stats.field, (n)))
#else
#define STAT_INC(field) ((void)0)
#define STAT_ADD(field, n) ((void)0)
#endif

#if R3_DEBUG
void r3_debug_check(const void *p);
#define DEBUG_CHECK(p) r3_debug_check(p)
#else
#define DEBUG_CHECK(p) ((void)0)
#endif

#pragma GCC visibility pop
#endif
