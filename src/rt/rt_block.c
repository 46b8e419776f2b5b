/* Validation of a pointer handed to r3_rt_free / r3_rt_realloc /
 * r3_rt_usable_size, in O(1), without extra memory per block.
 *
 * TLSF's used bit alone is not enough: when a block is freed and merged
 * into its free predecessor, its old header stays behind, stale but still
 * marked used, inside the merged block. What a stale or forged header cannot
 * fake is the physical chain: the block after a live block records it as
 * its predecessor (tlsf.c invariant I3) with PREV_FREE clear (I4), and the
 * block before it ends exactly at it. tlsf_block_is_valid checks the header
 * and the successor's back link without reading outside the region;
 * tlsf_check_block then checks both neighbours' links and flags. A double
 * free (merged or not), an interior pointer or a pointer into another heap
 * fails one of these checks.
 */
#include "rt_heap.h"

bool rt_block_is_live(const r3_rt_heap *h, const void *p)
{
    return tlsf_block_is_valid(p, h->region, h->region + h->region_size)
        && tlsf_block_is_used(p)
        && tlsf_check_block(p) == 0;
}
