#define _GNU_SOURCE
#include "latency.h"
#include "bench.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void latency_series_init(latency_series *s, const char *op, size_t cap)
{
    s->op = op;
    s->n = 0;
    s->cap = cap;
    s->ticks = mmap(NULL, cap * sizeof *s->ticks, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (s->ticks == MAP_FAILED) {
        perror("latency: mmap");
        exit(1);
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double latency_calibrate(void)
{
    uint64_t t0 = now_ns(), c0 = latency_ticks();
    while (now_ns() - t0 < 50000000u)
        ;
    uint64_t t1 = now_ns(), c1 = latency_ticks();
    return (double)(c1 - c0) / (double)(t1 - t0);
}

uint64_t latency_timer_overhead(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 10000; i++) {
        uint64_t a = latency_ticks(), b = latency_ticks();
        if (b - a < best)
            best = b - a;
    }
    return best;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double quantile_ns(const latency_series *s, double q, double ticks_per_ns)
{
    size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
    return s->ticks[i] / ticks_per_ns;
}

void latency_print_header(FILE *out)
{
    fprintf(out, "config,op,count,p50_ns,p99_ns,p999_ns,p9999_ns,max_ns,failures,peak_rss_kib,preemptions\n");
}

void latency_print(FILE *out, const char *label, latency_series *s, double ticks_per_ns,
                   unsigned long failures, long rss_kib, long preemptions)
{
    if (!s->n)
        return;
    qsort(s->ticks, s->n, sizeof *s->ticks, by_value);
    fprintf(out, "%s,%s,%zu,%.1f,%.1f,%.1f,%.1f,%.1f,%lu,%ld,%ld\n", label, s->op, s->n,
            quantile_ns(s, 0.5, ticks_per_ns), quantile_ns(s, 0.99, ticks_per_ns),
            quantile_ns(s, 0.999, ticks_per_ns), quantile_ns(s, 0.9999, ticks_per_ns),
            s->ticks[s->n - 1] / ticks_per_ns, failures, rss_kib, preemptions);
}

void latency_print_curve(FILE *out, const char *label, const latency_series *s, double ticks_per_ns)
{
    /* Points at 1 - 10^-k for k in [0.3, 6] in steps of 0.05: the tail is
     * what a real-time reader looks at. */
    for (double k = 0.3; k <= 6.0001; k += 0.05) {
        double q = 1.0 - pow(10.0, -k);
        if (q * (double)s->n > (double)s->n - 1)
            break;
        fprintf(out, "%s,%s,%.8f,%.1f\n", label, s->op, q, quantile_ns(s, q, ticks_per_ns));
    }
    fprintf(out, "%s,%s,1,%.1f\n", label, s->op, s->ticks[s->n - 1] / ticks_per_ns);
}

uint64_t bench_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t bench_size(uint64_t *state, size_t lo, size_t hi)
{
    unsigned lo_bits = 63u - (unsigned)__builtin_clzl(lo), hi_bits = 63u - (unsigned)__builtin_clzl(hi);
    unsigned bits = lo_bits + (unsigned)(bench_random(state) % (hi_bits - lo_bits + 1));
    size_t base = (size_t)1 << bits;
    size_t s = base + bench_random(state) % base;
    return s < lo ? lo : s > hi ? hi : s;
}

const char *bench_option(int argc, char **argv, const char *name, const char *fallback)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 && argv[i][2 + len] == '=')
            return argv[i] + 3 + len;
    return fallback;
}

struct slot { uint64_t block; size_t size; };

enum { SERIES_ALLOC, SERIES_FREE, SERIES_READ, SERIES_WRITE, SERIES_COUNT };

/* Writes one byte per page and the last byte, as a program that uses the
 * block would: the pages become resident, so RSS compares fairly. */
static void touch(uint64_t block, size_t size)
{
    volatile char *c = (volatile char *)(uintptr_t)block;
    for (size_t i = 0; i < size; i += 4096)
        c[i] = 1;
    c[size - 1] = 1;
}

/* Times the scheduler took the CPU away: on a shared machine these, not the
 * allocator, make the largest samples. */
static long involuntary_switches(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_nivcsw;
}

int bench_churn(const bench_target *t, int argc, char **argv)
{
    size_t ops = strtoul(bench_option(argc, argv, "ops", "1000000"), NULL, 10);
    size_t warmup = strtoul(bench_option(argc, argv, "warmup", "200000"), NULL, 10);
    size_t nslots = strtoul(bench_option(argc, argv, "slots", "20000"), NULL, 10);
    const char *curve = bench_option(argc, argv, "curve", NULL);
    struct slot *slots = mmap(NULL, nslots * sizeof *slots, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (slots == MAP_FAILED) {
        perror("bench: mmap");
        return 1;
    }
    static const char *const names[SERIES_COUNT] = {"alloc", "free", "read", "write"};
    latency_series series[SERIES_COUNT];
    for (int i = 0; i < SERIES_COUNT; i++)
        latency_series_init(&series[i], names[i], i < 2 || t->access ? ops : 1);
    double ticks_per_ns = latency_calibrate();
    uint64_t overhead = latency_timer_overhead();
    uint64_t rng = 42;
    unsigned long failures = 0;
    long preempted_before = 0;
    uint64_t running_since = now_ns();
    for (size_t step = 0; step < warmup + ops; step++) {
        if (step == warmup)
            preempted_before = involuntary_switches();
        /* Under SCHED_FIFO the kernel throttles a task that runs more than
         * 950 ms per second: an untimed 60 ms sleep after every 700 ms of
         * running keeps throttling from posing as latency, at the price of
         * a cold cache after each of these few pauses. */
        if (step % 4096 == 0 && now_ns() - running_since > 700000000u) {
            usleep(60000);
            running_since = now_ns();
        }
        latency_series *record = step < warmup ? NULL : series;
        struct slot *s = &slots[bench_random(&rng) % nslots];
        uint64_t r = bench_random(&rng);
        uint64_t t0, t1;
        if (s->block && t->access && (r & 3) >= 2) {
            /* A 64-byte read or write somewhere in the block. */
            int write = r & 1;
            size_t len = s->size < 64 ? s->size : 64;
            size_t offset = (size_t)((r >> 8) % (s->size - len + 1));
            t0 = latency_ticks();
            t->access(s->block, offset, len, write);
            t1 = latency_ticks();
            if (record)
                latency_record(&record[write ? SERIES_WRITE : SERIES_READ], t0, t1);
        } else if (s->block) {
            t0 = latency_ticks();
            t->release(s->block);
            t1 = latency_ticks();
            s->block = 0;
            if (record)
                latency_record(&record[SERIES_FREE], t0, t1);
        } else {
            size_t size = (r >> 60) ? bench_size(&rng, 16, 16384) : bench_size(&rng, 16384, 262144);
            t0 = latency_ticks();
            uint64_t block = t->alloc(size);
            t1 = latency_ticks();
            if (record)
                latency_record(&record[SERIES_ALLOC], t0, t1);
            if (!block) {
                failures++;
                continue;
            }
            if (!t->access)
                touch(block, size);
            *s = (struct slot){block, size};
        }
    }
    long preemptions = involuntary_switches() - preempted_before;
    long rss = bench_peak_rss_kib();
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].block)
            t->release(slots[i].block);
    FILE *curve_out = curve ? fopen(curve, "a") : NULL;
    for (int i = 0; i < SERIES_COUNT; i++) {
        latency_print(stdout, t->label, &series[i], ticks_per_ns, i == SERIES_ALLOC ? failures : 0, rss,
                      preemptions);
        if (curve_out && series[i].n)
            latency_print_curve(curve_out, t->label, &series[i], ticks_per_ns);
    }
    if (curve_out)
        fclose(curve_out);
    fprintf(stderr, "%s: %.3f ticks/ns, timer overhead %llu ticks (%.1f ns, included in every sample)\n",
            t->label, ticks_per_ns, (unsigned long long)overhead, overhead / ticks_per_ns);
    return 0;
}
