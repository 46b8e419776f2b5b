/* Validation of a pointer handed to r3_rt_free / r3_rt_realloc /
 * r3_rt_usable_size, in O(1), without extra memory per block.
 *
 * TLSF's used bit alone is not enough: when a block is freed and merged
 * into its free predecessor, its old header stays behind, stale but still
 * marked used, inside the merged block. What a stale or forged header cannot
 * fake is the physical chain: the block after a live block records the live
 * block as its predecessor (tlsf.c invariant I3) and, the live block being
 * used, has PREV_FREE clear (I4); the block before it ends exactly at it.
 * A double free of a merged block, an interior pointer, or a pointer into
 * another heap fails one of these checks.
 *
 * This reads TLSF block headers, whose layout is private to tlsf.c: the
 * first two words of struct tlsf_block, the physical predecessor and the
 * payload size with FREE (bit 0) and PREV_FREE (bit 1). The robustness
 * tests in tests/rt fail if that layout changes.
 */
#include "rt_heap.h"

struct tlsf_header_view {
    const struct tlsf_header_view *prev_phys;
    size_t size;
};

#define VIEW_FREE      ((size_t)1)
#define VIEW_PREV_FREE ((size_t)2)
#define VIEW_FLAGS     (VIEW_FREE | VIEW_PREV_FREE)

static size_t view_size(const struct tlsf_header_view *b) { return b->size & ~VIEW_FLAGS; }

bool rt_block_is_live(const r3_rt_heap *h, const void *p)
{
    /* The first block's header follows the region header; the zero-sized
     * sentinel's header ends the region. */
    uintptr_t first = (uintptr_t)h->region + sizeof(struct tlsf_region);
    uintptr_t sentinel = (uintptr_t)h->region + h->region_size - TLSF_HEADER;
    uintptr_t a = (uintptr_t)p;
    if (a < first + TLSF_HEADER || a >= sentinel + TLSF_HEADER || (a & (TLSF_ALIGN - 1)))
        return false;
    const struct tlsf_header_view *b = (const void *)(a - TLSF_HEADER);
    if (b->size & VIEW_FREE || (b->size & (TLSF_ALIGN - 1) & ~VIEW_FLAGS))
        return false;
    size_t size = view_size(b);
    if (size == 0 || size > sentinel - a)
        return false;
    const struct tlsf_header_view *next = (const void *)(a + size);
    if (next->prev_phys != b || (next->size & VIEW_PREV_FREE))
        return false;
    const struct tlsf_header_view *prev = b->prev_phys;
    if ((uintptr_t)b == first)
        return prev == NULL;
    if ((uintptr_t)prev < first || (uintptr_t)prev >= (uintptr_t)b || ((uintptr_t)prev & (TLSF_ALIGN - 1)))
        return false;
    return (uintptr_t)prev + TLSF_HEADER + view_size(prev) == (uintptr_t)b;
}
