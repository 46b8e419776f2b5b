/* Latency recording for the real-time benchmarks: a TSC read around each
 * operation, samples kept in memory mapped outside the allocator under
 * test, percentiles and quantile curves printed as CSV. */
#ifndef RT_BENCH_LATENCY_H
#define RT_BENCH_LATENCY_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A serialised TSC read: lfence keeps the operation between the reads. */
static inline uint64_t latency_ticks(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

typedef struct latency_series {
    const char *op;
    uint32_t *ticks;          /* one sample per operation, saturated */
    size_t n, cap;
} latency_series;

/* Samples live in an mmap'ed, pre-faulted array: recording never calls the
 * allocator being measured and never takes a page fault. */
void latency_series_init(latency_series *s, const char *op, size_t cap);
static inline void latency_record(latency_series *s, uint64_t start, uint64_t end)
{
    uint64_t d = end - start;
    if (s->n < s->cap)
        s->ticks[s->n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* TSC ticks per nanosecond, measured against CLOCK_MONOTONIC. */
double latency_calibrate(void);
/* The smallest cost of an empty timed region, in ticks. */
uint64_t latency_timer_overhead(void);


/* Prints the header of the CSV that latency_print writes. */
void latency_print_header(FILE *out);
/* Sorts the samples and prints one CSV row: label,op,count,p50,p99,p99.9,
 * p99.99,max (ns),failures,peak RSS (KiB),involuntary context switches
 * during the timed steps. */
void latency_print(FILE *out, const char *label, latency_series *s, double ticks_per_ns,
                   unsigned long failures, long rss_kib, long preemptions);
/* Appends the quantile curve of sorted samples (label,op,quantile,ns), dense
 * in the tail, for the charts. */
void latency_print_curve(FILE *out, const char *label, const latency_series *s, double ticks_per_ns);

/* splitmix64, and log-uniform sizes in [lo, hi]. */
uint64_t bench_random(uint64_t *state);
size_t bench_size(uint64_t *state, size_t lo, size_t hi);

/* "--name=value" from argv, or fallback. */
const char *bench_option(int argc, char **argv, const char *name, const char *fallback);

/* The allocator under test, as the churn driver sees it: blocks are named
 * by a nonzero 64-bit value (a pointer or a handle). access is NULL when
 * the target has no read/write calls (blocks are then touched directly). */
typedef struct bench_target {
    const char *label;
    uint64_t (*alloc)(size_t size);
    void (*release)(uint64_t block);
    void (*access)(uint64_t block, size_t offset, size_t len, int write);
} bench_target;

/* The fragmenting load: slots (--slots, default 20000) that are each empty
 * or hold a block; every step picks a slot at random and frees its block or
 * fills it with a new one of a log-uniform size (15 in 16 from 16 B to
 * 16 KiB, the rest up to 256 KiB), so that the heap holds about half the
 * slots in blocks of every size with holes between them. Targets with
 * access also read and write 64 bytes of a random live block. After
 * --warmup steps (default 200000) the next --ops steps (default 1000000)
 * are timed one by one. Prints the CSV rows (and the quantile curves to
 * --curve=FILE) and returns 0. */
int bench_churn(const bench_target *t, int argc, char **argv);

#endif
