/* rel-bench: measurements of the reliable heap (bench/rel/run drives it).
 *
 *   rel-bench throughput CODE SECONDS   read and write throughput of the code
 *       against memcpy of the same sizes, in the same run, interleaved:
 *       CSV "code,size,op,mb_per_s,memcpy_mb_per_s,ratio"
 *   rel-bench latency CODE REALTIME OPS  per-operation latency (ns) of alloc,
 *       free, 64-byte read and write under a fragmenting load, with glibc
 *       malloc/free under the same load:
 *       CSV "config,op,p50,p99,p999,p9999,max,mean"
 *   rel-bench rss CODE MIB              physical memory for MIB MiB of live
 *       data (blocks of 64..4096 bytes), after a scrub pass, and the same data
 *       in plain malloc: CSV "code,data_kib,rss_kib,ratio"
 * CODE: tmr | secded | plain (memcpy/malloc only).
 */
#define _GNU_SOURCE
#include "r3rel.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static r3_rel_code parse_code(const char *s) { return !strcmp(s, "tmr") ? R3_REL_TMR : R3_REL_SECDED; }

static void heap_init(r3_rel_code code, size_t capacity, size_t max_blocks, int realtime)
{
    r3_rel_config cfg;
    r3_rel_default_config(&cfg);
    cfg.code = code;
    cfg.capacity = capacity;
    cfg.max_blocks = max_blocks;
    cfg.scrub_interval_ms = 0;
    cfg.realtime = realtime;
    if (r3_rel_init(&cfg)) {
        fprintf(stderr, "rel-bench: r3_rel_init failed\n");
        exit(1);
    }
}

/* Bytes per second of fn over size bytes, repeated for about budget ns. */
typedef int (*transfer_fn)(r3_rel_handle h, void *buf, void *other, size_t size);
static int do_read(r3_rel_handle h, void *buf, void *other, size_t size) { (void)other; return r3_rel_read(h, 0, buf, size); }
static int do_write(r3_rel_handle h, void *buf, void *other, size_t size) { (void)other; return r3_rel_write(h, 0, buf, size); }
static int do_memcpy(r3_rel_handle h, void *buf, void *other, size_t size)
{
    (void)h;
    memcpy(other, buf, size);
    __asm__ volatile("" : : "r"(other) : "memory");
    return 0;
}

/* MB/s of fn over size bytes: the best of many short windows (about 20 us
 * each) within budget ns, so that a shared machine's interruptions, which
 * only ever slow a window down, drop out. */
static double rate(transfer_fn fn, r3_rel_handle h, void *buf, void *other, size_t size, uint64_t budget)
{
    unsigned per_window = (unsigned)(20000 / (size / 8 + 50)) + 1;
    uint64_t start = now_ns(), best = UINT64_MAX;
    do {
        uint64_t t0 = now_ns();
        for (unsigned k = 0; k < per_window; k++)
            if (fn(h, buf, other, size)) {
                fprintf(stderr, "rel-bench: transfer failed\n");
                exit(1);
            }
        uint64_t t = now_ns() - t0;
        best = t < best ? t : best;
    } while (now_ns() - start < budget);
    return (double)per_window * (double)size / ((double)best / 1e9) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int throughput(r3_rel_code code, double seconds)
{
    static const size_t sizes[] = {64, 512, 4096, 65536, 1 << 20};
    enum { REPS = 5 };
    heap_init(code, 8 << 20, 64, 1);
    unsigned char *buf = malloc(1 << 20), *other = malloc(1 << 20);
    memset(buf, 0x5a, 1 << 20);
    memset(other, 0, 1 << 20);
    r3_rel_handle h = r3_rel_alloc(1 << 20);
    r3_rel_write(h, 0, buf, 1 << 20);
    uint64_t budget = (uint64_t)(seconds * 1e9 / (sizeof sizes / sizeof *sizes) / REPS / 3);
    printf("code,size,op,mb_per_s,memcpy_mb_per_s,ratio\n");
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        double r[REPS], w[REPS], m[REPS];
        for (unsigned k = 0; k < REPS; k++) {
            m[k] = rate(do_memcpy, h, buf, other, sizes[i], budget);
            r[k] = rate(do_read, h, other, NULL, sizes[i], budget);
            w[k] = rate(do_write, h, buf, NULL, sizes[i], budget);
        }
        qsort(r, REPS, sizeof *r, cmp_double);
        qsort(w, REPS, sizeof *w, cmp_double);
        qsort(m, REPS, sizeof *m, cmp_double);
        const char *name = code == R3_REL_TMR ? "TMR" : "SECDED";
        printf("%s,%zu,read,%.0f,%.0f,%.3f\n", name, sizes[i], r[REPS / 2], m[REPS / 2], r[REPS / 2] / m[REPS / 2]);
        printf("%s,%zu,write,%.0f,%.0f,%.3f\n", name, sizes[i], w[REPS / 2], m[REPS / 2], w[REPS / 2] / m[REPS / 2]);
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *config, const char *op, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    printf("%s,%s,%llu,%llu,%llu,%llu,%llu,%.1f\n", config, op, (unsigned long long)v[n / 2],
           (unsigned long long)v[n * 99 / 100], (unsigned long long)v[n * 999 / 1000],
           (unsigned long long)v[n * 9999 / 10000], (unsigned long long)v[n - 1], sum / (double)n);
}

/* A fragmenting load: 4096 slots of random sizes 16..4096, each step frees a
 * random slot and allocates a new size into it, then reads and writes 64
 * bytes of another slot. Timed per operation. */
static int latency(const char *code_name, int realtime, size_t ops)
{
    enum { SLOTS = 4096 };
    bool plain = !strcmp(code_name, "plain");
    if (!plain)
        heap_init(parse_code(code_name), 32 << 20, 8192, realtime);
    uint64_t *lat[4];
    for (unsigned k = 0; k < 4; k++)
        lat[k] = malloc(ops * sizeof(uint64_t));
    static r3_rel_handle h[SLOTS];
    static void *p[SLOTS];
    static size_t size[SLOTS];
    unsigned char buf[64] = {1};
    for (unsigned i = 0; i < SLOTS; i++) {
        size[i] = 16 + next_random() % 4081;
        if (plain)
            p[i] = malloc(size[i]);
        else
            h[i] = r3_rel_alloc(size[i]);
    }
    for (size_t n = 0; n < ops; n++) {
        /* Three different slots, so that each operation meets cold lines
         * rather than those the previous one just brought in. */
        unsigned i = (unsigned)(next_random() % SLOTS), j = (unsigned)(next_random() % SLOTS),
                 r = (unsigned)(next_random() % SLOTS);
        size_t new_size = 16 + next_random() % 4081;
        uint64_t t0 = now_ns();
        if (plain)
            free(p[i]);
        else
            r3_rel_free(h[i]);
        uint64_t t1 = now_ns();
        if (plain)
            p[i] = malloc(new_size);
        else
            h[i] = r3_rel_alloc(new_size);
        uint64_t t2 = now_ns();
        size[i] = new_size;
        if (plain)
            memcpy(p[j], buf, 16);
        else
            r3_rel_write(h[j], 0, buf, 16);
        uint64_t t3 = now_ns();
        if (plain)
            memcpy(buf, p[r], 16);
        else
            r3_rel_read(h[r], 0, buf, 16);
        uint64_t t4 = now_ns();
        lat[0][n] = t2 - t1;
        lat[1][n] = t1 - t0;
        lat[2][n] = t4 - t3;
        lat[3][n] = t3 - t2;
    }
    char config[64];
    snprintf(config, sizeof config, "%s%s", plain ? "glibc" : code_name, realtime ? "-rt" : "");
    printf("config,op,p50,p99,p999,p9999,max,mean\n");
    static const char *names[4] = {"alloc", "free", "read16", "write16"};
    for (unsigned k = 0; k < 4; k++)
        print_latency(config, names[k], lat[k], ops);
    return 0;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static int rss(const char *code_name, size_t mib)
{
    bool plain = !strcmp(code_name, "plain");
    long before = rss_kib();
    size_t target = mib << 20, live = 0;
    unsigned char buf[4096];
    memset(buf, 0xa5, sizeof buf);
    if (!plain)
        /* Blocks average 2 KiB: room for twice as many as needed. */
        heap_init(parse_code(code_name), target + target / 16, target / 1024, 0);
    while (live < target) {
        size_t n = 64 + next_random() % 4033;
        if (plain) {
            void *q = malloc(n);
            memcpy(q, buf, n);
        } else {
            r3_rel_handle h = r3_rel_alloc(n);
            if (!h)
                break;
            r3_rel_write(h, 0, buf, n);
        }
        live += n;
    }
    if (!plain)
        r3_rel_scrub();
    long used = rss_kib() - before;
    printf("code,data_kib,rss_kib,ratio\n%s,%zu,%ld,%.3f\n", plain ? "plain" : code_name, live >> 10, used,
           (double)used / (double)(live >> 10));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "throughput"))
        return throughput(parse_code(argv[2]), atof(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "latency"))
        return latency(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0));
    if (argc == 4 && !strcmp(argv[1], "rss"))
        return rss(argv[2], strtoull(argv[3], NULL, 0));
    fprintf(stderr, "usage: rel-bench throughput tmr|secded SECONDS\n"
                    "       rel-bench latency tmr|secded|plain REALTIME(0|1) OPS\n"
                    "       rel-bench rss tmr|secded|plain MIB\n");
    return 2;
}
