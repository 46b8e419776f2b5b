/* The set of slab addresses of a fixed pool (or of a per-CPU set): an
 * insert-only open-addressing hash set of aligned base addresses.
 *
 * It answers "is this address the start of one of our slabs?" before the
 * slab header is read, so that r3_pfree of a foreign pointer is reported
 * instead of faulting. Lookups take no lock and may run while another
 * thread inserts: a slot goes from 0 to its key once (release store), and a
 * grown table is published with a release store while the old one stays
 * mapped until the registry is destroyed, so a reader never sees freed
 * memory. Inserts are serialised by the registry lock. The load factor is
 * kept at most 1/2, so a lookup probes O(1) slots on average. */
#ifndef R3_POOL_REGISTRY_H
#define R3_POOL_REGISTRY_H
#include "core/atomic.h"
#include "core/lock.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct registry_table {
    struct registry_table *retired_next;  /* older tables, unmapped at the end */
    size_t map_size;
    size_t mask;                          /* slots - 1 */
    size_t used;
    r3_atomic(uintptr_t) slots[];
} registry_table;

typedef struct slab_registry {
    r3_lock_t lock;
    unsigned key_shift;                   /* log2 of the slab alignment */
    r3_atomic(registry_table *) table;
} slab_registry;

/* key_shift: log2 of the alignment of every base that will be inserted.
 * false/ENOMEM. */
bool registry_init(slab_registry *reg, unsigned key_shift);
/* Adds base (aligned, non-zero). false/ENOMEM when the table cannot grow. */
bool registry_insert(slab_registry *reg, uintptr_t base);

R3_INLINE size_t registry_slot_of(const registry_table *t, uintptr_t key)
{
    /* Fibonacci hashing: the high bits of key * 2^64/phi spread consecutive
     * slab numbers over the table. */
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & t->mask;
}

/* Whether base was inserted. Lock-free; O(1) expected. */
R3_INLINE bool registry_contains(slab_registry *reg, uintptr_t base)
{
    uintptr_t key = base >> reg->key_shift;
    if (key == 0)
        return false;
    registry_table *t = r3_load_acquire(&reg->table);
    for (size_t i = registry_slot_of(t, key);; i = (i + 1) & t->mask) {
        uintptr_t k = r3_load_acquire(&t->slots[i]);
        if (k == key)
            return true;
        if (k == 0)
            return false;
    }
}
/* Unmaps every table; no lookup may run at the same time. */
void registry_destroy(slab_registry *reg);

#endif
