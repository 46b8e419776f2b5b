/* rt-latency: latency of alloc/free under a fragmenting load (see
 * bench_churn in latency.h) for
 *   --alloc=libc  the C library's malloc/free: glibc, or r3malloc when
 *                 bench/rt/run preloads libr3malloc.so;
 *   --alloc=rt    r3_rt_malloc/r3_rt_free on a heap of --capacity=MiB
 *                 (default 256), reserved and pre-faulted at start
 *                 (--mlock=1 also locks it).
 * --label names the configuration in the CSV. */
#include "latency.h"
#include "r3rt.h"
#include <stdlib.h>
#include <string.h>

static r3_rt_heap *heap;

static uint64_t libc_alloc(size_t size) { return (uintptr_t)malloc(size); }
static void libc_release(uint64_t block) { free((void *)(uintptr_t)block); }
static uint64_t rt_alloc(size_t size) { return (uintptr_t)r3_rt_malloc(heap, size); }
static void rt_release(uint64_t block) { r3_rt_free(heap, (void *)(uintptr_t)block); }

int main(int argc, char **argv)
{
    const char *alloc = bench_option(argc, argv, "alloc", "libc");
    bench_target t = {bench_option(argc, argv, "label", alloc), libc_alloc, libc_release, NULL};
    if (strcmp(alloc, "rt") == 0) {
        size_t capacity = strtoul(bench_option(argc, argv, "capacity", "256"), NULL, 10) << 20;
        unsigned flags = R3_RT_PREFAULT;
        if (strcmp(bench_option(argc, argv, "mlock", "0"), "1") == 0)
            flags |= R3_RT_MLOCK;
        heap = r3_rt_create(capacity, flags);
        if (!heap) {
            perror("rt-latency: r3_rt_create");
            return 1;
        }
        t.alloc = rt_alloc;
        t.release = rt_release;
    } else if (strcmp(alloc, "libc") != 0) {
        fprintf(stderr, "rt-latency: --alloc=libc|rt\n");
        return 2;
    }
    if (strcmp(bench_option(argc, argv, "header", "0"), "1") == 0)
        latency_print_header(stdout);
    return bench_churn(&t, argc, argv);
}
