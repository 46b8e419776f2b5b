/* mem-overhead: physical memory per live byte, for every configuration.
 *
 *   mem-overhead --alloc=libc|rt|region|fixed|rel-secded|rel-tmr
 *                [--live=MiB] [--min=B] [--max=B] [--realtime=0|1] [--label=NAME]
 *
 * Draws block sizes log-uniformly in [--min, --max] (default 16..4096 B,
 * fixed seed) until they add up to --live MiB (default 64), allocates them
 * and writes every byte (through r3_rel_write for the reliable heap). Then
 * frees every other block and, one second later (so that an allocator that
 * returns memory after a delay has done so), measures again; then frees the
 * rest and measures once more a second later. The resident set is read
 * from /proc/self/statm; the baseline is taken after the bookkeeping array
 * (mapped outside the allocator under test) is filled, and before the
 * configuration is set up, so that its fixed costs count.
 *
 * libc is the C library's malloc, or r3malloc with LD_PRELOAD. rt is an
 * r3_rt heap created pre-faulted with 17/16 of the live bytes plus 32 B per
 * block; rel-* the reliable heap with 17/16 of the live bytes and a block
 * table sized to the blocks drawn; region a region pool (no per-block free:
 * only the first line); fixed a fixed-block pool of --max byte blocks.
 *
 * Prints CSV rows: config,phase,live_kib,rss_kib,rss_per_live,failures
 * (phases: full, half freed, all freed). */
#include "latency.h"
#include "r3pool.h"
#include "r3rel.h"
#include "r3rt.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct slot {
    uint64_t block;
    size_t size;
} slot;

static long resident_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static const char *kind;
static r3_rt_heap *rt_heap;
static r3_pool_t *pool;
static unsigned char pattern[1 << 20];

static int setup(size_t live, size_t blocks, size_t max, int realtime)
{
    size_t capacity = (live + live / 16 + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);
    if (strcmp(kind, "rt") == 0) /* plus a 16-byte header and 16-byte rounding per block */
        return (rt_heap = r3_rt_create(capacity + 32 * blocks, R3_RT_PREFAULT)) ? 0 : -1;
    if (strcmp(kind, "region") == 0)
        return (pool = r3_pool_create_region(NULL)) ? 0 : -1;
    if (strcmp(kind, "fixed") == 0)
        return (pool = r3_pool_create(max, 4096)) ? 0 : -1;
    if (strncmp(kind, "rel-", 4) == 0) {
        r3_rel_config cfg;
        r3_rel_default_config(&cfg);
        cfg.code = strcmp(kind, "rel-tmr") == 0 ? R3_REL_TMR : R3_REL_SECDED;
        cfg.capacity = capacity;
        cfg.max_blocks = blocks;
        cfg.realtime = realtime;
        cfg.scrub_interval_ms = 0;
        return r3_rel_init(&cfg) == 0 ? 0 : -1;
    }
    return strcmp(kind, "libc") == 0 ? 0 : -1;
}

/* Allocates size bytes and writes all of them; 0 on failure. */
static uint64_t fill(size_t size)
{
    void *p = NULL;
    if (strncmp(kind, "rel-", 4) == 0) {
        r3_rel_handle h = r3_rel_alloc(size);
        if (h && r3_rel_write(h, 0, pattern, size) != 0)
            return 0;
        return h;
    }
    if (strcmp(kind, "rt") == 0)
        p = r3_rt_malloc(rt_heap, size);
    else if (pool)
        p = r3_palloc(pool, size);
    else
        p = malloc(size);
    if (p)
        memset(p, 0xa5, size);
    return (uint64_t)(uintptr_t)p;
}

static void release(uint64_t block)
{
    if (strncmp(kind, "rel-", 4) == 0)
        r3_rel_free(block);
    else if (strcmp(kind, "rt") == 0)
        r3_rt_free(rt_heap, (void *)(uintptr_t)block);
    else if (pool)
        r3_pfree(pool, (void *)(uintptr_t)block);
    else
        free((void *)(uintptr_t)block);
}

static void report(const char *label, const char *phase, size_t live, long rss, unsigned long failures)
{
    printf("%s,%s,%zu,%ld,%.3f,%lu\n", label, phase, live / 1024, rss,
           (double)rss * 1024 / (double)live, failures);
}

int main(int argc, char **argv)
{
    kind = bench_option(argc, argv, "alloc", "libc");
    const char *label = bench_option(argc, argv, "label", kind);
    size_t live = strtoull(bench_option(argc, argv, "live", "64"), NULL, 10) << 20;
    size_t min = strtoull(bench_option(argc, argv, "min", "16"), NULL, 10);
    size_t max = strtoull(bench_option(argc, argv, "max", "4096"), NULL, 10);
    int realtime = strcmp(bench_option(argc, argv, "realtime", "0"), "1") == 0;
    if (min == 0 || max < min || max > sizeof pattern || live == 0) {
        fprintf(stderr, "mem-overhead: need 0 < --min <= --max <= %zu and --live > 0\n", sizeof pattern);
        return 2;
    }
    size_t cap = live / min + 1;
    slot *slots = mmap(NULL, cap * sizeof *slots, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED)
        return 1;
    uint64_t rng = 42;
    size_t n = 0, total = 0;
    while (total < live && n < cap) {
        slots[n].size = bench_size(&rng, min, max);
        total += slots[n++].size;
    }
    memset(pattern, 0x5a, sizeof pattern);
    long base = resident_kib();
    if (setup(live, n, max, realtime) != 0) {
        fprintf(stderr, "mem-overhead: cannot set up %s\n", kind);
        return 1;
    }
    unsigned long failures = 0;
    size_t held = 0;
    for (size_t i = 0; i < n; i++) {
        slots[i].block = fill(slots[i].size);
        if (slots[i].block)
            held += slots[i].size;
        else
            failures++;
    }
    report(label, "full", held, resident_kib() - base, failures);
    if (strcmp(kind, "region") == 0)
        return 0;
    for (size_t i = 0; i < n; i += 2)
        if (slots[i].block) {
            release(slots[i].block);
            held -= slots[i].size;
        }
    sleep(1);
    report(label, "half freed", held, resident_kib() - base, failures);
    for (size_t i = 1; i < n; i += 2)
        if (slots[i].block)
            release(slots[i].block);
    sleep(1);
    printf("%s,all freed,0,%ld,,%lu\n", label, resident_kib() - base, failures);
    return 0;
}
