/* The real-time heap's allocation paths. Each one takes the heap's lock
 * once (realloc twice when it moves the block), does a constant number of
 * TLSF operations under it, and leaves any O(size) copy or clear outside
 * it, so the lock hold time is bounded by a constant. */
#include "rt_heap.h"
#include <errno.h>
#include <string.h>

/* Counts a new block; lock held. */
static void account_alloc(r3_rt_heap *h, void *p)
{
    r3_rt_stats *s = &h->stats;
    s->bytes_used += tlsf_usable_size(p);
    if (s->bytes_used > s->peak_used)
        s->peak_used = s->bytes_used;
    s->blocks_used++;
    s->allocs++;
    s->bytes_free = h->tlsf.bytes_free;
}

/* One TLSF allocation (two bitmap searches at most); lock held. */
static void *heap_alloc(r3_rt_heap *h, size_t align, size_t size)
{
    void *p = align <= TLSF_ALIGN ? tlsf_malloc(&h->tlsf, size)
                                  : tlsf_memalign(&h->tlsf, align, size);
    rt_work_add_tlsf(h);
    if (!p) {
        h->stats.failed++;
        errno = ENOMEM;
        return NULL;
    }
    account_alloc(h, p);
    return p;
}

/* Frees p after validating it; lock held. 0 or -EINVAL. */
static int heap_release(r3_rt_heap *h, void *p, const char *what)
{
    if (!rt_block_is_live(h, p)) {
        rt_reject(h, what, p);
        return -EINVAL;
    }
    r3_rt_stats *s = &h->stats;
    s->bytes_used -= tlsf_usable_size(p);
    s->blocks_used--;
    s->frees++;
    tlsf_free(&h->tlsf, p);
    rt_work_add_tlsf(h);
    s->bytes_free = h->tlsf.bytes_free;
    return 0;
}

static void *locked_alloc(r3_rt_heap *heap, size_t align, size_t size)
{
    r3_rt_heap *h = rt_heap_resolve(heap);
    if (!h || !rt_lock(h))
        return NULL;
    void *p = heap_alloc(h, align, size);
    rt_unlock(h);
    return p;
}

R3_API void *r3_rt_malloc(r3_rt_heap *heap, size_t size)
{
    rt_work_begin();
    return locked_alloc(heap, TLSF_ALIGN, size);
}

R3_API void *r3_rt_memalign(r3_rt_heap *heap, size_t align, size_t size)
{
    rt_work_begin();
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return locked_alloc(heap, align, size);
}

R3_API void *r3_rt_calloc(r3_rt_heap *heap, size_t n, size_t size)
{
    rt_work_begin();
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = locked_alloc(heap, TLSF_ALIGN, bytes);
    if (p) {
        memset(p, 0, bytes);   /* reused blocks hold old data */
        rt_work_add_bytes(bytes);
    }
    return p;
}

R3_API int r3_rt_free(r3_rt_heap *heap, void *p)
{
    rt_work_begin();
    if (!p)
        return 0;
    r3_rt_heap *h = rt_heap_resolve(heap);
    if (!h)
        return -EINVAL;
    if (!rt_lock(h))
        return -EBUSY;
    int rc = heap_release(h, p, "r3_rt_free: not a live block");
    rt_unlock(h);
    return rc;
}

/* realloc's moving path: lock held on entry, released on return. The copy
 * runs outside the lock, except for a NONBLOCKING heap, which must not
 * risk a second, failing lock attempt with the old block still to free. */
static void *move_block(r3_rt_heap *h, void *p, size_t old, size_t size)
{
    void *q = heap_alloc(h, TLSF_ALIGN, size);
    if (!q) {
        rt_unlock(h);
        return NULL;
    }
    size_t keep = old < size ? old : size;
    bool copy_unlocked = !(h->flags & R3_RT_NONBLOCKING);
    if (copy_unlocked)
        rt_unlock(h);
    memcpy(q, p, keep);
    if (copy_unlocked)
        rt_lock(h);     /* a blocking heap: waits, cannot fail */
    rt_work_add_bytes(keep);
    heap_release(h, p, "r3_rt_realloc: not a live block");
    rt_unlock(h);
    return q;
}

R3_API void *r3_rt_realloc(r3_rt_heap *heap, void *p, size_t size)
{
    if (!p)
        return r3_rt_malloc(heap, size);
    if (size == 0) {
        r3_rt_free(heap, p);
        return NULL;
    }
    rt_work_begin();
    r3_rt_heap *h = rt_heap_resolve(heap);
    if (!h || !rt_lock(h))
        return NULL;
    if (!rt_block_is_live(h, p)) {
        rt_reject(h, "r3_rt_realloc: not a live block", p);
        rt_unlock(h);
        return NULL;
    }
    size_t old = tlsf_usable_size(p);
    bool in_place = tlsf_resize_in_place(&h->tlsf, p, size);
    rt_work_add_tlsf(h);
    if (!in_place)
        return move_block(h, p, old, size);
    r3_rt_stats *s = &h->stats;
    s->bytes_used = s->bytes_used - old + tlsf_usable_size(p);
    if (s->bytes_used > s->peak_used)
        s->peak_used = s->bytes_used;
    s->bytes_free = h->tlsf.bytes_free;
    rt_unlock(h);
    return p;
}

R3_API size_t r3_rt_usable_size(r3_rt_heap *heap, const void *p)
{
    rt_work_begin();
    if (!p)
        return 0;
    r3_rt_heap *h = rt_heap_resolve(heap);
    if (!h || !rt_lock(h))
        return 0;
    size_t n = 0;
    if (rt_block_is_live(h, p))
        n = tlsf_usable_size(p);
    else
        rt_reject(h, "r3_rt_usable_size: not a live block", p);
    rt_unlock(h);
    return n;
}
