/* The block table of the reliable heap (metadata words: rel_metaword.c).
 *
 * The block allocator is a two-level segregated fit (the TLSF scheme: free
 * blocks in FL x SL lists, a bitmap per level, good fit found with two
 * find-first-set instructions, immediate coalescing; O(1) everywhere), but
 * with its bookkeeping out of band: block descriptors in a table instead of
 * headers next to the data. That is what lets every metadata word live under
 * TMR: the shared TLSF (core/tlsf.h) keeps headers inside the memory it
 * manages and follows raw pointers, so one flipped bit there would crash it;
 * here links are 32-bit table indices, voted, then bounds-checked, so a
 * damaged link is repaired or reported (-EIO), never followed.
 *
 * Invariants (checked by the unit tests through the public API):
 *  M1 descriptors tile [0, words) in physical order through prev/next links;
 *  M2 no two free blocks are physical neighbours;
 *  M3 a free block sits in exactly the list its size maps to; bitmaps say
 *     which lists are non-empty;
 *  M4 a used block's generation is unique among all handles handed out
 *     since init (24 bits, so until 16 M allocations reuse the same slot).
 * All functions here run with rel.lock held.
 */
#include "rel_internal.h"

/* --- descriptors --- */

static inline size_t desc_word(uint32_t d, unsigned w) { return META_DESC + (size_t)d * DESC_WORDS + w; }

typedef struct desc {
    uint64_t start, size, gen;
    unsigned state, slack;
    uint32_t prev, next, prev_free, next_free;
} desc;

static desc desc_load(uint32_t d)
{
    uint64_t w0 = rel_meta_get(desc_word(d, 0)), w1 = rel_meta_get(desc_word(d, 1));
    uint64_t w2 = rel_meta_get(desc_word(d, 2)), w3 = rel_meta_get(desc_word(d, 3));
    REL_WORK(list_nodes, 1);
    return (desc){
        .start = w0 & REL_FIELD40, .state = (unsigned)(w0 >> 40) & 3, .slack = (unsigned)(w0 >> 42) & 15,
        .size = w1 & REL_FIELD40, .gen = w1 >> 40,
        .prev = (uint32_t)w2, .next = (uint32_t)(w2 >> 32),
        .prev_free = (uint32_t)w3, .next_free = (uint32_t)(w3 >> 32),
    };
}

static void desc_store(uint32_t d, const desc *x)
{
    rel_meta_set(desc_word(d, 0), x->start | (uint64_t)x->state << 40 | (uint64_t)x->slack << 42);
    rel_meta_set(desc_word(d, 1), x->size | x->gen << 40);
    rel_meta_set(desc_word(d, 2), x->prev | (uint64_t)x->next << 32);
    rel_meta_set(desc_word(d, 3), x->prev_free | (uint64_t)x->next_free << 32);
}

/* A voted link must still name a descriptor in use, else the table is
 * damaged beyond what the vote can repair (two copies hit the same bit). */
static inline bool link_ok(uint32_t d) { return d == REL_NIL || d < rel_meta_get(META_DESC_HIGH); }

static bool desc_sane(const desc *x)
{
    return x->start + x->size <= rel.words && x->size > 0 && link_ok(x->prev) && link_ok(x->next)
           && link_ok(x->prev_free) && link_ok(x->next_free);
}

/* --- segregated lists (the TLSF mapping, in words) --- */

static inline unsigned fls64(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }

static void mapping_insert(uint64_t size, unsigned *fl, unsigned *sl)
{
    if (size < REL_SL_COUNT) {
        *fl = 0;
        *sl = (unsigned)size;
    } else {
        unsigned f = fls64(size);
        *sl = (unsigned)(size >> (f - REL_SL_LOG2)) ^ REL_SL_COUNT;
        *fl = f - REL_SL_LOG2 + 1;
    }
}

/* Rounds size up to the next list boundary so that every block of the list
 * found can hold it: no list is ever searched. */
static void mapping_search(uint64_t size, unsigned *fl, unsigned *sl)
{
    if (size >= REL_SL_COUNT)
        size += (1ull << (fls64(size) - REL_SL_LOG2)) - 1;
    mapping_insert(size, fl, sl);
}

static inline size_t head_word(unsigned fl, unsigned sl) { return META_HEADS + fl * REL_SL_COUNT + sl; }

static void list_insert(uint32_t d, desc *x)
{
    unsigned fl, sl;
    mapping_insert(x->size, &fl, &sl);
    uint32_t head = (uint32_t)rel_meta_get(head_word(fl, sl));
    x->prev_free = REL_NIL;
    x->next_free = head;
    desc_store(d, x);
    if (head != REL_NIL) {
        desc h = desc_load(head);
        h.prev_free = d;
        desc_store(head, &h);
    }
    rel_meta_set(head_word(fl, sl), d);
    rel_meta_set(META_FL_BITMAP, rel_meta_get(META_FL_BITMAP) | 1ull << fl);
    rel_meta_set(META_SL_BITMAP + fl, rel_meta_get(META_SL_BITMAP + fl) | 1ull << sl);
    REL_WORK(bitmap_words, 2);
}

static int list_remove(uint32_t d, const desc *x)
{
    unsigned fl, sl;
    mapping_insert(x->size, &fl, &sl);
    if (x->prev_free != REL_NIL) {
        desc p = desc_load(x->prev_free);
        p.next_free = x->next_free;
        desc_store(x->prev_free, &p);
    } else {
        if (rel_meta_get(head_word(fl, sl)) != d)
            return -EIO;
        rel_meta_set(head_word(fl, sl), x->next_free);
        if (x->next_free == REL_NIL) {
            uint64_t slmap = rel_meta_get(META_SL_BITMAP + fl) & ~(1ull << sl);
            rel_meta_set(META_SL_BITMAP + fl, slmap);
            if (!slmap)
                rel_meta_set(META_FL_BITMAP, rel_meta_get(META_FL_BITMAP) & ~(1ull << fl));
            REL_WORK(bitmap_words, 2);
        }
    }
    if (x->next_free != REL_NIL) {
        desc n = desc_load(x->next_free);
        n.prev_free = x->prev_free;
        desc_store(x->next_free, &n);
    }
    return 0;
}

/* At most three bitmap words read. REL_NIL when nothing fits. */
static uint32_t find_suitable(uint64_t words)
{
    unsigned fl, sl;
    mapping_search(words, &fl, &sl);
    if (fl >= REL_FL_COUNT)
        return REL_NIL;
    uint64_t slmap = rel_meta_get(META_SL_BITMAP + fl) & (~0ull << sl);
    REL_WORK(bitmap_words, 1);
    if (!slmap) {
        uint64_t flmap = rel_meta_get(META_FL_BITMAP) & (~0ull << (fl + 1));
        REL_WORK(bitmap_words, 1);
        if (!flmap)
            return REL_NIL;
        fl = (unsigned)__builtin_ctzll(flmap);
        if (fl >= REL_FL_COUNT)
            return REL_NIL;
        slmap = rel_meta_get(META_SL_BITMAP + fl);
        REL_WORK(bitmap_words, 1);
    }
    if (!slmap)
        return REL_NIL;
    return (uint32_t)rel_meta_get(head_word(fl, (unsigned)__builtin_ctzll(slmap)));
}

/* A descriptor for a split remainder: a recycled one, else a fresh one. */
static uint32_t desc_take(void)
{
    uint32_t d = (uint32_t)rel_meta_get(META_UNUSED_HEAD);
    if (d != REL_NIL) {
        desc x = desc_load(d);
        rel_meta_set(META_UNUSED_HEAD, x.next_free);
        return d;
    }
    uint64_t high = rel_meta_get(META_DESC_HIGH);
    if (high >= rel.ndesc)
        return REL_NIL;
    rel_meta_set(META_DESC_HIGH, high + 1);
    return (uint32_t)high;
}

static void desc_give(uint32_t d)
{
    desc x = {.state = DESC_UNUSED, .size = 0, .prev = REL_NIL, .next = REL_NIL, .prev_free = REL_NIL,
              .next_free = (uint32_t)rel_meta_get(META_UNUSED_HEAD)};
    desc_store(d, &x);
    rel_meta_set(META_UNUSED_HEAD, d);
}

void rel_meta_format(uint64_t generation)
{
    for (size_t i = 0; i < META_DESC; i++)
        rel_meta_set(i, i >= META_HEADS ? REL_NIL : 0);
    rel_meta_set(META_MAGIC, REL_META_MAGIC);
    rel_meta_set(META_WORDS, rel.words);
    rel_meta_set(META_NDESC, rel.ndesc);
    rel_meta_set(META_UNUSED_HEAD, REL_NIL);
    rel_meta_set(META_DESC_HIGH, 1);
    rel_meta_set(META_GENERATION, generation);
    desc whole = {.start = 0, .size = rel.words, .state = DESC_FREE, .prev = REL_NIL, .next = REL_NIL};
    list_insert(0, &whole);
}

static inline r3_rel_handle make_handle(uint32_t d, uint64_t gen) { return gen << 32 | d; }

int rel_block_alloc(size_t bytes, r3_rel_handle *out)
{
    uint64_t words = bytes ? (bytes + 7) / 8 : 1;
    if (bytes > rel.words * 8 || rel_meta_get(META_LIVE_BLOCKS) >= rel.cfg.max_blocks)
        return -ENOMEM;
    uint32_t d = find_suitable(words);
    if (d == REL_NIL)
        return -ENOMEM;
    if (!link_ok(d))
        return -EIO;
    desc x = desc_load(d);
    if (!desc_sane(&x) || x.state != DESC_FREE || x.size < words || list_remove(d, &x))
        return -EIO;
    if (x.size > words) {
        /* Split: the table has 2 * max_blocks + 1 descriptors, so one is
         * always available while live blocks < max_blocks (M2). */
        uint32_t r = desc_take();
        if (r == REL_NIL)
            return -EIO;
        desc rest = {.start = x.start + words, .size = x.size - words, .state = DESC_FREE,
                     .prev = d, .next = x.next};
        if (x.next != REL_NIL) {
            desc n = desc_load(x.next);
            n.prev = r;
            desc_store(x.next, &n);
        }
        x.next = r;
        x.size = words;
        list_insert(r, &rest);
    }
    uint64_t gen = (rel_meta_get(META_GENERATION) + 1) & REL_GEN_MASK;
    if (!gen)
        gen = 1;   /* 0 would make handle 0 possible */
    rel_meta_set(META_GENERATION, gen);
    x.state = DESC_USED;
    x.gen = gen;
    x.slack = (unsigned)(words * 8 - bytes);   /* 1..8 for size 0 */
    x.prev_free = x.next_free = REL_NIL;
    desc_store(d, &x);
    rel_meta_set(META_LIVE_BLOCKS, rel_meta_get(META_LIVE_BLOCKS) + 1);
    rel_meta_set(META_LIVE_BYTES, rel_meta_get(META_LIVE_BYTES) + bytes);
    *out = make_handle(d, gen);
    return 0;
}

static inline size_t block_bytes(const desc *x) { return x->size * 8 - x->slack; }

/* Decides whether descriptor words w0, w1 make h a live block: its
 * generation tag must match the descriptor's (so a freed, stale or
 * bit-flipped handle is refused). */
static int handle_decode(r3_rel_handle h, uint64_t w0, uint64_t w1, desc *x)
{
    x->start = w0 & REL_FIELD40;
    x->state = (unsigned)(w0 >> 40) & 3;
    x->slack = (unsigned)(w0 >> 42) & 15;
    x->size = w1 & REL_FIELD40;
    x->gen = w1 >> 40;
    if (x->state != DESC_USED || x->gen != h >> 32)
        return -EINVAL;
    return x->size > 0 && x->start + x->size <= rel.words && x->slack <= 8 ? 0 : -EIO;
}

static inline bool handle_in_table(r3_rel_handle h, uint64_t desc_high)
{
    return h && (h >> 32) <= REL_GEN_MASK && (uint32_t)h < desc_high && (uint32_t)h < rel.ndesc;
}

/* Checks that a handle names a live block; reads descriptor words 0, 1. */
static int handle_check(r3_rel_handle h, uint32_t *d, desc *x)
{
    *d = (uint32_t)h;
    if (!handle_in_table(h, rel_meta_get(META_DESC_HIGH)))
        return -EINVAL;
    return handle_decode(h, rel_meta_get(desc_word(*d, 0)), rel_meta_get(desc_word(*d, 1)), x);
}

/* As handle_check, with the whole descriptor (for free). */
static int handle_desc(r3_rel_handle h, uint32_t *d, desc *x)
{
    int err = handle_check(h, d, x);
    if (err)
        return err;
    *x = desc_load(*d);
    return desc_sane(x) ? 0 : -EIO;
}

int rel_block_lookup(r3_rel_handle h, size_t *start_word, size_t *bytes)
{
    uint32_t d;
    desc x;
    int err = handle_check(h, &d, &x);
    if (err)
        return err;
    *start_word = x.start;
    *bytes = block_bytes(&x);
    return 0;
}

/* The metadata sequence (a seqlock): odd while alloc or free changes the
 * block table. Repairs do not count: they only ever rewrite a copy that
 * disagreed with the other two, and the lock-free reader accepts a word only
 * when copies 0 and 1 agree. */
void rel_meta_begin_change(void)
{
    /* Acquire: the table's stores cannot move above the increment. */
    __atomic_fetch_add(&rel.meta_seq, 1, __ATOMIC_ACQ_REL);
}

void rel_meta_end_change(void)
{
    __atomic_fetch_add(&rel.meta_seq, 1, __ATOMIC_RELEASE);
}

int rel_block_lookup_fast(r3_rel_handle h, size_t *start_word, size_t *bytes)
{
    REL_WORK(meta_words, 3);
    /* Two attempts at most: a reader never waits on a busy writer. */
    for (unsigned attempt = 0; attempt < 2; attempt++) {
        uint64_t s1 = __atomic_load_n(&rel.meta_seq, __ATOMIC_ACQUIRE), high, w0 = 0, w1 = 0;
        if (s1 & 1)
            continue;
        if (!rel_meta_peek(META_DESC_HIGH, &high))
            return -EAGAIN;
        bool in_table = handle_in_table(h, high);
        if (in_table && (!rel_meta_peek(desc_word((uint32_t)h, 0), &w0) || !rel_meta_peek(desc_word((uint32_t)h, 1), &w1)))
            return -EAGAIN;
        if (__atomic_load_n(&rel.meta_seq, __ATOMIC_ACQUIRE) != s1)
            continue;
        if (!in_table)
            return -EINVAL;
        desc x;
        int err = handle_decode(h, w0, w1, &x);
        if (!err) {
            *start_word = x.start;
            *bytes = block_bytes(&x);
        }
        return err;
    }
    return -EAGAIN;
}

/* Joins n, the physical successor of x, to x (lists untouched); n's
 * descriptor is recycled. */
static void absorb_next(uint32_t d, desc *x, uint32_t nd, const desc *n)
{
    x->size += n->size;
    x->next = n->next;
    if (n->next != REL_NIL) {
        desc nn = desc_load(n->next);
        nn.prev = d;
        desc_store(n->next, &nn);
    }
    desc_give(nd);
}

/* Loads a physical neighbour; false when it is damaged beyond repair. */
static bool neighbour_load(uint32_t nd, desc *n)
{
    *n = desc_load(nd);
    return desc_sane(n) && n->state != DESC_UNUSED;
}

int rel_block_free(r3_rel_handle h)
{
    uint32_t d;
    desc x, n;
    int err = handle_desc(h, &d, &x);
    if (err)
        return err;
    uint64_t bytes = block_bytes(&x);
    x.state = DESC_FREE;
    x.gen = 0;
    x.slack = 0;
    if (x.next != REL_NIL) {
        uint32_t nd = x.next;
        if (!neighbour_load(nd, &n))
            return -EIO;
        if (n.state == DESC_FREE) {
            if (list_remove(nd, &n))
                return -EIO;
            absorb_next(d, &x, nd, &n);
        }
    }
    if (x.prev != REL_NIL) {
        uint32_t pd = x.prev;
        if (!neighbour_load(pd, &n))
            return -EIO;
        if (n.state == DESC_FREE) {
            if (list_remove(pd, &n))
                return -EIO;
            absorb_next(pd, &n, d, &x);
            d = pd;
            x = n;
        }
    }
    list_insert(d, &x);
    rel_meta_set(META_LIVE_BLOCKS, rel_meta_get(META_LIVE_BLOCKS) - 1);
    rel_meta_set(META_LIVE_BYTES, rel_meta_get(META_LIVE_BYTES) - bytes);
    return 0;
}
