/* Whole-heap operations: checking, collecting, statistics. */
#include "internal.h"
#include <inttypes.h>
#include <stdio.h>

#if R3_STATS
stats_t r3_stats;
#endif

static int report(const char *what, int rc)
{
    if (rc) {
        char line[96];
        snprintf(line, sizeof line, "r3malloc: heap check failed: %s (code %d)\n", what, rc);
        r3_os_print(line);
    }
    return rc;
}

int r3_heap_check(void)
{
    int rc = report("segments", segment_check());
    if (!rc) rc = report("thread heap", heap_check());
    if (!rc) rc = report("abandoned pages", abandoned_check());
    if (!rc) rc = report("arenas", arena_check());
    return rc;
}

size_t r3_collect(void)
{
    if (r3_thread_heap != &r3_empty_heap)
        heap_release_spares(r3_thread_heap);
    size_t bytes = abandoned_collect();
    bytes += page_claims_collect();
    bytes += arena_collect(true);
    bytes += huge_collect(true);
    bytes += segment_collect(true);
    return bytes;
}

#if R3_DEBUG
/* After every operation, the structure it touched: the page of a small block
 * (all its lists), or for a medium block its arena's links around it; and
 * every 1024 operations of a thread, the whole heap. This keeps debug builds
 * usable on large heaps while every operation is still checked. */
void r3_debug_check(const void *p)
{
    static __thread unsigned counter __attribute__((tls_model("initial-exec")));
    int rc = 0;
    if ((++counter & 1023) == 0)
        rc = r3_heap_check();
    else if (p && segment_kind_of(p) == KIND_SMALL)
        rc = report("page", page_check_owned(page_of(segment_of(p), p)));
    if (rc)
        r3_fatal("heap check failed after an operation at", p);
}
#endif

void r3_stats_print(FILE *out)
{
    size_t mapped, segments, huge_bytes, huge_blocks;
    segment_stats(&mapped, &segments);
    huge_stats(&huge_bytes, &huge_blocks);
    fprintf(out, "r3malloc %s statistics\n", R3_VERSION);
    fprintf(out, "  segments       %zu (%zu KiB)\n", segments, mapped / 1024);
    fprintf(out, "  huge blocks    %zu (%zu KiB)\n", huge_blocks, huge_bytes / 1024);
    fprintf(out, "  arenas         %u (cap %u)\n", arena_count(), r3_options.max_arenas);
    fprintf(out, "  thread heaps   %zu live\n", heap_count());
    unsigned splits = size_class_split_count();
    fprintf(out, "  split classes  %u", splits);
    for (unsigned i = 0; i < splits; i++)
        fprintf(out, "%s%u", i ? " " : ": ", r3_class_size[CLASS_STATIC + i]);
    fprintf(out, splits ? " bytes\n" : "\n");
    fprintf(out, "  decay          %" PRIu64 " ms\n", r3_options.decay_ms);
#if R3_STATS
#define LINE(name) fprintf(out, "  %-16s %" PRIu64 "\n", #name, (uint64_t)r3_load_relaxed(&r3_stats.name))
    LINE(malloc_small); LINE(malloc_medium); LINE(malloc_huge);
    LINE(free_small); LINE(free_remote); LINE(free_medium); LINE(free_deferred); LINE(free_huge);
    LINE(realloc_in_place); LINE(realloc_moved);
    LINE(pages_alloc); LINE(pages_abandoned); LINE(pages_adopted); LINE(purged_bytes);
#undef LINE
#endif
}
