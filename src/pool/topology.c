/* The topology interface (see r3pool.h): the machine's, read once from
 * /sys/devices/system/node, or one installed by r3_pool_set_topology. */
#define _GNU_SOURCE
#include "pool_internal.h"
#include "topology.h"
#include "core/os.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int machine_nodes = 1, machine_cpus = 1;
static uint8_t machine_node_of[R3_POOL_MAX_CPUS];
static pthread_once_t machine_once = PTHREAD_ONCE_INIT;

static r3_pool_topology active;
static bool active_is_machine = true;

/* Reads a small sysfs file without stdio (no allocation). */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static const char *parse_uint(const char *s, int *out)
{
    int v = 0;
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9' && v < 1000000)
        v = v * 10 + (*s++ - '0');
    *out = v;
    return s;
}

/* Marks every CPU of a cpulist ("0-3,8,10-11") as belonging to node. */
static void assign_cpulist(const char *list, int node)
{
    const char *s = list;
    int first, last;
    while ((s = parse_uint(s, &first)) != NULL) {
        last = first;
        if (*s == '-' && !(s = parse_uint(s + 1, &last)))
            break;
        for (int cpu = first; cpu <= last && cpu < R3_POOL_MAX_CPUS; cpu++) {
            machine_node_of[cpu] = (uint8_t)node;
            if (cpu + 1 > machine_cpus)
                machine_cpus = cpu + 1;
        }
        if (*s != ',')
            break;
        s++;
    }
}

static void machine_read(void)
{
    int cpus = r3_os_cpu_count();
    machine_cpus = cpus < R3_POOL_MAX_CPUS ? cpus : R3_POOL_MAX_CPUS;
    char path[64], list[4096];
    for (int node = 0; node < R3_POOL_MAX_NODES; node++) {
        /* Node directories may be sparse: try every number once. */
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", node);
        if (read_small_file(path, list, sizeof list) <= 0)
            continue;
        assign_cpulist(list, node);
        if (node + 1 > machine_nodes)
            machine_nodes = node + 1;
    }
}

static int machine_node_of_cpu(int cpu)
{
    return cpu >= 0 && cpu < R3_POOL_MAX_CPUS ? machine_node_of[cpu] : 0;
}

static int machine_bind(void *p, size_t size, int node)
{
    return r3_os_bind_node(p, size, node) ? 0 : -errno;
}

static void machine_topology(r3_pool_topology *t)
{
    pthread_once(&machine_once, machine_read);
    t->node_count = machine_nodes;
    t->cpu_count = machine_cpus;
    t->node_of_cpu = machine_node_of_cpu;
    t->current_cpu = machine_current_cpu;
    t->bind_memory = machine_bind;
}

const r3_pool_topology *pool_topology(void)
{
    if (active_is_machine && !active.current_cpu)
        machine_topology(&active);
    return &active;
}

bool pool_topology_is_machine(void)
{
    return active_is_machine;
}

int pool_bind(void *p, size_t size, int node)
{
    return pool_topology()->bind_memory(p, size, node);
}

R3_API int r3_pool_set_topology(const r3_pool_topology *topo)
{
    if (!topo) {
        machine_topology(&active);
        active_is_machine = true;
        return 0;
    }
    if (topo->node_count < 1 || topo->node_count > R3_POOL_MAX_NODES ||
        topo->cpu_count < 1 || topo->cpu_count > R3_POOL_MAX_CPUS ||
        !topo->node_of_cpu || !topo->current_cpu || !topo->bind_memory) {
        errno = EINVAL;
        return -EINVAL;
    }
    active = *topo;
    active_is_machine = false;
    return 0;
}

R3_API void r3_pool_get_topology(r3_pool_topology *out)
{
    if (out)
        *out = *pool_topology();
}

R3_API int r3_pool_current_cpu(void)
{
    return machine_current_cpu();
}
