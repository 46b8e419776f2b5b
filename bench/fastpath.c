/* fastpath: the allocator's fast path in isolation, for instruction counts.
 * A single thread keeps a window of 256 live blocks; each step allocates a
 * block of a random size in 8..519 bytes and frees the block it replaces.
 * The generator has a fixed seed, so every run executes the same calls.
 *
 * Built twice: `fastpath` and `fastpath-baseline`, the same loop with the
 * malloc and free calls compiled out (FASTPATH_BASELINE). The difference of
 * their instruction counts, divided by the steps, is the cost of one
 * malloc + free pair (bench/fastpath-callgrind does this).
 *
 * usage: fastpath STEPS    (prints a checksum of the sizes, exit 0) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { WINDOW = 256, MIN_SIZE = 8, SIZE_SPAN = 512 };

static void *window[WINDOW];

int main(int argc, char **argv) {
  long steps = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
  if (steps < 1) {
    fputs("usage: fastpath STEPS\n", stderr);
    return 2;
  }
  uint32_t state = 0x2545f491u;  /* xorshift32: cheap, so it barely counts */
  uint64_t checksum = 0;
  for (long step = 0; step < steps; step++) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    size_t size = MIN_SIZE + (state >> 8) % SIZE_SPAN;
    unsigned slot = state & (WINDOW - 1);
#ifdef FASTPATH_BASELINE
    void *block = (void *)(uintptr_t)size;
#else
    free(window[slot]);
    void *block = malloc(size);
    if (!block) return 1;
    *(volatile char *)block = (char)size;
#endif
    window[slot] = block;
    checksum += size;
  }
#ifndef FASTPATH_BASELINE
  for (unsigned slot = 0; slot < WINDOW; slot++) free(window[slot]);
#endif
  printf("fastpath: %ld steps, checksum %llu\n", steps, (unsigned long long)checksum);
  return 0;
}
