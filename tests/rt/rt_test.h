/* Helpers shared by the tests of tests/rt: a seeded generator and checks
 * that name the failing line. */
#ifndef RT_TEST_H
#define RT_TEST_H
#include "../common/check.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); if (a_ != b_) { \
    fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, a_, b_); \
    exit(1); } } while (0)

typedef struct rng { uint64_t s; } rng;

static inline uint64_t rng_next(rng *r)
{
    /* splitmix64: fine statistics, one word of state, reproducible. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t rng_below(rng *r, uint64_t n) { return n ? rng_next(r) % n : 0; }

/* Log-uniform in [1, max]: as many small sizes as large ones per octave,
 * which is what fragments a heap. */
static inline size_t rng_size(rng *r, size_t max)
{
    unsigned bits = 0;
    while (((size_t)1 << bits) < max)
        bits++;
    size_t top = (size_t)1 << rng_below(r, bits + 1);
    size_t s = top / 2 + rng_below(r, top / 2 + 1);
    if (s == 0) s = 1;
    return s > max ? max : s;
}

/* The byte pattern block id holds at offset i. */
static inline unsigned char pattern(uint64_t id, size_t i) { return (unsigned char)(id * 131 + i * 7 + 1); }

#endif
