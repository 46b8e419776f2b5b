/* The background purger: a thread that gives decayed memory back to the OS
 * while the program stays on the fast paths (which never look at the clock).
 *
 * It exists only while memory waits: the first release of memory into a
 * waiting list starts it (never under an allocator lock: pthread_create
 * allocates), it wakes every quarter of the decay delay, and it ends after
 * two rounds with nothing left waiting. It never allocates from a heap and
 * holds each allocator lock only for the purge itself. R3MALLOC_BACKGROUND=0
 * turns it off; memory then decays on allocator activity only. A fork child
 * has no purger until it releases memory itself.
 */
#include "internal.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

#if R3_MT
static r3_atomic(int) purger_running;

static void purge_round(void)
{
    segment_collect(false);
    huge_collect(false);
    abandoned_collect();
    arena_collect_decayed();
    page_claims_round();
}

static void *purger_main(void *arg)
{
    (void)arg;
    int idle = 0;
    while (idle < 2) {
        uint64_t ms = r3_options.decay_ms / 4 + 1;
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        purge_round();
        idle = r3_load_relaxed(&r3_waiting_bytes) ? 0 : idle + 1;
    }
    r3_store_release(&purger_running, 0);
    return NULL;
}

void r3_purger_wake(void)
{
    if (!r3_options.background || r3_options.decay_ms == 0 || r3_load_relaxed(&purger_running))
        return;
    int expected = 0;
    if (!r3_cas(&purger_running, &expected, 1))
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    /* The purger must never run the program's signal handlers. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    if (pthread_create(&thread, &attr, purger_main, NULL) != 0)
        r3_store_relaxed(&purger_running, 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

void r3_purger_fork_child(void)
{
    r3_store_relaxed(&purger_running, 0);
}
#else
void r3_purger_wake(void) {}
void r3_purger_fork_child(void) {}
#endif
