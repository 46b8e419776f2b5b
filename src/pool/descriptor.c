/* Pool descriptors: fixed-size (POOL_DESCRIPTOR_SIZE), 64-byte aligned records carved from
 * mapped batches and recycled through a free list. They do not live inside
 * the pool's own memory, so that a destroyed pool's descriptor can still be
 * read: its magic says "destroyed". In the debug build descriptors are
 * never reused, so every later use of a destroyed pool is caught. */
#include "pool_internal.h"
#include "core/os.h"
#include <string.h>

#define BATCH_BYTES ((size_t)64 << 10)

/* A recycled descriptor: the magic (DEAD) stays in place, the link follows. */
typedef struct free_descriptor {
    uint64_t magic;
    struct free_descriptor *next;
} free_descriptor;

static r3_lock_t descriptor_lock = R3_LOCK_INIT;
static free_descriptor *descriptor_free;
static char *batch_cursor, *batch_end;

void *pool_descriptor_alloc(void)
{
    void *d = NULL;
    r3_lock(&descriptor_lock);
    if (descriptor_free) {
        d = descriptor_free;
        descriptor_free = descriptor_free->next;
    } else {
        if ((size_t)(batch_end - batch_cursor) < POOL_DESCRIPTOR_SIZE) {
            char *batch = r3_os_map(BATCH_BYTES, R3_OS_PAGE);
            if (batch) {
                batch_cursor = batch;
                batch_end = batch + BATCH_BYTES;
            }
        }
        if ((size_t)(batch_end - batch_cursor) >= POOL_DESCRIPTOR_SIZE) {
            d = batch_cursor;
            batch_cursor += POOL_DESCRIPTOR_SIZE;
        }
    }
    r3_unlock(&descriptor_lock);
    if (d)
        memset(d, 0, POOL_DESCRIPTOR_SIZE);
    return d;
}

void pool_descriptor_free(void *d)
{
    free_descriptor *f = d;
    f->magic = POOL_MAGIC_DEAD;
    if (R3_DEBUG)
        return;
    r3_lock(&descriptor_lock);
    f->next = descriptor_free;
    descriptor_free = f;
    r3_unlock(&descriptor_lock);
}
