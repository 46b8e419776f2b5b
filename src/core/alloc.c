/* The r3_* entry points. The fast paths are the first two functions of this
 * file: a small malloc is a table lookup and a list pop, a small free by the
 * owning thread a map lookup, two checks and a list push. Everything else
 * calls out of line. */
#include "internal.h"
#include <errno.h>
#include <string.h>

#if R3_SECURE
#define FAST_SECURE_MARK(pg, b, to) secure_mark_fast((pg), (b), (to))
static void secure_mark_fast(page_t *pg, void *b, bool to)
{
    size_t i = (size_t)((((uintptr_t)b & (PAGE_SIZE - 1)) * (uint64_t)pg->size_magic) >> 32);
    uint64_t bit = 1ull << (i & 63);
    uint64_t old = to ? r3_fetch_or(&pg->allocated[i >> 6], bit)
                      : r3_fetch_and(&pg->allocated[i >> 6], ~bit);
    if (!!(old & bit) == to)
        r3_fatal(to ? "block handed out twice at" : "double free of", b);
}
#else
#define FAST_SECURE_MARK(pg, b, to) ((void)0)
#endif

void page_free_first_local(heap_t *h, page_t *pg);
static void *alloc_large(size_t size, size_t align);
R3_COLD static void free_slow(void *p, enum segment_kind kind);

/* ---- fast paths ----------------------------------------------------------- */

R3_INLINE void *small_alloc(size_t size)
{
    heap_t *h = r3_thread_heap;
    unsigned cls = size_class_of(size);
    page_t *pg = h->current[cls];
    block_t *b = pg->free;
    if (R3_LIKELY(b != NULL)) {
        pg->free = b->next;
        pg->used++;
        b->freed_tag = 0;
        FAST_SECURE_MARK(pg, b, true);
        STAT_INC(malloc_small);
        return b;
    }
    void *p = page_alloc_slow(h, cls);
    STAT_INC(malloc_small);
    return p;
}

/* A small block's offset in its page must be a whole number of blocks within
 * the carved part: this rejects interior and foreign pointers. */
R3_INLINE bool small_pointer_is_block(const page_t *pg, const void *p)
{
    uint32_t offset = (uint32_t)((uintptr_t)p & (PAGE_SIZE - 1));
    uint32_t index = (uint32_t)(((uint64_t)offset * pg->size_magic) >> 32);
    return index * pg->block_size == offset && index < pg->capacity;
}

R3_INLINE void small_free(void *p)
{
    page_t *pg = page_of(segment_of(p), p);
    if (R3_UNLIKELY(!small_pointer_is_block(pg, p)))
        r3_fatal("free of a pointer that is not a block:", p);
    block_t *b = p;
    heap_t *h = r3_thread_heap;
    if (R3_LIKELY(r3_load_relaxed(&pg->heap) == h)) {
        if (R3_UNLIKELY(b->freed_tag == r3_secret))
            page_check_double_free(pg, b);
        FAST_SECURE_MARK(pg, b, false);
        b->freed_tag = r3_secret;
        block_t *lf = pg->local_free;
        b->next = lf;
        pg->local_free = b;
        if (R3_UNLIKELY(lf == NULL) && r3_load_relaxed(&pg->state) == PAGE_FULL)
            page_free_first_local(h, pg);
        if (R3_UNLIKELY(--pg->used == 0))
            page_free_empty(h, pg);
        STAT_INC(free_small);
        return;
    }
    page_free_remote(pg, b);
}

void *r3_malloc(size_t size)
{
    void *p = R3_LIKELY(size <= SMALL_MAX) ? small_alloc(size) : alloc_large(size, 16);
    DEBUG_CHECK();
    return p;
}

void r3_free(void *p)
{
    enum segment_kind kind = segment_kind_of(p);
    if (R3_LIKELY(kind == KIND_SMALL))
        small_free(p);
    else
        free_slow(p, kind);
    DEBUG_CHECK();
}

/* ---- everything else ------------------------------------------------------------ */

static R3_NOINLINE void *alloc_large(size_t size, size_t align)
{
    if (size <= MEDIUM_MAX && size + align <= MEDIUM_MAX)
        return arena_alloc(NULL, size, align);
    return huge_alloc(size, align, false);
}

R3_COLD static void free_slow(void *p, enum segment_kind kind)
{
    switch (kind) {
    case KIND_ARENA:
        arena_free(p);
        return;
    case KIND_HUGE:
    case KIND_HUGE_HIGH:
        huge_free(p, kind);
        return;
    case KIND_SMALL:
        small_free(p);
        return;
    case KIND_NONE:
        if (p)
            r3_fatal("free of a pointer that is not ours:", p);
        return;
    }
}

void *r3_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total > MEDIUM_MAX) {
        void *p = huge_alloc(total, 16, true);   /* fresh mappings read as zero */
        DEBUG_CHECK();
        return p;
    }
    void *p = r3_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

size_t r3_usable_size(const void *p)
{
    enum segment_kind kind = segment_kind_of(p);
    switch (kind) {
    case KIND_SMALL: {
        const page_t *pg = page_of(segment_of(p), p);
        return small_pointer_is_block(pg, p) ? pg->block_size : 0;
    }
    case KIND_ARENA:
        return arena_usable_size(p);
    case KIND_HUGE:
    case KIND_HUGE_HIGH:
        return huge_usable_size(p, kind);
    case KIND_NONE:
        break;
    }
    return 0;
}

static void *realloc_move(void *p, size_t old_size, size_t size)
{
    void *q = r3_malloc(size);
    if (!q)
        return NULL;            /* p is intact */
    memcpy(q, p, old_size < size ? old_size : size);
    r3_free(p);
    STAT_INC(realloc_moved);
    return q;
}

void *r3_realloc(void *p, size_t size)
{
    if (!p)
        return r3_malloc(size);
    if (size == 0) {
        r3_free(p);
        return NULL;
    }
    enum segment_kind kind = segment_kind_of(p);
    switch (kind) {
    case KIND_SMALL: {
        page_t *pg = page_of(segment_of(p), p);
        if (!small_pointer_is_block(pg, p))
            r3_fatal("realloc of a pointer that is not a block:", p);
        size_t old = pg->block_size;
        /* Keep the block unless it would be less than half used. */
        if (size <= old && size >= old / 2)
            return p;
        return realloc_move(p, old, size);
    }
    case KIND_ARENA: {
        if (size > SMALL_MAX && size <= MEDIUM_MAX && arena_resize_in_place(p, size)) {
            DEBUG_CHECK();
            return p;
        }
        return realloc_move(p, arena_usable_size(p), size);
    }
    case KIND_HUGE:
    case KIND_HUGE_HIGH: {
        if (size > MEDIUM_MAX) {
            void *q = huge_realloc(p, kind, size);
            if (q) {
                DEBUG_CHECK();
                return q;
            }
            if (errno == ENOMEM && kind == KIND_HUGE)
                return NULL;
        }
        return realloc_move(p, huge_usable_size(p, kind), size);
    }
    case KIND_NONE:
        break;
    }
    r3_fatal("realloc of a pointer that is not ours:", p);
}

void *r3_reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return r3_realloc(p, total);
}

/* Aligned blocks: small power-of-two classes are naturally aligned (pages are
 * 64 KiB aligned), TLSF aligns medium blocks, huge mappings align themselves. */
static void *aligned_alloc_internal(size_t align, size_t size)
{
    if (align <= 16)
        return r3_malloc(size);
    if (size <= SMALL_MAX && align <= SMALL_MAX) {
        size_t need = size > align ? size : align;
        size_t pow2 = (size_t)1 << (64 - __builtin_clzl(need - 1));
        if (pow2 <= SMALL_MAX)
            return small_alloc(pow2);
    }
    void *p = alloc_large(size, align);
    DEBUG_CHECK();
    return p;
}

int r3_posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    void *p = aligned_alloc_internal(align, size);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *r3_aligned_alloc(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_alloc_internal(align, size);
}

/* memalign, valloc and pvalloc for override.c. */
void *r3_memalign_internal(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) {
        /* glibc rounds a bad alignment up to a power of two */
        if (align > ((size_t)1 << 62)) {
            errno = EINVAL;
            return NULL;
        }
        size_t a = 1;
        while (a < align) a <<= 1;
        align = a;
    }
    return aligned_alloc_internal(align, size);
}
