/* bench-spawn: runs one measured program and reports its wall time and peak
 * resident set size.
 *
 * usage: bench-spawn RESULT_FILE PROGRAM [ARGUMENT...]
 * Writes "SECONDS PEAK_RSS_KIB CPU_SECONDS" to RESULT_FILE (CPU = user +
 * system time of the program and its waited-for descendants) and exits with the program's
 * status (128 + signal when killed).
 *
 * Why a separate program: the peak RSS that wait4() reports for a child
 * includes the memory of the process it was forked from before exec. Forked
 * from the Python runner, every program would appear to use the runner's
 * 15 MiB. This launcher is small and starts the program with posix_spawn
 * (a vfork), so the floor it adds is its own ~1 MiB, below any program's. */
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fputs("usage: bench-spawn RESULT_FILE PROGRAM [ARGUMENT...]\n", stderr);
    return 2;
  }
  double start = now_seconds();
  pid_t child;
  int error = posix_spawnp(&child, argv[2], NULL, NULL, argv + 2, environ);
  if (error) {
    fprintf(stderr, "bench-spawn: cannot run %s\n", argv[2]);
    return 127;
  }
  int status;
  struct rusage usage;
  if (wait4(child, &status, 0, &usage) != child) {
    perror("bench-spawn: wait4");
    return 127;
  }
  double seconds = now_seconds() - start;
  FILE *result = fopen(argv[1], "w");
  double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
               (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
  if (!result || fprintf(result, "%.6f %ld %.6f\n", seconds, usage.ru_maxrss, cpu) < 0 ||
      fclose(result)) {
    perror("bench-spawn: result file");
    return 127;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
