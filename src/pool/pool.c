/* The public pool API: argument checks, the parent/child tree, cleanups,
 * and dispatch to the fixed-block (fixed.c) or region (region.c) kind. */
#include "fast_path.h"
#include "core/os.h"
#include <errno.h>
#include <string.h>

bool pool_unusable(r3_pool_t *pool)
{
    if (R3_DEBUG && pool && pool->fast.magic == POOL_MAGIC_DEAD)
        r3_fatal("use of destroyed pool", pool);
    errno = EINVAL;
    return false;
}

void pool_report(const char *what, const void *p)
{
    if (R3_DEBUG)
        r3_fatal(what, p);
    errno = EINVAL;
}

int pool_resolve_node(const r3_pool_options *o)
{
    const r3_pool_topology *topo = pool_topology();
    int node = o->node;
    if (o->cpu != R3_POOL_ANY) {
        if (o->cpu < 0 || o->cpu >= topo->cpu_count)
            goto invalid;
        int cpu_node = topo->node_of_cpu(o->cpu);
        if (node != R3_POOL_ANY && node != cpu_node)
            goto invalid;
        node = cpu_node;
    }
    if (node != R3_POOL_ANY && (node < 0 || node >= topo->node_count))
        goto invalid;
    return node;
invalid:
    errno = EINVAL;
    return -2;
}

void pool_init_common(r3_pool_t *pool, const r3_pool_options *o, int node)
{
    pool->fast.magic = POOL_MAGIC_LIVE;
    pool->kind = (uint8_t)o->kind;
    pool->thread_safe = o->thread_safe != 0;
    pool->node = (int16_t)node;
    pool->lock = (r3_lock_t)R3_LOCK_INIT;
}

static void link_child(r3_pool_t *parent, r3_pool_t *child)
{
    pool_lock(parent);
    child->parent = parent;
    child->next_sibling = parent->first_child;
    if (parent->first_child)
        parent->first_child->prev_sibling = child;
    parent->first_child = child;
    pool_unlock(parent);
}

static void unlink_child(r3_pool_t *child)
{
    r3_pool_t *parent = child->parent;
    if (!parent)
        return;
    pool_lock(parent);
    if (child->prev_sibling)
        child->prev_sibling->next_sibling = child->next_sibling;
    else
        parent->first_child = child->next_sibling;
    if (child->next_sibling)
        child->next_sibling->prev_sibling = child->prev_sibling;
    pool_unlock(parent);
}

/* Children go first (each unlinks itself), then the cleanups, newest first.
 * A cleanup is taken off the list before it runs, so one that registers
 * another cleanup or kills one sees a consistent list. */
static void release_dependents(r3_pool_t *pool)
{
    while (pool->first_child)
        r3_pool_destroy(pool->first_child);
    for (;;) {
        pool_lock(pool);
        pool_cleanup *c = pool->cleanups;
        if (c)
            pool->cleanups = c->next;
        pool_unlock(pool);
        if (!c)
            break;
        c->fn(c->data);
    }
}

R3_API r3_pool_t *r3_pool_create_ex(const r3_pool_options *o)
{
    if (!o) {
        errno = EINVAL;
        return NULL;
    }
    if (o->parent && !pool_usable(o->parent))
        return NULL;
    int node = pool_resolve_node(o);
    if (node < -1)
        return NULL;
    r3_pool_t *pool;
    if (o->kind == R3_POOL_FIXED)
        pool = fixed_create(o, node, NULL);
    else if (o->kind == R3_POOL_REGION)
        pool = region_create(o, node);
    else {
        errno = EINVAL;
        return NULL;
    }
    if (pool && o->parent)
        link_child(o->parent, pool);
    return pool;
}

R3_API r3_pool_t *r3_pool_create(size_t block_size, size_t block_count)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = block_size;
    o.block_count = block_count;
    return r3_pool_create_ex(&o);
}

R3_API r3_pool_t *r3_pool_create_region(r3_pool_t *parent)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.kind = R3_POOL_REGION;
    o.parent = parent;
    return r3_pool_create_ex(&o);
}

/* Every case of r3_palloc: checks, locks, refills, errors. */
static R3_NOINLINE void *palloc_general(r3_pool_t *pool, size_t n)
{
    if (!pool_usable(pool))
        return NULL;
    if (pool->kind == R3_POOL_REGION)
        return region_alloc(pool, n);
    return fixed_alloc(pool, n);
}

/* The fast paths of unsynchronised pools, with no call and no stack frame:
 * a fixed pool's free-stack pop or a region bump (the inline path of
 * r3pool.h, for callers that did not inline it). Anything else is a tail
 * call. */
R3_API void *r3_palloc(r3_pool_t *pool, size_t n)
{
    void *b = r3_pool_fast_alloc(pool, n);
    if (R3_LIKELY(b != NULL))
        return b;
    return palloc_general(pool, n);
}

R3_API void *r3_pcalloc(r3_pool_t *pool, size_t n)
{
    void *p = r3_palloc(pool, n);
    if (p)
        memset(p, 0, n);
    return p;
}

/* Every case of r3_pfree: checks, locks, the registry, errors. */
static R3_NOINLINE int pfree_general(r3_pool_t *pool, void *p)
{
    if (!pool_usable(pool))
        return -EINVAL;
    if (pool->kind == R3_POOL_REGION) {
        errno = ENOTSUP;
        return -ENOTSUP;
    }
    if (!p)
        return 0;
    return fixed_free(pool, p);
}

/* The fast path of an unsynchronised fixed pool (the inline path of
 * r3pool.h): a handed-out block of its first slab, not tagged free.
 * Anything else is a tail call to the general path, which also makes the
 * reports. */
R3_API int r3_pfree(r3_pool_t *pool, void *p)
{
    if (R3_LIKELY(r3_pool_fast_free(pool, p)))
        return 0;
    return pfree_general(pool, p);
}

/* Sub-pools of a per-CPU set belong to the set: only the set clears or
 * destroys them. */
static bool owned_by_set(r3_pool_t *pool)
{
    if (pool->kind == R3_POOL_FIXED && pool->u.fixed.set) {
        errno = EINVAL;
        return true;
    }
    return false;
}

R3_API void r3_pool_clear(r3_pool_t *pool)
{
    if (!pool || !pool_usable(pool) || owned_by_set(pool))
        return;
    pool_clear_any(pool);
}

void pool_clear_any(r3_pool_t *pool)
{
    release_dependents(pool);
    if (pool->kind == R3_POOL_REGION)
        region_reset(pool);
    else
        fixed_reset(pool);
}

/* Also used by the per-CPU set for its sub-pools. */
void pool_destroy_any(r3_pool_t *pool)
{
    release_dependents(pool);
    unlink_child(pool);
    if (pool->kind == R3_POOL_REGION)
        region_release(pool);
    else
        fixed_release(pool);
    /* No inline path of r3pool.h reaches a destroyed pool. */
    pool->fast.alloc_limit = 0;
    pool->fast.first_handed = 0;
    pool->fast.bump.cursor = pool->fast.bump.limit = NULL;
    pool_descriptor_free(pool);
}

R3_API void r3_pool_destroy(r3_pool_t *pool)
{
    if (!pool || !pool_usable(pool) || owned_by_set(pool))
        return;
    pool_destroy_any(pool);
}

/* Cleanup records live in pool memory: a region pool's own chunks, or the
 * region pool that a fixed pool keeps for its bookkeeping. Called locked. */
static pool_cleanup *cleanup_record(r3_pool_t *pool)
{
    if (pool->kind == R3_POOL_REGION)
        return region_alloc_unlocked(pool, sizeof(pool_cleanup));
    if (!pool->u.fixed.meta) {
        r3_pool_options o = R3_POOL_OPTIONS_INIT;
        o.kind = R3_POOL_REGION;
        pool->u.fixed.meta = region_create(&o, -1);
        if (!pool->u.fixed.meta)
            return NULL;
    }
    return region_alloc_unlocked(pool->u.fixed.meta, sizeof(pool_cleanup));
}

R3_API int r3_pool_cleanup_register(r3_pool_t *pool, void *data, void (*fn)(void *))
{
    if (!pool_usable(pool))
        return -EINVAL;
    if (!fn) {
        errno = EINVAL;
        return -EINVAL;
    }
    pool_lock(pool);
    pool_cleanup *c = cleanup_record(pool);
    if (c) {
        c->data = data;
        c->fn = fn;
        c->next = pool->cleanups;
        pool->cleanups = c;
    }
    pool_unlock(pool);
    if (!c) {
        errno = ENOMEM;
        return -ENOMEM;
    }
    return 0;
}

R3_API int r3_pool_cleanup_kill(r3_pool_t *pool, void *data, void (*fn)(void *))
{
    if (!pool_usable(pool))
        return -EINVAL;
    int rc = -ENOENT;
    pool_lock(pool);
    for (pool_cleanup **link = &pool->cleanups; *link; link = &(*link)->next) {
        if ((*link)->data == data && (*link)->fn == fn) {
            *link = (*link)->next;
            rc = 0;
            break;
        }
    }
    pool_unlock(pool);
    if (rc)
        errno = -rc;
    return rc;
}

R3_API int r3_pool_stats_get(r3_pool_t *pool, r3_pool_stats *out)
{
    if (!pool_usable(pool))
        return -EINVAL;
    if (!out) {
        errno = EINVAL;
        return -EINVAL;
    }
    memset(out, 0, sizeof *out);
    out->kind = (r3_pool_kind)pool->kind;
    out->node = pool->node;
    pool_lock(pool);
    out->lock_waits = pool->lock_waits;
    if (pool->kind == R3_POOL_REGION)
        region_stats(pool, out);
    else
        fixed_stats(pool, out);
    for (r3_pool_t *c = pool->first_child; c; c = c->next_sibling)
        out->children++;
    pool_unlock(pool);
    return 0;
}

R3_API int r3_pool_check(r3_pool_t *pool)
{
    if (!pool_usable(pool))
        return -EINVAL;
    pool_lock(pool);
    int rc = pool->kind == R3_POOL_REGION ? region_check(pool) : fixed_check(pool);
    for (r3_pool_t *c = pool->first_child; c && rc == 0; c = c->next_sibling)
        if (c->parent != pool || c->fast.magic != POOL_MAGIC_LIVE) {
            r3_os_print("r3pool: child pool with a wrong parent link\n");
            rc = -1;
        }
    pool_unlock(pool);
    return rc;
}
