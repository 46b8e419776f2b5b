/* A small mutex on a futex word: 0 free, 1 locked, 2 locked with waiters.
 * It never allocates, can be reset in a fork child, and offers a try-lock for
 * the arena scheme. With R3_MT=0 every operation is empty. */
#ifndef R3_LOCK_H
#define R3_LOCK_H
#include "config.h"
#include "atomic.h"
#include <stdbool.h>

typedef struct r3_lock { r3_atomic(int) word; } r3_lock_t;
#define R3_LOCK_INIT { 0 }

#if R3_MT
void r3_lock_slow(r3_lock_t *l);
void r3_unlock_wake(r3_lock_t *l);

R3_INLINE bool r3_trylock(r3_lock_t *l)
{
    int expected = 0;
    return atomic_compare_exchange_strong_explicit(&l->word, &expected, 1,
               memory_order_acquire, memory_order_relaxed);
}
R3_INLINE void r3_lock(r3_lock_t *l)
{
    if (R3_UNLIKELY(!r3_trylock(l)))
        r3_lock_slow(l);
}
R3_INLINE void r3_unlock(r3_lock_t *l)
{
    if (R3_UNLIKELY(atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2))
        r3_unlock_wake(l);
}
R3_INLINE bool r3_is_locked(r3_lock_t *l) { return r3_load_relaxed(&l->word) != 0; }
#else
R3_INLINE bool r3_trylock(r3_lock_t *l) { (void)l; return true; }
R3_INLINE void r3_lock(r3_lock_t *l) { (void)l; }
R3_INLINE void r3_unlock(r3_lock_t *l) { (void)l; }
R3_INLINE bool r3_is_locked(r3_lock_t *l) { (void)l; return false; }
#endif
/* Only for a fork child, where no other thread exists. */
R3_INLINE void r3_lock_reset(r3_lock_t *l) { r3_store_relaxed(&l->word, 0); }

#endif
