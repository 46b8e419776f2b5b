/* The multi-node logic on a simulated machine of 2 nodes x 4 CPUs: a
 * per-CPU set gives each simulated CPU a sub-pool bound to that CPU's node,
 * allocations are routed by the caller's (simulated) CPU, frees from another
 * CPU go back to the owner, and node/CPU affinity of single pools binds
 * their memory to the right node. */
#include "r3pool.h"
#include "pool_test.h"
#include <errno.h>
#include <stdint.h>

enum { NODES = 2, CPUS_PER_NODE = 4, CPUS = NODES * CPUS_PER_NODE, MAX_BINDS = 256 };

static _Thread_local int simulated_cpu;
static struct { uintptr_t start, end; int node; } binds[MAX_BINDS];
static int bind_count;

static int sim_node_of_cpu(int cpu) { return cpu / CPUS_PER_NODE; }
static int sim_current_cpu(void) { return simulated_cpu; }

static int sim_bind(void *p, size_t size, int node)
{
    if (node < 0 || node >= NODES || bind_count == MAX_BINDS)
        return -EINVAL;
    binds[bind_count].start = (uintptr_t)p;
    binds[bind_count].end = (uintptr_t)p + size;
    binds[bind_count].node = node;
    bind_count++;
    return 0;
}

/* The node the simulated kernel would place p on, or -1 when unbound. */
static int sim_node_of(const void *p)
{
    for (int i = bind_count - 1; i >= 0; i--)
        if ((uintptr_t)p >= binds[i].start && (uintptr_t)p < binds[i].end)
            return binds[i].node;
    return -1;
}

static void test_percpu_routing(void)
{
    r3_pool_percpu_t *set = make_set(128, 32);
    CHECK(r3_pool_percpu_count(set) == CPUS);
    void *blocks[CPUS][40];
    for (int cpu = 0; cpu < CPUS; cpu++) {
        simulated_cpu = cpu;
        r3_pool_stats st;
        CHECK(r3_pool_stats_get(r3_pool_percpu_get(set, cpu), &st) == 0);
        CHECK(st.node == cpu / CPUS_PER_NODE);
        for (int i = 0; i < 40; i++) {   /* past block_count: growth keeps the node */
            blocks[cpu][i] = r3_pool_percpu_alloc(set, 128);
            CHECK(blocks[cpu][i]);
            CHECK(r3_pool_percpu_cpu_of(set, blocks[cpu][i]) == cpu);
            CHECK(sim_node_of(blocks[cpu][i]) == cpu / CPUS_PER_NODE);
        }
    }
    /* CPU 0 frees everything: its own blocks locally, the others through
     * their owners' remote lists; each owner then reuses its blocks. */
    simulated_cpu = 0;
    for (int cpu = 0; cpu < CPUS; cpu++)
        for (int i = 0; i < 40; i++)
            CHECK(r3_pool_percpu_free(set, blocks[cpu][i]) == 0);
    for (int cpu = 0; cpu < CPUS; cpu++) {
        r3_pool_t *sub = r3_pool_percpu_get(set, cpu);
        r3_pool_stats st;
        CHECK(r3_pool_check(sub) == 0);
        CHECK(r3_pool_stats_get(sub, &st) == 0 && st.blocks_in_use == 0 && st.blocks_total == 64);
    }
    simulated_cpu = 6;
    void *again = r3_pool_percpu_alloc(set, 128);
    CHECK(again == blocks[6][39] || again == blocks[6][0]);   /* taken back from the remote list */
    CHECK(r3_pool_percpu_cpu_of(set, again) == 6);
    r3_pool_percpu_destroy(set);
}

/* A block freed from another CPU waits on its owner's remote list; a
 * second free of it, from any CPU, is refused. */
static void test_remote_double_free(void)
{
    r3_pool_percpu_t *set = make_set(32, 8);
    simulated_cpu = 1;
    void *p = r3_pool_percpu_alloc(set, 32);
    simulated_cpu = 0;
    CHECK(r3_pool_percpu_free(set, p) == 0);          /* remote */
    CHECK(r3_pool_percpu_free(set, p) == -EINVAL);    /* remote again */
    simulated_cpu = 1;
    CHECK(r3_pool_percpu_free(set, p) == -EINVAL);    /* local, while pending */
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(r3_pool_percpu_get(set, 1), &st) == 0 && st.blocks_in_use == 0);
    CHECK(r3_pool_check(r3_pool_percpu_get(set, 1)) == 0);
    CHECK(r3_pool_percpu_alloc(set, 32) == p);        /* taken back */
    CHECK(r3_pool_check(r3_pool_percpu_get(set, 1)) == 0);
    CHECK(r3_pool_percpu_free(set, p) == 0);          /* local */
    CHECK(r3_pool_percpu_free(set, p) == -EINVAL);
    simulated_cpu = 0;
    CHECK(r3_pool_percpu_free(set, p) == -EINVAL);    /* remote, after a local free */
    CHECK(r3_pool_check(r3_pool_percpu_get(set, 1)) == 0);
    r3_pool_percpu_destroy(set);
}

static void test_single_pool_affinity(void)
{
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.kind = R3_POOL_REGION;
    o.cpu = 5;                        /* node 1 */
    r3_pool_t *region = r3_pool_create_ex(&o);
    CHECK(region);
    void *p = r3_palloc(region, 100), *big = r3_palloc(region, 1 << 20);
    CHECK(sim_node_of(p) == 1 && sim_node_of(big) == 1);
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(region, &st) == 0 && st.node == 1);

    o = (r3_pool_options)R3_POOL_OPTIONS_INIT;
    o.block_size = 64;
    o.block_count = 4;
    o.node = 0;
    r3_pool_t *fixed = r3_pool_create_ex(&o);
    CHECK(fixed);
    for (int i = 0; i < 9; i++)
        CHECK(sim_node_of(r3_palloc(fixed, 64)) == 0);

    o.node = 1;
    o.cpu = 2;                        /* CPU 2 is on node 0: disagree */
    errno = 0;
    CHECK(r3_pool_create_ex(&o) == NULL && errno == EINVAL);
    o.cpu = R3_POOL_ANY;
    o.node = 2;                       /* no such node */
    CHECK(r3_pool_create_ex(&o) == NULL && errno == EINVAL);
    o.node = R3_POOL_ANY;
    o.cpu = 8;                        /* no such CPU */
    CHECK(r3_pool_create_ex(&o) == NULL && errno == EINVAL);
    r3_pool_destroy(fixed);
    r3_pool_destroy(region);
}

int main(void)
{
    r3_pool_topology bad = { 0, 8, sim_node_of_cpu, sim_current_cpu, sim_bind };
    CHECK(r3_pool_set_topology(&bad) == -EINVAL);
    r3_pool_topology sim = { NODES, CPUS, sim_node_of_cpu, sim_current_cpu, sim_bind };
    CHECK(r3_pool_set_topology(&sim) == 0);
    r3_pool_topology got;
    r3_pool_get_topology(&got);
    CHECK(got.node_count == NODES && got.cpu_count == CPUS && got.bind_memory == sim_bind);
    test_percpu_routing();
    test_remote_double_free();
    test_single_pool_affinity();
    CHECK(r3_pool_set_topology(NULL) == 0);
    r3_pool_get_topology(&got);
    CHECK(got.node_count >= 1 && got.bind_memory != sim_bind);
    puts("pool topology: ok");
    return 0;
}
