/* What the tests read of the process's memory, for every test tree. */
#ifndef R3_TEST_MEMORY_H
#define R3_TEST_MEMORY_H
#include "check.h"
#include <stdio.h>
#include <unistd.h>

/* Current resident set size in KiB (from /proc/self/statm). */
static inline long rss_kib(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = -1;
  CHECK(f != NULL);
  CHECK(fscanf(f, "%ld %ld", &size, &resident) == 2);
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
