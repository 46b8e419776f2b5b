/* TLSF: two-level segregated fit. See tlsf.h for the scheme.
 *
 * Invariants (checked by tlsf_check):
 *  I1 every block's payload is 16-aligned and its size a multiple of 16;
 *  I2 blocks tile each region exactly, ending with a zero-sized used sentinel;
 *  I3 every block's prev_phys points to the block physically before it;
 *  I4 the PREV_FREE flag of a block equals the FREE flag of its predecessor;
 *  I5 no two free blocks are adjacent (coalescing is immediate);
 *  I6 a free block sits in exactly the list mapping(size) names, and only
 *     free blocks sit in lists;
 *  I7 a bit is set in the bitmaps exactly when its list is non-empty;
 *  I8 bytes_free is the sum of the payloads of the free blocks.
 */
#include "tlsf.h"
#include "config.h"
#include <string.h>

struct tlsf_block {
    tlsf_block *prev_phys;
    size_t size;               /* payload bytes | flags in the low bits */
    tlsf_block *next_free;     /* these two only while the block is free */
    tlsf_block *prev_free;
};

#define BLOCK_FREE      ((size_t)1)
#define BLOCK_PREV_FREE ((size_t)2)
#define BLOCK_FLAGS     (BLOCK_FREE | BLOCK_PREV_FREE)
#define REGION_MAGIC    0x7233746c73667267ull   /* "r3tlsfrg" */
#define MIN_SPLIT       (TLSF_HEADER + TLSF_MIN_PAYLOAD)
#define MAX_REQUEST     ((size_t)1 << (TLSF_FL_MAX - 1))

#if R3_WORK_COUNTERS
#define COUNT_NODES(t, n)   ((t)->work.list_nodes += (n))
#define COUNT_WORDS(t, n)   ((t)->work.bitmap_words += (n))
#define WORK_RESET(t)       ((t)->work = (tlsf_work){0, 0})
#else
#define COUNT_NODES(t, n)   ((void)0)
#define COUNT_WORDS(t, n)   ((void)0)
#define WORK_RESET(t)       ((void)0)
#endif

static inline size_t block_size(const tlsf_block *b) { return b->size & ~BLOCK_FLAGS; }
static inline bool block_is_free(const tlsf_block *b) { return b->size & BLOCK_FREE; }
static inline bool block_prev_is_free(const tlsf_block *b) { return b->size & BLOCK_PREV_FREE; }
static inline void *block_payload(const tlsf_block *b) { return (char *)b + TLSF_HEADER; }
static inline tlsf_block *block_of(const void *p) { return (tlsf_block *)((char *)p - TLSF_HEADER); }
static inline tlsf_block *block_next(const tlsf_block *b)
{
    return (tlsf_block *)((char *)block_payload(b) + block_size(b));
}
static inline void block_set_size(tlsf_block *b, size_t size) { b->size = size | (b->size & BLOCK_FLAGS); }

/* Marks b free or used, and tells its successor. */
static inline void block_mark_free(tlsf_block *b)
{
    tlsf_block *next = block_next(b);
    b->size |= BLOCK_FREE;
    next->prev_phys = b;
    next->size |= BLOCK_PREV_FREE;
}
static inline void block_mark_used(tlsf_block *b)
{
    tlsf_block *next = block_next(b);
    b->size &= ~BLOCK_FREE;
    next->prev_phys = b;
    next->size &= ~BLOCK_PREV_FREE;
}

static inline unsigned fls_size(size_t x) { return 63u - (unsigned)__builtin_clzl(x); }

/* The list a free block of this size belongs to. */
static inline void mapping_insert(size_t size, unsigned *fl, unsigned *sl)
{
    if (size < ((size_t)1 << TLSF_FL_SHIFT)) {
        *fl = 0;
        *sl = (unsigned)(size >> TLSF_ALIGN_LOG2);
    } else {
        unsigned f = fls_size(size);
        *sl = (unsigned)(size >> (f - TLSF_SL_LOG2)) ^ TLSF_SL_COUNT;
        *fl = f - TLSF_FL_SHIFT + 1;
    }
}

/* The first list whose every block can hold size ("good fit"): the size is
 * rounded up to the next list boundary so no list is ever searched. */
static inline void mapping_search(size_t size, unsigned *fl, unsigned *sl)
{
    if (size >= ((size_t)1 << TLSF_FL_SHIFT))
        size += ((size_t)1 << (fls_size(size) - TLSF_SL_LOG2)) - 1;
    mapping_insert(size, fl, sl);
}

static inline size_t adjust_request(size_t size)
{
    size = (size + TLSF_ALIGN - 1) & ~(TLSF_ALIGN - 1);
    return size < TLSF_MIN_PAYLOAD ? TLSF_MIN_PAYLOAD : size;
}

/* At most three bitmap words are read: the second-level word of fl, the
 * first-level word, the second-level word of the level found. */
static tlsf_block *find_suitable(tlsf *t, unsigned *fl, unsigned *sl)
{
    if (*fl >= TLSF_FL_COUNT)
        return NULL;
    uint32_t sl_map = t->sl_bitmap[*fl] & (~0u << *sl);
    COUNT_WORDS(t, 1);
    if (!sl_map) {
        uint64_t fl_map = t->fl_bitmap & (~0ull << (*fl + 1));
        COUNT_WORDS(t, 2);
        if (!fl_map)
            return NULL;
        *fl = (unsigned)__builtin_ctzll(fl_map);
        sl_map = t->sl_bitmap[*fl];
    }
    *sl = (unsigned)__builtin_ctz(sl_map);
    COUNT_NODES(t, 1);
    return t->heads[*fl][*sl];
}

static void list_remove(tlsf *t, tlsf_block *b, unsigned fl, unsigned sl)
{
    tlsf_block *prev = b->prev_free, *next = b->next_free;
    if (next) next->prev_free = prev;
    if (prev) prev->next_free = next;
    COUNT_NODES(t, 3);
    if (t->heads[fl][sl] == b) {
        t->heads[fl][sl] = next;
        if (!next) {
            t->sl_bitmap[fl] &= ~(1u << sl);
            if (!t->sl_bitmap[fl])
                t->fl_bitmap &= ~(1ull << fl);
            COUNT_WORDS(t, 2);
        }
    }
    t->bytes_free -= block_size(b);
}

static void list_insert(tlsf *t, tlsf_block *b)
{
    unsigned fl, sl;
    mapping_insert(block_size(b), &fl, &sl);
    tlsf_block *head = t->heads[fl][sl];
    b->next_free = head;
    b->prev_free = NULL;
    if (head) head->prev_free = b;
    t->heads[fl][sl] = b;
    t->fl_bitmap |= 1ull << fl;
    t->sl_bitmap[fl] |= 1u << sl;
    COUNT_NODES(t, 2);
    COUNT_WORDS(t, 2);
    t->bytes_free += block_size(b);
}

static void block_unlink(tlsf *t, tlsf_block *b)
{
    unsigned fl, sl;
    mapping_insert(block_size(b), &fl, &sl);
    list_remove(t, b, fl, sl);
}

/* Cuts b (used, or free and unlisted) to size, freeing the tail. */
static void block_trim(tlsf *t, tlsf_block *b, size_t size)
{
    size_t have = block_size(b);
    if (have < size + MIN_SPLIT)
        return;
    block_set_size(b, size);
    tlsf_block *rest = block_next(b);
    rest->size = (have - size - TLSF_HEADER) | BLOCK_FLAGS;  /* free, and tells next */
    rest->size &= ~(BLOCK_PREV_FREE);
    if (block_is_free(b))
        rest->size |= BLOCK_PREV_FREE;
    rest->prev_phys = b;
    /* The tail may touch a free successor: merge so that I5 holds. */
    tlsf_block *next = block_next(rest);
    if (block_is_free(next)) {
        block_unlink(t, next);
        block_set_size(rest, block_size(rest) + TLSF_HEADER + block_size(next));
    }
    block_mark_free(rest);
    list_insert(t, rest);
}

void tlsf_init(tlsf *t)
{
    memset(t, 0, sizeof *t);
}

bool tlsf_add_region(tlsf *t, void *mem, size_t size)
{
    size &= ~(TLSF_ALIGN - 1);
    if (((uintptr_t)mem & (TLSF_ALIGN - 1)) || size < TLSF_REGION_OVERHEAD + TLSF_MIN_PAYLOAD
        || size - TLSF_REGION_OVERHEAD > MAX_REQUEST)
        return false;
    WORK_RESET(t);
    struct tlsf_region *r = mem;
    r->next = t->regions;
    r->size = size;
    r->pad = 0;
    r->magic = REGION_MAGIC;
    t->regions = r;
    t->bytes_total += size;

    tlsf_block *first = (tlsf_block *)(r + 1);
    first->prev_phys = NULL;
    first->size = TLSF_REGION_CAPACITY(size);
    tlsf_block *sentinel = block_next(first);
    sentinel->size = 0;
    sentinel->prev_phys = first;
    block_mark_free(first);
    list_insert(t, first);
    return true;
}

static tlsf_block *region_first(const struct tlsf_region *r) { return (tlsf_block *)(r + 1); }

bool tlsf_region_is_empty(const tlsf *t, const void *mem)
{
    (void)t;
    tlsf_block *first = region_first(mem);
    return block_is_free(first) && block_size(block_next(first)) == 0;
}

void tlsf_remove_region(tlsf *t, void *mem)
{
    WORK_RESET(t);
    struct tlsf_region *r = mem;
    block_unlink(t, region_first(r));
    /* Regions are few (arena segments); this list walk is outside the O(1)
     * operations and only runs when memory goes back to the OS. */
    for (struct tlsf_region **pp = &t->regions; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    t->bytes_total -= r->size;
    r->magic = 0;
}

void *tlsf_malloc(tlsf *t, size_t size)
{
    WORK_RESET(t);
    if (size > MAX_REQUEST)
        return NULL;
    size = adjust_request(size);
    unsigned fl, sl;
    mapping_search(size, &fl, &sl);
    tlsf_block *b = find_suitable(t, &fl, &sl);
    if (!b)
        return NULL;
    list_remove(t, b, fl, sl);
    block_mark_used(b);
    block_trim(t, b, size);
    return block_payload(b);
}

void *tlsf_memalign(tlsf *t, size_t align, size_t size)
{
    if (align <= TLSF_ALIGN)
        return tlsf_malloc(t, size);
    WORK_RESET(t);
    if (size > MAX_REQUEST || align > MAX_REQUEST)
        return NULL;
    size = adjust_request(size);
    /* Room for the block, for a misaligned front that becomes a free block of
     * its own, and for one more step of align if that front is too small. */
    size_t want = size + align + MIN_SPLIT;
    if (want > MAX_REQUEST)
        return NULL;
    unsigned fl, sl;
    mapping_search(want, &fl, &sl);
    tlsf_block *b = find_suitable(t, &fl, &sl);
    if (!b)
        return NULL;
    list_remove(t, b, fl, sl);

    uintptr_t payload = (uintptr_t)block_payload(b);
    uintptr_t aligned = (payload + align - 1) & ~(uintptr_t)(align - 1);
    if (aligned != payload) {
        if (aligned - payload < MIN_SPLIT)
            aligned += align;
        size_t gap = aligned - payload;
        size_t total = block_size(b);
        tlsf_block *nb = block_of((void *)aligned);
        /* b keeps the front as a free block; its predecessor is used (I5). */
        block_set_size(b, gap - TLSF_HEADER);
        nb->prev_phys = b;
        nb->size = (total - gap) | BLOCK_PREV_FREE;
        block_mark_free(b);
        list_insert(t, b);
        b = nb;
    }
    block_mark_used(b);
    block_trim(t, b, size);
    return block_payload(b);
}

struct tlsf_region *tlsf_free(tlsf *t, void *p)
{
    WORK_RESET(t);
    tlsf_block *b = block_of(p);
    /* A header swallowed by a merge stays in memory, inside the merged
     * block's payload; marked free it makes a second free of p detectable. */
    b->size |= BLOCK_FREE;
    if (block_prev_is_free(b)) {
        tlsf_block *prev = b->prev_phys;
        block_unlink(t, prev);
        block_set_size(prev, block_size(prev) + TLSF_HEADER + block_size(b));
        b = prev;
    }
    tlsf_block *next = block_next(b);
    if (block_is_free(next)) {
        block_unlink(t, next);
        block_set_size(b, block_size(b) + TLSF_HEADER + block_size(next));
    }
    block_mark_free(b);
    list_insert(t, b);
    /* A block whose predecessor is the region header starts the region. */
    if (!b->prev_phys)
        return (struct tlsf_region *)b - 1;
    return NULL;
}

bool tlsf_resize_in_place(tlsf *t, void *p, size_t size)
{
    WORK_RESET(t);
    if (size > MAX_REQUEST)
        return false;
    size = adjust_request(size);
    tlsf_block *b = block_of(p);
    size_t have = block_size(b);
    if (size > have) {
        tlsf_block *next = block_next(b);
        if (!block_is_free(next) || have + TLSF_HEADER + block_size(next) < size)
            return false;
        block_unlink(t, next);
        block_set_size(b, have + TLSF_HEADER + block_size(next));
        block_mark_used(b);
    }
    block_trim(t, b, size);
    return true;
}

size_t tlsf_usable_size(const void *p) { return block_size(block_of(p)); }

bool tlsf_block_is_used(const void *p) { return !block_is_free(block_of(p)); }

bool tlsf_block_is_valid(const void *p, const void *lo, const void *hi)
{
    const char *c = p;
    if (((uintptr_t)c & (TLSF_ALIGN - 1)) || c < (const char *)lo + sizeof(struct tlsf_region) + TLSF_HEADER
        || c >= (const char *)hi)
        return false;
    const tlsf_block *b = block_of(p);
    size_t size = block_size(b);
    if (size == 0 || size > (size_t)((const char *)hi - c) - TLSF_HEADER)
        return false;
    const tlsf_block *next = block_next(b);
    if (next->prev_phys != b)
        return false;
    /* The predecessor link must stay in the region and lead back to b; only
     * the region's first block has none. */
    const tlsf_block *prev = b->prev_phys;
    const char *first = (const char *)lo + sizeof(struct tlsf_region);
    if (!prev)
        return (const char *)b == first;
    if ((const char *)prev < first || prev >= b || ((uintptr_t)prev & (TLSF_ALIGN - 1)))
        return false;
    return block_next(prev) == b;
}

int tlsf_check_block(const void *p)
{
    const tlsf_block *b = block_of(p);
    const tlsf_block *next = block_next(b);
    if (next->prev_phys != b) return -1;
    if (block_prev_is_free(next) != block_is_free(b)) return -2;
    if (b->prev_phys) {
        if (block_next(b->prev_phys) != b) return -3;
        if (block_prev_is_free(b) != block_is_free(b->prev_phys)) return -4;
        if (block_is_free(b) && block_is_free(b->prev_phys)) return -5;
    }
    if (block_is_free(b) && block_is_free(next)) return -6;
    return 0;
}

size_t tlsf_largest_free(const tlsf *t)
{
    if (!t->fl_bitmap)
        return 0;
    unsigned fl = 63u - (unsigned)__builtin_clzll(t->fl_bitmap);
    unsigned sl = 31u - (unsigned)__builtin_clz(t->sl_bitmap[fl]);
    size_t best = 0;
    for (tlsf_block *b = t->heads[fl][sl]; b; b = b->next_free)
        if (block_size(b) > best)
            best = block_size(b);
    return best;
}

void tlsf_walk_free(const tlsf *t, void (*fn)(void *, size_t, void *), void *arg)
{
    for (const struct tlsf_region *r = t->regions; r; r = r->next)
        for (tlsf_block *b = region_first(r); block_size(b); b = block_next(b))
            if (block_is_free(b))
                fn(block_payload(b), block_size(b), arg);
}

int tlsf_check(const tlsf *t)
{
    size_t free_blocks = 0, free_bytes = 0, total = 0;
    for (const struct tlsf_region *r = t->regions; r; r = r->next) {
        if (r->magic != REGION_MAGIC) return -1;
        total += r->size;
        const char *end = (const char *)r + r->size;
        tlsf_block *prev = NULL;
        tlsf_block *b = region_first(r);
        for (;;) {
            if ((uintptr_t)block_payload(b) & (TLSF_ALIGN - 1)) return -2;           /* I1 */
            if ((const char *)b + TLSF_HEADER > end) return -3;                        /* I2 */
            if (b->prev_phys != prev) return -4;                                       /* I3 */
            if (prev && block_prev_is_free(b) != block_is_free(prev)) return -5;       /* I4 */
            if (prev && block_is_free(prev) && block_is_free(b)) return -6;            /* I5 */
            if (block_size(b) == 0) break;
            if (block_is_free(b)) {
                free_blocks++;
                free_bytes += block_size(b);
                unsigned fl, sl;
                mapping_insert(block_size(b), &fl, &sl);
                if (!(t->sl_bitmap[fl] & (1u << sl))) return -7;                       /* I6 */
            }
            prev = b;
            b = block_next(b);
        }
        if ((const char *)b + TLSF_HEADER != end) return -8;                           /* I2 */
        if (block_is_free(b)) return -9;
    }
    size_t listed = 0;
    for (unsigned fl = 0; fl < TLSF_FL_COUNT; fl++) {
        if (!!(t->fl_bitmap & (1ull << fl)) != !!t->sl_bitmap[fl]) return -10;          /* I7 */
        for (unsigned sl = 0; sl < TLSF_SL_COUNT; sl++) {
            const tlsf_block *head = t->heads[fl][sl];
            if (!!(t->sl_bitmap[fl] & (1u << sl)) != !!head) return -11;               /* I7 */
            const tlsf_block *prev = NULL;
            for (const tlsf_block *b = head; b; b = b->next_free) {
                unsigned f, s;
                if (!block_is_free(b)) return -12;                                     /* I6 */
                mapping_insert(block_size(b), &f, &s);
                if (f != fl || s != sl) return -13;                                    /* I6 */
                if (b->prev_free != prev) return -14;
                prev = b;
                if (++listed > free_blocks) return -15;
            }
        }
    }
    if (listed != free_blocks) return -15;                                             /* I6 */
    if (free_bytes != t->bytes_free) return -16;                                       /* I8 */
    if (total != t->bytes_total) return -17;
    return 0;
}
