/* A heap created with R3_RT_PREFAULT is resident at once: its pages are
 * faulted in at creation, not at first use (the premise of "no page fault
 * after init"). Checked through the process's resident set. */
#include "r3rt.h"
#include "rt_test.h"
#include "../common/memory.h"
#include <stdio.h>

#define CAPACITY ((size_t)64 << 20)

int main(void)
{
    long before = rss_kib();
    r3_rt_heap *lazy = r3_rt_create(CAPACITY, 0);
    CHECK(lazy);
    long after_lazy = rss_kib();
    r3_rt_heap *h = r3_rt_create(CAPACITY, R3_RT_PREFAULT);
    CHECK(h);
    long after = rss_kib();
    printf("resident: +%ld KiB for a lazy heap, +%ld KiB for a pre-faulted heap of %zu KiB\n",
           after_lazy - before, after - after_lazy, CAPACITY >> 10);
    CHECK(after - after_lazy >= (long)(CAPACITY >> 10));
    CHECK_EQ(r3_rt_destroy(h), 0);
    CHECK_EQ(r3_rt_destroy(lazy), 0);
    puts("test_rt_prefault: ok");
    return 0;
}
