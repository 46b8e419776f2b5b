/* Shared helpers of the benchmark workloads in bench/workloads/.
 *
 * Every workload verifies what it measures, so that an allocator that hands
 * out overlapping or damaged memory fails instead of winning: each block is
 * allocated through bench_block_alloc(), which stamps it with a tag, and
 * released through bench_block_free(), which checks the stamp before freeing.
 * A workload adds the tags it allocates and the tags it frees; the two sums
 * must match at the end (every block freed exactly once, contents intact).
 *
 * Command line, common to every workload:
 *   prog [--tiny] [-n SIZE] [-t THREADS] [-i ITERATIONS] [-s SEED] [-m MODE]
 * --tiny selects the workload's CI defaults; the other options override a
 * default each. The meaning of SIZE, ITERATIONS and MODE is the workload's
 * (see its usage text). Exit status: 0 verified, 1 verification failed,
 * 2 bad usage.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  long size;          /* -n: the workload's size knob (objects, bytes, MiB) */
  int threads;        /* -t */
  long iterations;    /* -i */
  uint64_t seed;      /* -s */
  const char *mode;   /* -m: a workload variant, NULL when it has none */
} bench_params;

/* Parses the command line into *out, starting from `normal` (or `tiny` when
 * --tiny is given). Prints `usage` and exits 2 on a bad option or a value
 * below 1. Not thread-safe (call from main). O(argc). */
void bench_parse(int argc, char **argv, const char *usage, bench_params normal,
                 bench_params tiny, bench_params *out);

/* A small fast generator (splitmix64): deterministic for a given seed, one
 * per thread (not thread-safe). */
typedef struct {
  uint64_t state;
} bench_rng;

/* A generator for stream `stream` of `seed`; distinct streams are unrelated. */
bench_rng bench_rng_make(uint64_t seed, uint64_t stream);

/* The next 64 random bits. O(1). */
uint64_t bench_next(bench_rng *rng);

/* A uniform integer in [lo, hi] (inclusive; lo <= hi). O(1). */
size_t bench_uniform(bench_rng *rng, size_t lo, size_t hi);

/* An integer in [lo, hi] whose logarithm is uniform: small sizes are as
 * frequent per octave as large ones, as in real programs. 1 <= lo <= hi. */
size_t bench_log_uniform(bench_rng *rng, size_t lo, size_t hi);

/* The smallest block bench_block_alloc accepts: its header. */
#define BENCH_BLOCK_MIN 16

/* Allocates `size` bytes with malloc and stamps them with `tag`: a header
 * (tag, size), the last byte and one word per 4 KiB page, so the memory is
 * touched as a program would touch it. size >= BENCH_BLOCK_MIN. Prints the
 * failure and exits 1 when malloc returns NULL. Thread-safe. O(size / 4096). */
void *bench_block_alloc(size_t size, uint64_t tag);

/* Checks the stamp of a block from bench_block_alloc, frees it and returns
 * its tag. Prints what is damaged and exits 1 when the stamp does not hold.
 * Thread-safe; the block may come from another thread. O(size / 4096). */
uint64_t bench_block_free(void *block);

/* Prints "<name>: verified, checksum <hex>" and returns 0 when allocated ==
 * freed; otherwise prints both sums and returns 1. Use as main's result. */
int bench_report(const char *name, uint64_t allocated, uint64_t freed);

/* Prints "<name>: verification failed: <what>" on stderr and exits 1. */
_Noreturn void bench_fail(const char *name, const char *what);

/* Runs fn(arg_i) on `count` threads, arg_i = args + i * arg_size, and joins
 * them. Exits 1 when a thread cannot be created. */
void bench_run_threads(int count, void *(*fn)(void *), void *args, size_t arg_size);

/* The resident set size of this process now, in KiB (0 if unknown). */
long bench_rss_kib(void);

/* The peak resident set of this process image (VmHWM), in KiB, -1 if
 * unknown. Unlike getrusage's ru_maxrss it starts afresh at exec, so the
 * parent that launched the benchmark does not count. */
long bench_peak_rss_kib(void);

#endif
