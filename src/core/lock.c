#include "lock.h"
#if R3_MT
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static void futex_wait(r3_atomic(int) *word, int value)
{
    syscall(SYS_futex, (int *)word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

void r3_lock_slow(r3_lock_t *l)
{
    /* A short spin first: lock hold times in the allocator are a few hundred
     * instructions, far shorter than a futex round trip. */
    for (int i = 0; i < 64; i++) {
        if (r3_load_relaxed(&l->word) == 0 && r3_trylock(l))
            return;
        __builtin_ia32_pause();
    }
    while (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) != 0)
        futex_wait(&l->word, 2);
}

void r3_unlock_wake(r3_lock_t *l)
{
    syscall(SYS_futex, (int *)&l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#endif
