/* Region pools: bump allocation in chained chunks (the APR model).
 *
 * Invariants: cursor <= limit; when current != NULL, [cursor, limit) lies
 * in current, and current is on the chunks list; every chunk the pool holds
 * is on exactly one of chunks (in use since the last clear) or spare (kept
 * by a clear, reused oldest first); bytes_reserved is the sum of their
 * sizes and never exceeds capacity when capacity != 0. */
#include "pool_internal.h"
#include "core/os.h"
#include <errno.h>

#define MAX_CHUNK ((size_t)4 << 20)   /* geometric growth stops here */
#define BIG_REQUEST (POOL_CHUNK_SIZE / 4)

static size_t page_round(size_t n)
{
    return (n + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1);
}

static size_t chunk_capacity(const region_chunk *c)
{
    return c->size - sizeof(region_chunk);
}

r3_pool_t *region_create(const r3_pool_options *o, int node)
{
    size_t first = POOL_CHUNK_SIZE;
    if (o->block_size) {
        if (o->block_size > MAX_CHUNK) {
            errno = EINVAL;
            return NULL;
        }
        first = page_round(o->block_size);
    }
    r3_pool_t *pool = pool_descriptor_alloc();
    if (!pool) {
        errno = ENOMEM;
        return NULL;
    }
    pool_init_common(pool, o, node);
    pool->u.region.next_chunk_size = first;
    pool->u.region.capacity = o->capacity;
    return pool;
}

/* Takes the oldest spare chunk if it can hold need bytes. */
static region_chunk *take_spare(r3_pool_t *pool, size_t need)
{
    region_chunk *c = pool->u.region.spare;
    if (!c || chunk_capacity(c) < need)
        return NULL;
    pool->u.region.spare = c->next;
    return c;
}

/* Maps a new chunk of at least need payload bytes; want is the size the
 * growth policy suggests. Honours the capacity limit. */
static region_chunk *map_chunk(r3_pool_t *pool, size_t need, size_t want)
{
    size_t size = page_round(need + sizeof(region_chunk));
    if (size < need) {
        errno = ENOMEM;
        return NULL;
    }
    if (want > size)
        size = want;
    size_t cap = pool->u.region.capacity, reserved = pool->u.region.bytes_reserved;
    if (cap && size > cap - reserved) {
        size_t room = cap > reserved ? (cap - reserved) & ~(R3_OS_PAGE - 1) : 0;
        if (room < need + sizeof(region_chunk)) {
            errno = ENOMEM;
            return NULL;
        }
        size = room;
    }
    region_chunk *c = pool_chunk_map(size, pool->node);
    if (!c)
        return NULL;
    c->size = size;
    c->bump_start = (char *)(c + 1);
    pool->u.region.bytes_reserved += size;
    return c;
}

static void push_in_use(r3_pool_t *pool, region_chunk *c)
{
    c->next = pool->u.region.chunks;
    pool->u.region.chunks = c;
}

void *region_alloc_slow(r3_pool_t *pool, size_t n, size_t size)
{
    if (size == 0) {
        /* Either n == 0 (hand out a distinct 16-byte block) or the rounding
         * overflowed. */
        if (n) {
            errno = ENOMEM;
            return NULL;
        }
        size = POOL_ALIGN;
        void *p = r3_pool_bump_take(region_bump(pool), size);
        if (p)
            return p;
    }
    if (size > BIG_REQUEST) {
        /* A dedicated chunk: the current one keeps its free room. */
        region_chunk *c = take_spare(pool, size);
        if (!c)
            c = map_chunk(pool, size, 0);
        if (!c)
            return NULL;
        c->used = size;
        push_in_use(pool, c);
        return c->bump_start;
    }
    region_chunk *c = take_spare(pool, size);
    if (!c) {
        size_t want = pool->u.region.next_chunk_size;
        c = map_chunk(pool, size, want);
        if (!c)
            return NULL;
        if (want < MAX_CHUNK)
            pool->u.region.next_chunk_size = want * 2;
    }
    region_chunk *old = pool->u.region.current;
    struct r3_pool_bump *bump = region_bump(pool);
    if (old)
        old->used = (size_t)(bump->cursor - old->bump_start);
    push_in_use(pool, c);
    pool->u.region.current = c;
    bump->cursor = c->bump_start + size;
    bump->limit = (char *)c + c->size;
    return c->bump_start;
}

void region_reset(r3_pool_t *pool)
{
    /* chunks is newest first; reversing it onto spare puts the oldest (the
     * first chunk) at the head, so refilling walks the same memory again. */
    region_chunk *spare = pool->u.region.spare, *c = pool->u.region.chunks;
    region_chunk *reversed = NULL;
    while (c) {
        region_chunk *next = c->next;
        c->next = reversed;
        reversed = c;
        c = next;
    }
    if (reversed) {
        region_chunk *tail = reversed;
        while (tail->next)
            tail = tail->next;
        tail->next = spare;
        spare = reversed;
    }
    pool->u.region.spare = spare;
    pool->u.region.chunks = NULL;
    pool->u.region.current = NULL;
    region_bump(pool)->cursor = region_bump(pool)->limit = NULL;
}

static void unmap_list(region_chunk *c, int node)
{
    while (c) {
        region_chunk *next = c->next;
        pool_chunk_unmap(c, c->size, node);
        c = next;
    }
}

void region_release(r3_pool_t *pool)
{
    unmap_list(pool->u.region.chunks, pool->node);
    unmap_list(pool->u.region.spare, pool->node);
}

void region_stats(r3_pool_t *pool, r3_pool_stats *out)
{
    out->bytes_reserved = pool->u.region.bytes_reserved;
    for (region_chunk *c = pool->u.region.chunks; c; c = c->next) {
        out->blocks_in_use++;
        out->blocks_total++;
        out->bytes_in_use += c == pool->u.region.current
                                 ? (size_t)(region_bump(pool)->cursor - c->bump_start)
                                 : c->used;
    }
    for (region_chunk *c = pool->u.region.spare; c; c = c->next)
        out->blocks_total++;
}

static int broken(const char *what)
{
    r3_os_print("r3pool: region pool: ");
    r3_os_print(what);
    r3_os_print("\n");
    return -1;
}

int region_check(r3_pool_t *pool)
{
    char *cursor = region_bump(pool)->cursor, *limit = region_bump(pool)->limit;
    region_chunk *current = pool->u.region.current;
    if (cursor > limit)
        return broken("cursor past limit");
    if (current && (cursor < current->bump_start || limit != (char *)current + current->size))
        return broken("bump range outside the current chunk");
    bool current_seen = current == NULL;
    size_t total = 0;
    for (region_chunk *c = pool->u.region.chunks; c; c = c->next) {
        current_seen |= c == current;
        if (c->bump_start != (char *)(c + 1) || c->size < sizeof *c)
            return broken("corrupt chunk header");
        if (c != current && c->used > chunk_capacity(c))
            return broken("chunk fill beyond its size");
        total += c->size;
    }
    for (region_chunk *c = pool->u.region.spare; c; c = c->next)
        total += c->size;
    if (!current_seen)
        return broken("current chunk not on the chunk list");
    if (total != pool->u.region.bytes_reserved)
        return broken("chunk sizes do not add up to bytes_reserved");
    if (pool->u.region.capacity && total > pool->u.region.capacity)
        return broken("more bytes than the capacity");
    return 0;
}
