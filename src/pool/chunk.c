/* Memory for region chunks. Unbound chunks of the standard size are kept in
 * a small process-wide cache, so that creating and destroying short-lived
 * pools (one per request, the APR pattern) makes no system call once warm.
 * The cache is bounded (CACHE_MAX chunks), so a destroyed large pool still
 * returns almost all of its memory to the system. */
#include "pool_internal.h"
#include "core/os.h"
#include <errno.h>

#define CACHE_MAX 64

typedef struct cached_chunk { struct cached_chunk *next; } cached_chunk;

static r3_lock_t cache_lock = R3_LOCK_INIT;
static cached_chunk *cache;
static unsigned cache_count;

void *pool_chunk_map(size_t size, int node)
{
    if (size == POOL_CHUNK_SIZE && node < 0) {
        r3_lock(&cache_lock);
        cached_chunk *c = cache;
        if (c) {
            cache = c->next;
            cache_count--;
        }
        r3_unlock(&cache_lock);
        if (c)
            return c;
    }
    void *p = r3_os_map(size, R3_OS_PAGE);
    if (!p)
        return NULL;
    if (node >= 0) {
        int rc = pool_bind(p, size, node);
        if (rc < 0) {
            r3_os_unmap(p, size);
            errno = -rc;
            return NULL;
        }
    }
    return p;
}

void pool_chunk_unmap(void *p, size_t size, int node)
{
    /* Bound chunks are not cached: the next user may want another node. */
    if (size == POOL_CHUNK_SIZE && node < 0) {
        r3_lock(&cache_lock);
        if (cache_count < CACHE_MAX) {
            cached_chunk *c = p;
            c->next = cache;
            cache = c;
            cache_count++;
            p = NULL;
        }
        r3_unlock(&cache_lock);
    }
    if (p)
        r3_os_unmap(p, size);
}
