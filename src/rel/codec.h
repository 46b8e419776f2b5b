/* The bulk codecs of the reliable heap: whole-word runs encoded, checked
 * and copied in one pass. One variant per instruction set (scalar, AVX2,
 * AVX-512 with GFNI), picked once at run time from the CPU's features; the
 * environment variable R3_REL_CODEC=scalar|avx2|avx512 forces one (for
 * benchmarks). Every variant gives results identical to the scalar one
 * (tests/rel/test_secded.c compares them). */
#ifndef R3_REL_CODEC_H
#define R3_REL_CODEC_H
#include <stddef.h>
#include <stdint.h>

typedef struct rel_codec {
    const char *name;
    /* check[i] = SECDED check byte of word i; words copied to dst. */
    void (*secded_encode)(uint64_t *dst, uint8_t *check, const void *src, size_t n);
    /* Copies clean words to dst; returns the index of the first word whose
     * check byte does not match, or n. */
    size_t (*secded_decode_clean)(void *dst, const uint64_t *data, const uint8_t *check, size_t n);
    /* Copies words of a to dst while a[i] == b[i]; returns the index of the
     * first disagreement, or n. The third copy is not read. */
    size_t (*tmr_read_clean)(void *dst, const uint64_t *a, const uint64_t *b, size_t n);
} rel_codec;

/* The variant for this CPU (or R3_REL_CODEC); never NULL. Thread-safe. */
const rel_codec *rel_codec_get(void);
/* A named variant, or NULL when the CPU lacks it. */
const rel_codec *rel_codec_named(const char *name);

#endif
