/* What the tests read of the process's memory, for every test tree. */
#ifndef R3_TEST_MEMORY_H
#define R3_TEST_MEMORY_H
#include "check.h"
#include <stdio.h>
#include <unistd.h>

/* Resident anonymous memory in KiB: /proc/self/statm's resident minus its
 * shared (file-backed) pages. The heap is anonymous; the C library's code
 * pages, which the kernel maps in 64 KiB batches around each fault, would
 * make the total vary by a hundred KiB from run to run. */
static inline long rss_kib(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = -1, shared = 0;
  CHECK(f != NULL);
  CHECK(fscanf(f, "%ld %ld %ld", &size, &resident, &shared) == 3);
  fclose(f);
  return (resident - shared) * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
