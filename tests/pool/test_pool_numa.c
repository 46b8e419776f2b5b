/* Node placement on the real machine: pools bound to node 0 (directly, or
 * through a CPU of node 0) have their pages there, as get_mempolicy
 * (MPOL_F_NODE | MPOL_F_ADDR) reports after the pages are touched. */
#define _GNU_SOURCE
#include "r3pool.h"
#include "pool_test.h"
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

static int node_of(void *p)
{
    int node = -1;
    if (syscall(SYS_get_mempolicy, &node, NULL, 0ul, p, 3ul /* F_NODE|F_ADDR */) != 0)
        return -errno;
    return node;
}

static void check_on_node0(r3_pool_t *pool, size_t n, int count)
{
    for (int i = 0; i < count; i++) {
        char *p = r3_palloc(pool, n);
        CHECK(p);
        p[0] = 1;
        CHECK(node_of(p) == 0);
    }
}

int main(void)
{
    char probe = 0;
    if (node_of(&probe) < 0) {
        printf("SKIP: get_mempolicy is not available here (errno %d)\n", -node_of(&probe));
        return SKIP_CODE;
    }
    r3_pool_options o = R3_POOL_OPTIONS_INIT;
    o.block_size = 256;
    o.block_count = 64;
    o.node = 0;
    r3_pool_t *fixed = r3_pool_create_ex(&o);
    if (!fixed && (errno == ENOSYS || errno == EPERM)) {
        printf("SKIP: mbind refused here (errno %d)\n", errno);
        return SKIP_CODE;
    }
    CHECK(fixed);
    check_on_node0(fixed, 256, 200);   /* past the first slab */
    r3_pool_stats st;
    CHECK(r3_pool_stats_get(fixed, &st) == 0 && st.node == 0);

    o.kind = R3_POOL_REGION;
    o.block_size = 0;
    o.node = R3_POOL_ANY;
    o.cpu = 0;
    r3_pool_t *region = r3_pool_create_ex(&o);
    CHECK(region);
    check_on_node0(region, 1000, 300);
    check_on_node0(region, 1 << 20, 2);
    r3_pool_destroy(region);
    r3_pool_destroy(fixed);
    puts("pool numa: ok");
    return 0;
}
