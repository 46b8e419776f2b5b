/* Per-CPU selection on the real machine: a thread pinned to each CPU in
 * turn with sched_setaffinity reads that CPU and allocates from that CPU's
 * sub-pool; a block freed after moving to another CPU goes back to the
 * sub-pool that owns it. */
#define _GNU_SOURCE
#include "r3pool.h"
#include "pool_test.h"
#include <sched.h>

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int main(void)
{
    cpu_set_t allowed;
    CHECK(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    r3_pool_percpu_t *set = make_set(64, 16);
    int cpus = r3_pool_percpu_count(set), tested = 0;
    void *first = NULL;
    int first_cpu = -1;
    for (int cpu = 0; cpu < cpus && cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || pin(cpu) != 0)
            continue;
        CHECK(r3_pool_current_cpu() == cpu);
        CHECK(sched_getcpu() == cpu);
        void *p = r3_pool_percpu_alloc(set, 64);
        CHECK(p && r3_pool_percpu_cpu_of(set, p) == cpu);
        r3_pool_stats st;
        CHECK(r3_pool_stats_get(r3_pool_percpu_get(set, cpu), &st) == 0 && st.blocks_in_use == 1);
        if (!first) {
            first = p;
            first_cpu = cpu;
        } else {
            /* Freed on this CPU, owned by another: the remote path. */
            CHECK(r3_pool_percpu_free(set, first) == 0);
            CHECK(r3_pool_stats_get(r3_pool_percpu_get(set, first_cpu), &st) == 0);
            CHECK(st.blocks_in_use == 0);
            first = p;
            first_cpu = cpu;
        }
        tested++;
    }
    CHECK(r3_pool_percpu_free(set, first) == 0);
    CHECK(sched_setaffinity(0, sizeof allowed, &allowed) == 0);
    r3_pool_percpu_destroy(set);
    CHECK(tested >= 1);
    printf("pool percpu: ok on %d CPUs\n", tested);
    return 0;
}
