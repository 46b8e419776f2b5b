/* Per-thread heaps, initialisation, thread exit and fork.
 *
 * A thread's first small allocation finds r3_empty_heap (every page in it
 * has no free block) and so lands in the slow path, which gives the thread a
 * heap. A pthread key destructor hands the heap's pages back when the thread
 * exits. Heap structures are never unmapped, only reused, so another thread
 * may safely touch a heap pointer it read from a page a moment ago.
 *
 * Initialisation may recurse: pthread_key_create, pthread_atfork and atexit
 * may call malloc. Everything the allocation paths need works before
 * initialisation finishes (zeroed statics are valid empty structures), so a
 * recursive call simply proceeds; only the thread-exit hook is missing until
 * init is done.
 *
 * fork: the prepare handler takes no lock (taking allocator locks there can
 * deadlock against stdio's locks, see docs/design.md). Instead the child
 * repairs: every structure whose lock was held at the moment of fork is
 * assumed half-updated and is set aside (an arena is marked dead, segment
 * lists start afresh), never touched again. Its memory stays mapped, so live
 * blocks stay valid; what it held free is lost to the child.
 */
#include "internal.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

extern page_t r3_empty_page;

heap_t r3_empty_heap = {
    .direct = { [0 ... DIRECT_COUNT - 1] = &r3_empty_page },
    .current = { [0 ... CLASS_COUNT - 1] = &r3_empty_page },
};
__thread heap_t *r3_thread_heap __attribute__((tls_model("initial-exec"))) = &r3_empty_heap;

enum thread_phase { THREAD_NEW = 0, THREAD_CREATING, THREAD_RUNNING, THREAD_EXITED };
static __thread uint8_t thread_phase __attribute__((tls_model("initial-exec")));

r3_atomic(int) r3_init_state;
uintptr_t r3_secret = 0xa3c59ac2f1e8d7b5ull;   /* replaced by a random value at init */

static pthread_key_t heap_key;
static bool heap_key_ready;
static r3_lock_t init_lock;
static __thread bool initialising __attribute__((tls_model("initial-exec")));

static struct {
    r3_lock_t lock;
    heap_t *free_list;
    heap_t *chunk;            /* heaps are carved from mappings of HEAP_CHUNK */
    size_t chunk_left;
    size_t count;
    size_t live;
} heaps;

#define HEAP_CHUNK ((size_t)256 * 1024)

/* ---- heaps ------------------------------------------------------------ */

static heap_t *heap_acquire(void)
{
    r3_lock(&heaps.lock);
    heap_t *h = heaps.free_list;
    if (h) {
        heaps.free_list = h->next_free;
    } else {
        if (heaps.chunk_left == 0) {
            heaps.chunk = r3_os_map(HEAP_CHUNK, R3_OS_PAGE);
            heaps.chunk_left = heaps.chunk ? HEAP_CHUNK / sizeof(heap_t) : 0;
        }
        if (heaps.chunk_left) {
            h = heaps.chunk++;
            heaps.chunk_left--;
            heaps.count++;
        }
    }
    if (h)
        heaps.live++;
    r3_unlock(&heaps.lock);
    return h;
}

static void heap_release(heap_t *h)
{
    r3_lock(&heaps.lock);
    h->live = false;
    h->next_free = heaps.free_list;
    heaps.free_list = h;
    heaps.live--;
    r3_unlock(&heaps.lock);
}

static void heap_thread_exit(void *arg)
{
    heap_t *h = arg;
    heap_abandon_pages(h);
    r3_thread_heap = &r3_empty_heap;
    thread_phase = THREAD_EXITED;
    heap_release(h);
}

heap_t *heap_get_slow(void)
{
    r3_ensure_init();
    if (r3_thread_heap != &r3_empty_heap)
        return r3_thread_heap;
    if (thread_phase != THREAD_NEW)
        return NULL;               /* recursion while creating, or after exit */
    thread_phase = THREAD_CREATING;
    heap_t *h = heap_acquire();
    if (!h) {
        thread_phase = THREAD_NEW;
        return NULL;
    }
    memset(h, 0, sizeof *h);
    h->coarse = size_class_coarse_mask();
    for (unsigned c = 0; c < CLASS_COUNT; c++)
        heap_set_current(h, c, &r3_empty_page);
    h->live = true;
    r3_thread_heap = h;
    if (heap_key_ready)
        pthread_setspecific(heap_key, h);
    thread_phase = THREAD_RUNNING;
    return h;
}

size_t heap_count(void)
{
    return heaps.live;
}

/* ---- initialisation --------------------------------------------------------- */

static void fork_child(void)
{
    segment_fork_child();
    page_fork_child();
    arena_fork_child();
    huge_fork_child();
    r3_purger_fork_child();
    size_class_fork_child();
    if (r3_is_locked(&heaps.lock))
        heaps.free_list = NULL, heaps.chunk_left = 0;
    r3_lock_reset(&heaps.lock);
    r3_lock_reset(&init_lock);
}

/* Statistics go to a private copy of stderr taken at start: programs such
 * as coreutils close stderr before the exit handlers run. */
static int stats_fd = -1;

static void print_stats_at_exit(void)
{
    FILE *out = stats_fd >= 0 ? fdopen(stats_fd, "w") : NULL;
    r3_stats_print(out ? out : stderr);
    if (out)
        fclose(out);
}

void r3_init_slow(void)
{
    if (r3_load_acquire(&r3_init_state) == 2 || initialising)
        return;
    r3_lock(&init_lock);
    if (r3_load_relaxed(&r3_init_state) == 2) {
        r3_unlock(&init_lock);
        return;
    }
    initialising = true;
    r3_store_relaxed(&r3_init_state, 1);
    r3_options_read();
    const uint8_t *random = (const uint8_t *)getauxval(AT_RANDOM);
    if (random) {
        uintptr_t v;
        memcpy(&v, random, sizeof v);
        r3_secret = v | (1ull << 63);       /* never a user-space pointer */
    }
    if (pthread_key_create(&heap_key, heap_thread_exit) == 0)
        heap_key_ready = true;
    pthread_atfork(NULL, NULL, fork_child);
    if (r3_options.show_stats) {
        stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
        atexit(print_stats_at_exit);
    }
    initialising = false;
    r3_store_release(&r3_init_state, 2);
    r3_unlock(&init_lock);
    /* The thread that initialised may already have a heap without the key. */
    if (heap_key_ready && r3_thread_heap != &r3_empty_heap)
        pthread_setspecific(heap_key, r3_thread_heap);
}

__attribute__((constructor)) static void r3_constructor(void)
{
    r3_ensure_init();
}

/* ---- checking ------------------------------------------------------------------- */

int heap_check(void)
{
    heap_t *h = r3_thread_heap;
    if (h == &r3_empty_heap)
        return 0;
    return heap_check_pages(h);
}
