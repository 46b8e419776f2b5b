#include "registry.h"
#include "core/os.h"
#include <errno.h>

#define FIRST_TABLE_BYTES R3_OS_PAGE

static registry_table *table_new(size_t slots)
{
    size_t bytes = sizeof(registry_table) + slots * sizeof(uintptr_t);
    bytes = (bytes + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1);
    registry_table *t = r3_os_map(bytes, R3_OS_PAGE);
    if (!t)
        return NULL;
    t->map_size = bytes;
    t->mask = slots - 1;
    return t;   /* mapped memory is zero: every slot empty */
}

static void table_put(registry_table *t, uintptr_t key)
{
    size_t i = registry_slot_of(t, key);
    while (r3_load_relaxed(&t->slots[i]) != 0)
        i = (i + 1) & t->mask;
    r3_store_release(&t->slots[i], key);
    t->used++;
}

bool registry_init(slab_registry *reg, unsigned key_shift)
{
    size_t slots = (FIRST_TABLE_BYTES - sizeof(registry_table)) / sizeof(uintptr_t);
    while (slots & (slots - 1))
        slots &= slots - 1;   /* round down to a power of two */
    registry_table *t = table_new(slots);
    if (!t)
        return false;
    reg->lock = (r3_lock_t)R3_LOCK_INIT;
    reg->key_shift = key_shift;
    r3_store_release(&reg->table, t);
    return true;
}

bool registry_insert(slab_registry *reg, uintptr_t base)
{
    uintptr_t key = base >> reg->key_shift;
    r3_lock(&reg->lock);
    registry_table *t = r3_load_relaxed(&reg->table);
    if (2 * (t->used + 1) > t->mask + 1) {
        registry_table *bigger = table_new(2 * (t->mask + 1));
        if (!bigger) {
            r3_unlock(&reg->lock);
            errno = ENOMEM;
            return false;
        }
        for (size_t i = 0; i <= t->mask; i++) {
            uintptr_t k = r3_load_relaxed(&t->slots[i]);
            if (k)
                table_put(bigger, k);
        }
        bigger->retired_next = t;
        r3_store_release(&reg->table, bigger);
        t = bigger;
    }
    table_put(t, key);
    r3_unlock(&reg->lock);
    return true;
}

void registry_destroy(slab_registry *reg)
{
    registry_table *t = r3_load_relaxed(&reg->table);
    while (t) {
        registry_table *older = t->retired_next;
        r3_os_unmap(t, t->map_size);
        t = older;
    }
    r3_store_relaxed(&reg->table, NULL);
}
