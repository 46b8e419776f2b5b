/* Small helpers shared by the pool tests. */
#ifndef R3_POOL_TEST_H
#define R3_POOL_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define SKIP_CODE 77

/* The number of lines of /proc/self/maps: a new mapping adds one unless
 * the kernel merges it with a neighbour, so an unchanged count after a
 * clear-and-refill plus unchanged addresses shows that nothing was mapped. */
static inline int mapping_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines;
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * 4096;
}

#endif
