/* Options from the environment, all read here, once, at initialisation.
 *
 *   R3MALLOC_VERBOSE=1      print what the allocator decides (arenas, options)
 *   R3MALLOC_SHOW_STATS=1   print statistics at exit (r3_stats_print)
 *   R3MALLOC_ARENAS=N       at most N medium arenas (default one per CPU, 1..256)
 *   R3MALLOC_DECAY_MS=N     unused memory goes back to the OS after N ms
 *                           (default 500; 0 = at once)
 *   R3MALLOC_RETAIN_MB=N    at most N MiB of unused memory wait for the decay
 *                           delay; beyond that the oldest goes back at once
 *                           (default 32)
 *   R3MALLOC_BACKGROUND=0   no background purger thread: unused memory then
 *                           decays on allocator activity only (default 1)
 */
#include "internal.h"
#include <stdlib.h>

options_t r3_options = {
    .verbose = false,
    .show_stats = false,
    .max_arenas = 8,
    .decay_ms = 500,
    .retain_bytes = (size_t)32 << 20,
    .background = true,
};

/* getenv and a hand-made parser: nothing here may allocate. */
static bool env_number(const char *name, uint64_t *out)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 - 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static void say(const char *a, uint64_t n)
{
    char line[96], digits[24];
    int d = 0;
    do digits[d++] = (char)('0' + n % 10); while ((n /= 10) && d < 23);
    size_t k = 0;
    for (const char *c = "r3malloc: "; *c; c++) line[k++] = *c;
    for (const char *c = a; *c && k < 60; c++) line[k++] = *c;
    while (d) line[k++] = digits[--d];
    line[k++] = '\n';
    line[k] = 0;
    r3_os_print(line);
}

void r3_options_read(void)
{
    uint64_t v;
    unsigned cpus = (unsigned)r3_os_usable_cpus();
    r3_options.max_arenas = cpus < MAX_ARENAS ? cpus : MAX_ARENAS;
    if (env_number("R3MALLOC_VERBOSE", &v)) r3_options.verbose = v != 0;
    if (env_number("R3MALLOC_SHOW_STATS", &v)) r3_options.show_stats = v != 0;
    if (env_number("R3MALLOC_ARENAS", &v) && v >= 1)
        r3_options.max_arenas = v < MAX_ARENAS ? (unsigned)v : MAX_ARENAS;
    if (env_number("R3MALLOC_DECAY_MS", &v)) r3_options.decay_ms = v;
    if (env_number("R3MALLOC_BACKGROUND", &v)) r3_options.background = v != 0;
    if (env_number("R3MALLOC_RETAIN_MB", &v) && v < ((uint64_t)1 << 40))
        r3_options.retain_bytes = (size_t)v << 20;
    if (r3_options.verbose) {
        say("max arenas ", r3_options.max_arenas);
        say("decay ms ", r3_options.decay_ms);
        say("retain MiB ", r3_options.retain_bytes >> 20);
    }
}
