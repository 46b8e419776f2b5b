/* The real-time heap's life cycle: init over caller memory, create over a
 * reserved capacity, destroy, the default heap, stats and the checker.
 * The allocation paths are in rt_alloc.c, pointer validation in rt_block.c. */
#include "rt_heap.h"
#include "core/atomic.h"
#include "core/os.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#if R3_WORK_COUNTERS
__thread r3_rt_work rt_work;
#endif

static r3_atomic(r3_rt_heap *) default_heap;

static size_t min_region(void) { return TLSF_REGION_OVERHEAD + TLSF_MIN_PAYLOAD; }

R3_API size_t r3_rt_min_size(void) { return RT_CACHE_LINE + RT_HEAP_SPAN + min_region(); }

r3_rt_heap *rt_heap_resolve(r3_rt_heap *heap)
{
    if (!heap)
        heap = r3_load_acquire(&default_heap);
    if (!heap || heap->magic != RT_HEAP_MAGIC) {
        errno = EINVAL;
        return NULL;
    }
    return heap;
}

bool rt_lock(r3_rt_heap *h)
{
    rt_work_add_lock();
    if (r3_trylock(&h->lock))
        return true;
    if (h->flags & R3_RT_NONBLOCKING) {
        r3_fetch_add(&h->busy_answers, 1);
        errno = EBUSY;
        return false;
    }
    rt_work_add_lock();
    r3_lock(&h->lock);
    return true;
}

void rt_lock_wait(r3_rt_heap *h) { r3_lock(&h->lock); }

void rt_unlock(r3_rt_heap *h)
{
#if R3_DEBUG
    int err = tlsf_check(&h->tlsf);
    if (err)
        r3_fatal("r3_rt heap corrupted, tlsf_check failed for heap", h);
#endif
    r3_unlock(&h->lock);
}

void rt_reject(r3_rt_heap *h, const char *what, const void *p)
{
    if (h->flags & R3_RT_ABORT_ON_MISUSE)
        r3_fatal(what, p);
    h->stats.rejected++;
    errno = EINVAL;
}

/* Builds a heap in [mem, mem + size); mapping is what to unmap at destroy. */
static r3_rt_heap *heap_build(void *mem, size_t size, unsigned flags, void *mapping, size_t mapping_size)
{
    uintptr_t start = ((uintptr_t)mem + RT_CACHE_LINE - 1) & ~(uintptr_t)(RT_CACHE_LINE - 1);
    size_t lost = start - (uintptr_t)mem;
    if (size < lost + RT_HEAP_SPAN + min_region()) {
        errno = EINVAL;
        return NULL;
    }
    r3_rt_heap *h = (r3_rt_heap *)start;
    memset(h, 0, sizeof *h);
    tlsf_init(&h->tlsf);
    h->region = (char *)h + RT_HEAP_SPAN;
    h->region_size = (size - lost - RT_HEAP_SPAN) & ~(TLSF_ALIGN - 1);
    if (!tlsf_add_region(&h->tlsf, h->region, h->region_size)) {
        errno = EINVAL;     /* larger than TLSF's largest block */
        return NULL;
    }
    h->lock = (r3_lock_t)R3_LOCK_INIT;
    h->flags = flags;
    h->mapping = mapping;
    h->mapping_size = mapping_size;
    h->stats.capacity = TLSF_REGION_CAPACITY(h->region_size);
    h->stats.bytes_free = h->tlsf.bytes_free;
    h->magic = RT_HEAP_MAGIC;
    return h;
}

/* Pre-faults and locks [mem, mem + size) as flags ask; false with errno. */
static bool make_resident(void *mem, size_t size, unsigned flags)
{
    if (R3_REALTIME || (flags & (R3_RT_PREFAULT | R3_RT_MLOCK)))
        r3_os_prefault(mem, size);
    return !(flags & R3_RT_MLOCK) || r3_os_mlock(mem, size);
}

R3_API r3_rt_heap *r3_rt_init_flags(void *mem, size_t size, unsigned flags)
{
    if (!mem || (flags & ~RT_KNOWN_FLAGS)) {
        errno = EINVAL;
        return NULL;
    }
    if (size >= r3_rt_min_size() && (flags & (R3_RT_PREFAULT | R3_RT_MLOCK))
        && !make_resident(mem, size, flags))
        return NULL;
    return heap_build(mem, size, flags, NULL, 0);
}

R3_API r3_rt_heap *r3_rt_init(void *mem, size_t size) { return r3_rt_init_flags(mem, size, 0); }

R3_API r3_rt_heap *r3_rt_create(size_t capacity, unsigned flags)
{
    if (!capacity || (flags & ~RT_KNOWN_FLAGS)) {
        errno = EINVAL;
        return NULL;
    }
    if (capacity < TLSF_MIN_PAYLOAD)
        capacity = TLSF_MIN_PAYLOAD;
    size_t need = RT_HEAP_SPAN + TLSF_REGION_OVERHEAD + capacity;
    size_t size = (need + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1);
    if (need < capacity || size < need) {
        errno = ENOMEM;
        return NULL;
    }
    void *mem = r3_os_map(size, R3_OS_PAGE);
    if (!mem)
        return NULL;
    r3_os_name(mem, size, "r3rt");
    if (!make_resident(mem, size, flags)) {
        int err = errno;
        r3_os_unmap(mem, size);
        errno = err;
        return NULL;
    }
    r3_rt_heap *h = heap_build(mem, size, flags, mem, size);
    if (!h) {
        int err = errno;
        r3_os_unmap(mem, size);
        errno = err == EINVAL ? ENOMEM : err;
    }
    return h;
}

R3_API int r3_rt_destroy(r3_rt_heap *heap)
{
    if (!heap || heap->magic != RT_HEAP_MAGIC)
        return -EINVAL;
    r3_rt_heap *expected = heap;
    r3_cas(&default_heap, &expected, NULL);
    heap->magic = 0;
    if (heap->mapping)
        r3_os_unmap(heap->mapping, heap->mapping_size);
    return 0;
}

R3_API int r3_rt_set_default(r3_rt_heap *heap)
{
    if (heap && heap->magic != RT_HEAP_MAGIC)
        return -EINVAL;
    r3_store_release(&default_heap, heap);
    return 0;
}

R3_API r3_rt_heap *r3_rt_default(void) { return r3_load_acquire(&default_heap); }

R3_API int r3_rt_get_stats(r3_rt_heap *heap, r3_rt_stats *out)
{
    r3_rt_heap *h = rt_heap_resolve(heap);
    if (!h || !out)
        return -EINVAL;
    rt_lock_wait(h);
    *out = h->stats;
    rt_unlock(h);
    out->busy = r3_load_relaxed(&h->busy_answers);
    return 0;
}

static void count_block(void *start, size_t size, void *arg)
{
    (void)start;
    (void)size;
    ++*(size_t *)arg;
}

R3_API int r3_rt_check(r3_rt_heap *heap)
{
    r3_rt_heap *h = rt_heap_resolve(heap);
    if (!h)
        return -EINVAL;
    rt_lock_wait(h);
    int err = tlsf_check(&h->tlsf);
    size_t free_blocks = 0;
    const r3_rt_stats *s = &h->stats;
    if (!err) {
        tlsf_walk_free(&h->tlsf, count_block, &free_blocks);
        /* Every block but the first costs a header out of the capacity. */
        size_t blocks = s->blocks_used + free_blocks;
        if (s->bytes_free != h->tlsf.bytes_free)
            err = -100;
        else if (s->bytes_used + s->bytes_free + (blocks - 1) * TLSF_HEADER != s->capacity)
            err = -101;
        else if (s->allocs - s->frees != s->blocks_used)
            err = -102;
    }
    rt_unlock(h);
    if (err)
        fprintf(stderr, "r3_rt_check: heap %p violates invariant %d (see tlsf.c and rt_heap.c)\n",
                (void *)h, err);
    return err;
}

R3_API int r3_rt_last_work(r3_rt_work *out)
{
#if R3_WORK_COUNTERS
    if (!out)
        return -EINVAL;
    *out = rt_work;
    return 0;
#else
    (void)out;
    return -ENOTSUP;
#endif
}
