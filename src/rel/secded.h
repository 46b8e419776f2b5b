/* The SECDED (72,64) code of the reliable heap: one check byte per 64-bit
 * data word.
 *
 * It is a Hsiao code (every column of the parity-check matrix has odd weight,
 * all columns distinct), so one flipped bit anywhere in the 72 bits gives the
 * column of that bit as syndrome (corrected), and two flipped bits give a
 * non-zero even-weight syndrome (detected). The columns were chosen with a
 * structure that makes encoding cheap: the column of data bit j of byte k is
 * A[j] ^ H[k] (A[j] of odd weight, H[k] of even weight, all 64 sums distinct
 * and of weight >= 3), so that
 *     check(d) = A * fold(d)  ^  H * byte_parities(d)
 * where fold(d) is the XOR of the eight bytes of d and byte_parities(d) has
 * bit k = parity of byte k: a few shifts and two 256-entry table look-ups
 * per word instead of eight parity trees. The all-zero word has check 0, so
 * zero-filled memory is a valid codeword.
 */
#ifndef R3_REL_SECDED_H
#define R3_REL_SECDED_H
#include <stddef.h>
#include <stdint.h>

extern uint8_t r3_secded_fold_table[256];     /* A * x */
extern uint8_t r3_secded_parity_table[256];   /* H * x */

/* What a syndrome means (r3_secded_locate). */
#define SECDED_CHECK_BIT  64     /* 64..71: check bit (value - 64) */
#define SECDED_DOUBLE     0xfe   /* even weight: two bits flipped */
#define SECDED_MULTI      0xff   /* odd weight, no column: three or more */

void r3_secded_init_tables(void);

static inline uint8_t r3_secded_check(uint64_t d)
{
    uint64_t f = d ^ (d >> 32);
    f ^= f >> 16;
    f ^= f >> 8;
    uint64_t x = d ^ (d >> 4);
    x ^= x >> 2;
    x ^= x >> 1;
    x &= 0x0101010101010101ull;
    /* Gathers bit 8k of x into bit 56+k: the products never collide. */
    uint64_t parities = (x * 0x0102040810204080ull) >> 56;
    return r3_secded_fold_table[f & 0xff] ^ r3_secded_parity_table[parities];
}

/* 0..63 data bit, 64..71 check bit, SECDED_DOUBLE, SECDED_MULTI; syndrome
 * must be non-zero. */
unsigned r3_secded_locate(uint8_t syndrome);

/* Encodes n words: check[i] = r3_secded_check(src[i]), and copies the words
 * to dst (src may be unaligned). Picks the fastest variant for this CPU. */
void r3_secded_encode(uint64_t *dst, uint8_t *check, const void *src, size_t n);

/* Copies n words to dst (may be unaligned) while checking them; returns the
 * index of the first word whose syndrome is not zero, or n when all are
 * clean (those before it are copied). */
size_t r3_secded_decode_clean(void *dst, const uint64_t *data, const uint8_t *check, size_t n);

#endif
