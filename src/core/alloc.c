/* The r3_* entry points. The fast paths are the first two functions of this
 * file: a small malloc is a table lookup and a list pop, a small free by the
 * owning thread a map lookup, two checks and a list push. Everything else
 * calls out of line. */
#include "internal.h"
#include <errno.h>
#include <string.h>


static void *alloc_large(size_t size, size_t align);
R3_COLD static void free_slow(void *p);
R3_COLD static void small_free_slow(void *p);
R3_COLD static void small_free_local_slow(void *p);

/* ---- fast paths ----------------------------------------------------------- */

/* Pops a block from the current page of size's class; the class is only
 * computed on the slow path (the empty page stands for every class). */
R3_INLINE void *page_take(heap_t *h, page_t *pg, size_t size)
{
    block_t *b = pg->free;
    if (R3_LIKELY(b != NULL)) {
        pg->free = b->next;
        pg->used++;
        b->freed_tag = 0;
        SECURE_MARK(pg, b, true);
        STAT_INC(malloc_small);
        return b;
    }
    return page_alloc_slow(h, size_class_of(size), size);
}

R3_INLINE void *small_alloc(size_t size)
{
    heap_t *h = r3_thread_heap;
    if (R3_LIKELY(size <= DIRECT_MAX))
        return page_take(h, h->direct[(size + 15) >> 4], size);
    return page_take(h, h->current[size_class_of(size)], size);
}

/* Sizes above DIRECT_MAX, out of line so that malloc's fast path tests the
 * size once. */
static R3_NOINLINE void *alloc_above_direct(size_t size)
{
    return size <= SMALL_MAX ? small_alloc(size) : alloc_large(size, 16);
}

/* A small block's offset in its page must be a whole number of blocks (and
 * the page in use): this rejects interior and foreign pointers. The test is
 * Lemire's divisibility check, one multiplication. */
R3_INLINE bool small_pointer_is_block(const page_t *pg, const void *p)
{
    uint64_t offset = (uintptr_t)p & (PAGE_SIZE - 1);
    bool in_page_zero = ((uintptr_t)p & SEGMENT_MASK) < PAGE_SIZE;   /* the header */
    return !in_page_zero && offset * pg->divisor < pg->divisor;
}

/* The free fast path checks what is nearly free to check: 16-byte alignment
 * (most interior pointers fail it) and, through the owner test, that the page
 * is in use. The exact block-boundary test runs on every other path, and on
 * the fast path too in the R3_SECURE build. */
R3_INLINE bool small_pointer_is_plausible(const page_t *pg, const void *p)
{
#if R3_SECURE
    return small_pointer_is_block(pg, p);
#else
    (void)pg;
    return ((uintptr_t)p & 15) == 0;
#endif
}

/* The owner test of the free fast path. Equality can only hold when this
 * thread itself stored the value, so a plain read suffices (it lets the
 * compiler fold the load into the compare); ThreadSanitizer builds keep the
 * atomic load so that the other threads' stores stay visible to it. */
R3_INLINE heap_t *page_owner_fast(const page_t *pg)
{
#if defined(__SANITIZE_THREAD__) || !R3_MT
    return r3_load_relaxed(&pg->heap);
#else
    return *(heap_t *const *)&pg->heap;
#endif
}

/* Every exit other than the fast one is a tail call, so the fast path needs
 * no stack frame. A freed block carries its page descriptor's address as a
 * tag (see page_free_remote). */
R3_INLINE void free_impl(void *p)
{
    if (R3_UNLIKELY(!segment_is_small(p)))
        return free_slow(p);
    page_t *pg = page_of(segment_of(p), p);
    block_t *b = p;
    heap_t *h = r3_thread_heap;
    if (R3_UNLIKELY(page_owner_fast(pg) != h) || R3_UNLIKELY(b->freed_tag == (uintptr_t)pg)
        || R3_UNLIKELY(!small_pointer_is_plausible(pg, p)))
        return small_free_slow(p);
    SECURE_MARK(pg, b, false);
    b->freed_tag = (uintptr_t)pg;
    block_t *lf = pg->local_free;
    b->next = lf;
    pg->local_free = b;
    STAT_INC(free_small);
    /* Rare: the page may be on the full list (first local free since the
     * last swap), or be empty now. */
    if (R3_UNLIKELY(--pg->used == 0))
        return small_free_local_slow(p);
    if (R3_UNLIKELY(lf == NULL))
        return small_free_local_slow(p);
}

void *r3_malloc(size_t size)
{
    void *p = R3_LIKELY(size <= DIRECT_MAX) ? small_alloc(size) : alloc_above_direct(size);
    DEBUG_CHECK(p);
    return p;
}

void r3_free(void *p)
{
    free_impl(p);
    DEBUG_CHECK(p);
}

/* ---- everything else ------------------------------------------------------------ */

static R3_NOINLINE void *alloc_large(size_t size, size_t align)
{
    if (size <= MEDIUM_MAX && size + align <= MEDIUM_MAX)
        return arena_alloc(NULL, size, align);
    return huge_alloc(size, align, false);
}

/* Out of line, so the fast path keeps no state: recompute from p. */
R3_COLD static void small_free_local_slow(void *p)
{
    page_free_local_slow(r3_thread_heap, page_of(segment_of(p), p));
}

/* A small block freed by a thread other than its page's owner, or a bad one. */
R3_COLD static void small_free_slow(void *p)
{
    page_t *pg = page_of(segment_of(p), p);
    block_t *b = p;
    if (!small_pointer_is_block(pg, b))
        r3_fatal("free of a pointer that is not a block:", b);
    if (r3_load_relaxed(&pg->heap) == r3_thread_heap)
        r3_fatal("double free of", b);
    page_free_remote(pg, b);
}

R3_COLD static void free_slow(void *p)
{
    enum segment_kind kind = segment_kind_of(p);
    if ((uintptr_t)p >> ADDRESS_BITS)
        kind = KIND_NONE;
    switch (kind) {
    case KIND_ARENA:
        arena_free(p);
        return;
    case KIND_HUGE:
    case KIND_HUGE_HIGH:
        huge_free(p, kind);
        return;
    case KIND_SMALL:
        break;
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
        DEBUG_CHECK(p);
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
        return small_pointer_is_block(pg, p) ? page_block_size(pg) : 0;
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
        size_t old = page_block_size(pg);
        /* Keep the block unless it would be less than half used. */
        if (size <= old && size >= old / 2)
            return p;
        return realloc_move(p, old, size);
    }
    case KIND_ARENA: {
        if (size > SMALL_MAX && size <= MEDIUM_MAX && arena_resize_in_place(p, size)) {
            DEBUG_CHECK(p);
            return p;
        }
        return realloc_move(p, arena_usable_size(p), size);
    }
    case KIND_HUGE:
    case KIND_HUGE_HIGH: {
        if (size > MEDIUM_MAX) {
            void *q = huge_realloc(p, kind, size);
            if (q) {
                DEBUG_CHECK(p);
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
            return small_alloc(pow2);   /* power-of-two classes are aligned to their size */
    }
    void *p = alloc_large(size, align);
    DEBUG_CHECK(p);
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

#if R3_OVERRIDE
/* The C library's names, as aliases: no extra call on the fast paths. The
 * rest of the family is in override.c. */
#define R3_ALIAS(name) __attribute__((alias(#name), visibility("default"), used))
void *malloc(size_t size) R3_ALIAS(r3_malloc);
void free(void *p) R3_ALIAS(r3_free);
void *calloc(size_t n, size_t size) R3_ALIAS(r3_calloc);
void *realloc(void *p, size_t size) R3_ALIAS(r3_realloc);
#endif
