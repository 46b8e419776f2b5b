/* Atomic operations that compile to plain memory accesses when R3_MT=0. */
#ifndef R3_ATOMIC_H
#define R3_ATOMIC_H
#include "config.h"
#include <stdbool.h>

#if R3_MT
#define r3_load_relaxed(p)      atomic_load_explicit((p), memory_order_relaxed)
#define r3_load_acquire(p)      atomic_load_explicit((p), memory_order_acquire)
#define r3_store_relaxed(p, v)  atomic_store_explicit((p), (v), memory_order_relaxed)
#define r3_store_release(p, v)  atomic_store_explicit((p), (v), memory_order_release)
#define r3_exchange(p, v)       atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define r3_fetch_add(p, v)      atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define r3_fetch_sub(p, v)      atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define r3_fetch_or(p, v)       atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)
#define r3_fetch_and(p, v)      atomic_fetch_and_explicit((p), (v), memory_order_acq_rel)
#define r3_cas_weak(p, expp, v) atomic_compare_exchange_weak_explicit((p), (expp), (v), \
                                    memory_order_release, memory_order_relaxed)
#define r3_cas(p, expp, v)      atomic_compare_exchange_strong_explicit((p), (expp), (v), \
                                    memory_order_acq_rel, memory_order_acquire)
#else
#define r3_load_relaxed(p)      (*(p))
#define r3_load_acquire(p)      (*(p))
#define r3_store_relaxed(p, v)  ((void)(*(p) = (v)))
#define r3_store_release(p, v)  ((void)(*(p) = (v)))
#define r3_exchange(p, v)       r3_st_exchange_ptrsize((void *)(p), (v), sizeof(*(p)))
#define r3_fetch_add(p, v)      __extension__({ __typeof__(*(p)) r3_o_ = *(p); *(p) = r3_o_ + (v); r3_o_; })
#define r3_fetch_sub(p, v)      __extension__({ __typeof__(*(p)) r3_o_ = *(p); *(p) = r3_o_ - (v); r3_o_; })
#define r3_fetch_or(p, v)       r3_st_fetch_or_u64((unsigned long long *)(void *)(p), (v))
#define r3_fetch_and(p, v)      r3_st_fetch_and_u64((unsigned long long *)(void *)(p), (v))
#define r3_cas_weak(p, expp, v) r3_st_cas((void *)(p), (void *)(expp), (v), sizeof(*(p)))
#define r3_cas(p, expp, v)      r3_st_cas((void *)(p), (void *)(expp), (v), sizeof(*(p)))
#include <string.h>
#include <stdint.h>
static inline unsigned long long r3_st_fetch_or_u64(unsigned long long *p, unsigned long long v)
{ unsigned long long o = *p; *p = o | v; return o; }
static inline unsigned long long r3_st_fetch_and_u64(unsigned long long *p, unsigned long long v)
{ unsigned long long o = *p; *p = o & v; return o; }
#define r3_st_exchange_ptrsize(p, v, sz) __extension__({ __typeof__(v) r3_o_; \
    memcpy(&r3_o_, (p), sizeof r3_o_); __typeof__(v) r3_n_ = (v); memcpy((p), &r3_n_, sizeof r3_n_); r3_o_; })
static inline bool r3_st_cas_u(void *p, void *expp, uint64_t nv, size_t sz)
{
    uint64_t cur = 0, exp = 0;
    memcpy(&cur, p, sz); memcpy(&exp, expp, sz);
    if (cur == exp) { memcpy(p, &nv, sz); return true; }
    memcpy(expp, &cur, sz);
    return false;
}
#define r3_st_cas(p, expp, v, sz) r3_st_cas_u((p), (expp), (uint64_t)(uintptr_t)(v), (sz))
#endif

#endif
