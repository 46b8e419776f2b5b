/* The caller's CPU, read cheaply: glibc (2.35+) registers an rseq area for
 * every thread, and the kernel keeps its cpu_id current on every return to
 * user space, so reading it is one load from the thread pointer. When rseq
 * is not registered (old kernel, tunable off, valgrind) cpu_id is negative
 * and sched_getcpu (a vDSO call) answers instead. */
#ifndef R3_POOL_TOPOLOGY_H
#define R3_POOL_TOPOLOGY_H
#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE first (sched_getcpu)"
#endif
#include <sched.h>
#include <stdint.h>
#include <sys/rseq.h>

static inline int machine_current_cpu(void)
{
    if (__rseq_size > 0) {
        const struct rseq *area =
            (const struct rseq *)((const char *)__builtin_thread_pointer() + __rseq_offset);
        int cpu = (int)*(const volatile uint32_t *)&area->cpu_id;
        if (cpu >= 0)
            return cpu;
    }
    int cpu = sched_getcpu();
    return cpu >= 0 ? cpu : 0;
}

#endif
