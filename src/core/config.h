/* Compile-time variants of r3malloc. Each is a macro that CMake sets per
 * library variant (see CMakeLists.txt); the defaults are the product build.
 *
 *   R3_MT        1: thread support (atomics, locks, per-thread heaps).
 *                0: single-threaded build: no atomics, no locks.
 *   R3_DEBUG     1: run the invariant checkers after every operation.
 *   R3_STATS     1: keep allocation counters (r3_stats_print shows them).
 *   R3_SECURE    0: cheap checks only (foreign pointers, most double frees).
 *                1: also an exact allocation bitmap per small page, so every
 *                   double free is caught, and freed small blocks are poisoned.
 *   R3_REALTIME  1: the reliable and real-time heaps reserve and pre-fault
 *                   their whole capacity at init (see r3rt.h, r3rel.h).
 *   R3_WORK_COUNTERS 1: TLSF counts the work of each operation (for the
 *                   bounded-time proof).
 */
#ifndef R3_CONFIG_H
#define R3_CONFIG_H

#ifndef R3_MT
#define R3_MT 1
#endif
#ifndef R3_DEBUG
#define R3_DEBUG 0
#endif
#ifndef R3_STATS
#define R3_STATS 0
#endif
#ifndef R3_SECURE
#define R3_SECURE 0
#endif
#ifndef R3_REALTIME
#define R3_REALTIME 0
#endif
#ifndef R3_WORK_COUNTERS
#define R3_WORK_COUNTERS 0
#endif

#define R3_LIKELY(x)   __builtin_expect(!!(x), 1)
#define R3_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define R3_NOINLINE    __attribute__((noinline))
#define R3_INLINE      static inline __attribute__((always_inline))
#define R3_API         __attribute__((visibility("default")))
#define R3_COLD        __attribute__((cold, noinline))

#if R3_MT
#include <stdatomic.h>
#define r3_atomic(T) _Atomic(T)
#else
/* Single-threaded build: the same code, plain loads and stores. */
#define r3_atomic(T) T
#endif

#endif
