/* Per-CPU pool sets: one fixed-block sub-pool per CPU of the topology.
 *
 * Why threads on different CPUs share nothing on the fast path: each
 * sub-pool descriptor is a separate 64-byte aligned record whose first
 * cache line holds its lock and free list, written only by threads running
 * on that CPU; the slabs are the sub-pool's own (bound to the CPU's node);
 * the set itself and its sub-pool table are read-only after creation. The
 * only shared writes are a free from another CPU (the block's free tag,
 * then one CAS on the owner's remote list, alone on the descriptor's last
 * cache line) and slab growth (the registry lock).
 *
 * A double free is refused by the tag whichever CPUs the two frees run
 * on; only two frees of the same block racing each other on two CPUs at
 * the same instant can both pass the check (a data race in the caller).
 *
 * Threads that share a CPU (or migrate between reading cpu_id and taking
 * the lock) still meet on that CPU's lock, which keeps them correct; the
 * lock is uncontended in the common case. */
#define _GNU_SOURCE
#include "fast_path.h"
#include "topology.h"
#include "core/os.h"
#include <errno.h>
#include <string.h>

#define SET_MAGIC_LIVE 0x7570637033523301ull

struct r3_pool_percpu {
    uint64_t magic;                 /* first, like a pool's (descriptor.c) */
    int count;
    bool machine;                   /* read the CPU inline (rseq) */
    int (*current_cpu)(void);
    uintptr_t slab_mask;
    slab_registry registry;         /* slabs of every sub-pool */
    r3_pool_t **subs;               /* [count], mapped */
    size_t subs_map_size;
};
_Static_assert(sizeof(struct r3_pool_percpu) <= POOL_DESCRIPTOR_SIZE, "set too big");

static bool set_usable(r3_pool_percpu_t *set)
{
    if (R3_LIKELY(set && set->magic == SET_MAGIC_LIVE))
        return true;
    if (R3_DEBUG && set && set->magic == POOL_MAGIC_DEAD)
        r3_fatal("use of destroyed pool set", set);
    errno = EINVAL;
    return false;
}

static r3_pool_t *sub_of_caller(r3_pool_percpu_t *set)
{
    unsigned cpu = (unsigned)(set->machine ? machine_current_cpu() : set->current_cpu());
    /* A CPU beyond the topology (hot-plugged, or a topology that counts
     * fewer) shares a sub-pool; the division is kept off the common path. */
    if (R3_UNLIKELY(cpu >= (unsigned)set->count))
        cpu %= (unsigned)set->count;
    return set->subs[cpu];
}

static void set_release(r3_pool_percpu_t *set)
{
    for (int cpu = 0; set->subs && cpu < set->count; cpu++)
        if (set->subs[cpu])
            pool_destroy_any(set->subs[cpu]);
    if (set->subs)
        r3_os_unmap(set->subs, set->subs_map_size);
    registry_destroy(&set->registry);
    pool_descriptor_free(set);
}

R3_API r3_pool_percpu_t *r3_pool_percpu_create(const r3_pool_options *opts)
{
    if (!opts || opts->kind != R3_POOL_FIXED) {
        errno = EINVAL;
        return NULL;
    }
    size_t align = fixed_slab_align(opts);
    if (align == 0)
        return NULL;
    const r3_pool_topology *topo = pool_topology();
    r3_pool_percpu_t *set = pool_descriptor_alloc();
    if (!set) {
        errno = ENOMEM;
        return NULL;
    }
    set->count = topo->cpu_count;
    set->machine = pool_topology_is_machine();
    set->current_cpu = topo->current_cpu;
    set->slab_mask = ~(uintptr_t)(align - 1);
    set->subs_map_size = ((size_t)set->count * sizeof(r3_pool_t *) + R3_OS_PAGE - 1) &
                         ~(R3_OS_PAGE - 1);
    set->subs = r3_os_map(set->subs_map_size, R3_OS_PAGE);
    if (!set->subs || !registry_init(&set->registry, (unsigned)__builtin_ctzll(align))) {
        set_release(set);
        errno = ENOMEM;
        return NULL;
    }
    for (int cpu = 0; cpu < set->count; cpu++) {
        r3_pool_options o = *opts;
        o.parent = NULL;
        o.thread_safe = 1;
        o.cpu = R3_POOL_ANY;
        int node = topo->node_of_cpu(cpu);
        r3_pool_t *sub = fixed_create(&o, node, &set->registry);
        if (!sub) {
            int err = errno;
            set_release(set);
            errno = err;
            return NULL;
        }
        sub->u.fixed.set = set;
        sub->u.fixed.set_cpu = cpu;
        /* One secret for the whole set (see free_remote). */
        if (cpu > 0)
            sub->fast.secret = set->subs[0]->fast.secret;
        set->subs[cpu] = sub;
    }
    set->magic = SET_MAGIC_LIVE;
    return set;
}

R3_API void *r3_pool_percpu_alloc(r3_pool_percpu_t *set, size_t n)
{
    if (!set_usable(set))
        return NULL;
    return fixed_alloc(sub_of_caller(set), n);
}

R3_API void *r3_pool_percpu_calloc(r3_pool_percpu_t *set, size_t n)
{
    void *p = r3_pool_percpu_alloc(set, n);
    if (p)
        memset(p, 0, n);
    return p;
}

/* A free from a CPU that does not own the block: tag it free (which also
 * refuses a second free), then push it on the owner's remote list without
 * a lock. The owner takes the whole list with one exchange when its own
 * free list runs dry, so there is no pop race (ABA) to guard against.
 * The checks read the block geometry and the secret from the caller's own
 * sub-pool (mine), which has the same ones as the owner: the owner's first
 * cache lines, which it writes on every operation, stay on its CPU; the
 * only shared line written is the owner's remote list head. */
static int free_remote(r3_pool_t *mine, r3_pool_t *owner, fixed_slab *slab, void *p)
{
    if (!fixed_tag_free(mine, slab, p))
        return -EINVAL;
    free_block *b = p, *head = r3_load_relaxed(&owner->remote_free);
    do {
        b->next = head;
    } while (!r3_cas_weak(&owner->remote_free, &head, b));
    return 0;
}

R3_API int r3_pool_percpu_free(r3_pool_percpu_t *set, void *p)
{
    if (!set_usable(set))
        return -EINVAL;
    if (!p)
        return 0;
    r3_pool_t *mine = sub_of_caller(set);
    /* The common case, a block of the first slab of the caller's CPU (set
     * at creation, never changed), needs no registry. */
    fixed_slab *slab = (fixed_slab *)((uintptr_t)p & set->slab_mask);
    if (slab != mine->u.fixed.slabs) {
        slab = fixed_slab_of(&set->registry, set->slab_mask, p);
        if (!slab) {
            pool_report("pfree of a pointer not from this pool", p);
            return -EINVAL;
        }
        if (slab->owner != mine)
            return free_remote(mine, slab->owner, slab, p);
    }
    pool_lock(mine);
    int rc = fixed_free_in_slab(mine, slab, p);
    pool_unlock(mine);
    return rc;
}

R3_API int r3_pool_percpu_cpu_of(r3_pool_percpu_t *set, const void *p)
{
    if (!set_usable(set))
        return -EINVAL;
    fixed_slab *slab = fixed_slab_of(&set->registry, set->slab_mask, p);
    if (!slab) {
        errno = EINVAL;
        return -EINVAL;
    }
    return slab->owner->u.fixed.set_cpu;
}

R3_API r3_pool_t *r3_pool_percpu_get(r3_pool_percpu_t *set, int cpu)
{
    if (!set_usable(set))
        return NULL;
    if (cpu < 0 || cpu >= set->count) {
        errno = EINVAL;
        return NULL;
    }
    return set->subs[cpu];
}

R3_API int r3_pool_percpu_count(r3_pool_percpu_t *set)
{
    return set_usable(set) ? set->count : -EINVAL;
}

R3_API int r3_pool_percpu_stats(r3_pool_percpu_t *set, r3_pool_stats *out)
{
    if (!set_usable(set) || !out) {
        errno = EINVAL;
        return -EINVAL;
    }
    memset(out, 0, sizeof *out);
    for (int cpu = 0; cpu < set->count; cpu++) {
        r3_pool_stats one;
        r3_pool_stats_get(set->subs[cpu], &one);
        out->block_size = one.block_size;
        out->blocks_in_use += one.blocks_in_use;
        out->blocks_total += one.blocks_total;
        out->bytes_in_use += one.bytes_in_use;
        out->bytes_reserved += one.bytes_reserved;
        out->children += one.children;
        out->lock_waits += one.lock_waits;
    }
    out->kind = R3_POOL_FIXED;
    out->node = -1;
    return 0;
}

R3_API void r3_pool_percpu_clear(r3_pool_percpu_t *set)
{
    if (!set || !set_usable(set))
        return;
    for (int cpu = 0; cpu < set->count; cpu++)
        pool_clear_any(set->subs[cpu]);
}

R3_API void r3_pool_percpu_destroy(r3_pool_percpu_t *set)
{
    if (!set || !set_usable(set))
        return;
    set_release(set);
}
