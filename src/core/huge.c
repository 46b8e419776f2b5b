/* Huge sizes: one mapping per block.
 *
 * The mapping starts on a 4 MiB boundary with a header, and the block
 * follows within the same 4 MiB, so the segment map entry of the block's
 * address leads to the header. A block aligned to 4 MiB or more cannot share
 * its 4 MiB with the header: its header sits one OS page below it and its map
 * entry says KIND_HUGE_HIGH.
 *
 * realloc uses mremap: in place when the address space after the mapping is
 * free, else the kernel moves the pages (no copy) to a new aligned place.
 */
#include "internal.h"
#include <errno.h>
#include <stdint.h>

#define HUGE_MAGIC 0x7233687567656863ull   /* "r3hugehc" */

typedef struct huge_header {
    uint64_t magic;
    void *block;
    size_t usable;
    size_t map_size;
    size_t offset;         /* block - mapping start */
} huge_header_t;

static r3_atomic(size_t) huge_bytes, huge_blocks;

static huge_header_t *header_of(const void *p, enum segment_kind kind)
{
    uintptr_t slot = (uintptr_t)p & ~(uintptr_t)SEGMENT_MASK;
    if (kind == KIND_HUGE_HIGH)
        slot -= R3_OS_PAGE;
    return (huge_header_t *)slot;
}

static size_t round_page(size_t n) { return (n + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1); }

void *huge_alloc(size_t size, size_t align, bool zero)
{
    (void)zero;                     /* fresh mappings are zero already */
    if (align < 16)
        align = 16;
    size_t offset = align < SEGMENT_SIZE ? (align > 64 ? align : 64) : align;
    if (size > PTRDIFF_MAX - offset - SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t map_size = round_page(offset + size);
    size_t map_align = align < SEGMENT_SIZE ? SEGMENT_SIZE : align;
    uint8_t *map = r3_os_map(map_size, map_align);
    if (!map)
        return NULL;
    uint8_t *block = map + offset;
    enum segment_kind kind = align < SEGMENT_SIZE ? KIND_HUGE : KIND_HUGE_HIGH;
    huge_header_t *h = header_of(block, kind);
    h->magic = HUGE_MAGIC;
    h->block = block;
    h->usable = map_size - offset;
    h->map_size = map_size;
    h->offset = offset;
    segment_set_kind(block, 1, kind);
    r3_fetch_add(&huge_bytes, map_size);
    r3_fetch_add(&huge_blocks, 1);
    STAT_INC(malloc_huge);
    return block;
}

static huge_header_t *huge_validate(const void *p, enum segment_kind kind)
{
    huge_header_t *h = header_of(p, kind);
    if (R3_UNLIKELY(h->magic != HUGE_MAGIC || h->block != p))
        r3_fatal("free of a pointer that is not a block:", p);
    return h;
}

void huge_free(void *p, enum segment_kind kind)
{
    huge_header_t *h = huge_validate(p, kind);
    size_t map_size = h->map_size;
    uint8_t *map = (uint8_t *)p - h->offset;
    h->magic = 0;
    segment_set_kind(p, 1, KIND_NONE);
    r3_fetch_sub(&huge_bytes, map_size);
    r3_fetch_sub(&huge_blocks, 1);
    STAT_INC(free_huge);
    r3_os_unmap(map, map_size);
}

/* Resizes a huge block that stays huge; NULL (block intact) on failure. */
void *huge_realloc(void *p, enum segment_kind kind, size_t size)
{
    huge_header_t *h = huge_validate(p, kind);
    if (kind == KIND_HUGE_HIGH)
        return NULL;                 /* the caller copies */
    size_t offset = h->offset;
    if (size > PTRDIFF_MAX - offset - SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old_map = h->map_size, new_map = round_page(offset + size);
    if (new_map == old_map)
        return p;
    uint8_t *map = (uint8_t *)p - offset;
    uint8_t *moved = r3_os_remap(map, old_map, new_map, SEGMENT_SIZE);
    if (!moved)
        return NULL;
    uint8_t *block = moved + offset;
    if (moved != map) {
        segment_set_kind(p, 1, KIND_NONE);
        segment_set_kind(block, 1, KIND_HUGE);
    }
    h = header_of(block, KIND_HUGE);
    h->block = block;
    h->usable = new_map - offset;
    h->map_size = new_map;
    r3_fetch_add(&huge_bytes, new_map - old_map);   /* wraps correctly on shrink */
    return block;
}

size_t huge_usable_size(const void *p, enum segment_kind kind)
{
    return huge_validate(p, kind)->usable;
}

void huge_stats(size_t *bytes, size_t *blocks)
{
    *bytes = r3_load_relaxed(&huge_bytes);
    *blocks = r3_load_relaxed(&huge_blocks);
}
