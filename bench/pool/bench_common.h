/* Shared by the pool benchmarks: a clock, a deterministic size sequence,
 * and a sink that keeps the compiler from dropping the work. */
#ifndef R3_POOL_BENCH_COMMON_H
#define R3_POOL_BENCH_COMMON_H
#include "bench.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SKIP_CODE 77

static volatile uint64_t bench_sink;

static inline uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time, for the multi-threaded runs. */
static inline uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* CPU time of the process, for single-threaded runs: on a shared machine
 * it leaves out the time the benchmark waited for a CPU. */
static inline uint64_t cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

/* Sizes in [lo, hi], multiples of 8, from a fixed linear congruential
 * sequence: every allocator sees exactly the same requests. */
static inline void fill_sizes(size_t *sizes, size_t count, size_t lo, size_t hi)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < count; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        sizes[i] = (lo + (size_t)(x >> 33) % (hi - lo + 1)) & ~(size_t)7;
        if (sizes[i] < lo)
            sizes[i] = lo;
    }
}

/* The one output line: the figure, then the peak RSS. */
static inline void report(double value, double cpu_ns_per_op)
{
    printf("value=%.3f cpu_ns=%.3f peak_rss_kib=%ld\n", value, cpu_ns_per_op, bench_peak_rss_kib());
}

static inline long arg_long(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "bad number: %s\n", s);
        exit(2);
    }
    return v;
}

#endif
