/* rel-latency: latency of r3_rel_alloc/free/read/write (64-byte reads and
 * writes) under the fragmenting load of bench_churn, for the reliable heap
 * with --code=secded|tmr, --realtime=0|1 and --capacity=MiB (default 256).
 * Built only when include/r3rel.h exists. */
#include "latency.h"
#include "r3rel.h"
#include <stdlib.h>
#include <string.h>

static uint64_t rel_alloc(size_t size) { return r3_rel_alloc(size); }
static void rel_release(uint64_t block) { r3_rel_free(block); }

static void rel_access(uint64_t block, size_t offset, size_t len, int write)
{
    static unsigned char buf[64];
    if (write)
        r3_rel_write(block, offset, buf, len);
    else
        r3_rel_read(block, offset, buf, len);
}

int main(int argc, char **argv)
{
    r3_rel_config cfg;
    r3_rel_default_config(&cfg);
    cfg.code = strcmp(bench_option(argc, argv, "code", "secded"), "tmr") == 0 ? R3_REL_TMR : R3_REL_SECDED;
    cfg.realtime = strcmp(bench_option(argc, argv, "realtime", "0"), "1") == 0;
    cfg.capacity = strtoul(bench_option(argc, argv, "capacity", "256"), NULL, 10) << 20;
    cfg.scrub_interval_ms = 0;
    int rc = r3_rel_init(&cfg);
    if (rc) {
        fprintf(stderr, "rel-latency: r3_rel_init: %s\n", strerror(-rc));
        return 1;
    }
    bench_target t = {bench_option(argc, argv, "label", "rel"), rel_alloc, rel_release, rel_access};
    if (strcmp(bench_option(argc, argv, "header", "0"), "1") == 0)
        latency_print_header(stdout);
    return bench_churn(&t, argc, argv);
}
