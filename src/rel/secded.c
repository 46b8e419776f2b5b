/* SECDED (72,64) tables and the block encoder/decoder. See secded.h. */
#include "secded.h"
#include <pthread.h>
#include <string.h>

/* Column parts, found by search: A[j] odd weight, H[k] even weight, the 64
 * sums A[j] ^ H[k] distinct and of weight >= 3 (so never a unit column). */
static const uint8_t column_bit[8]  = {0xad, 0xa1, 0xfb, 0x94, 0xfe, 0xe3, 0x83, 0xd3};
static const uint8_t column_byte[8] = {0xc5, 0xc6, 0x4e, 0xcf, 0xcc, 0x5f, 0x4d, 0x5c};

uint8_t r3_secded_fold_table[256];
uint8_t r3_secded_parity_table[256];
static uint8_t locate_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (unsigned x = 0; x < 256; x++) {
        uint8_t a = 0, h = 0;
        for (unsigned b = 0; b < 8; b++)
            if (x & (1u << b)) {
                a ^= column_bit[b];
                h ^= column_byte[b];
            }
        r3_secded_fold_table[x] = a;
        r3_secded_parity_table[x] = h;
        locate_table[x] = (__builtin_popcount(x) & 1) ? SECDED_MULTI : SECDED_DOUBLE;
    }
    for (unsigned k = 0; k < 8; k++)
        for (unsigned j = 0; j < 8; j++)
            locate_table[column_bit[j] ^ column_byte[k]] = (uint8_t)(8 * k + j);
    for (unsigned c = 0; c < 8; c++)
        locate_table[1u << c] = (uint8_t)(SECDED_CHECK_BIT + c);
}

void r3_secded_init_tables(void)
{
    pthread_once(&tables_once, build_tables);
}

unsigned r3_secded_locate(uint8_t syndrome)
{
    return locate_table[syndrome];
}

void r3_secded_encode(uint64_t *dst, uint8_t *check, const void *src, size_t n)
{
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        memcpy(&w, s + 8 * i, 8);
        dst[i] = w;
        check[i] = r3_secded_check(w);
    }
}

size_t r3_secded_decode_clean(void *dst, const uint64_t *data, const uint8_t *check, size_t n)
{
    unsigned char *d = dst;
    size_t i = 0;
    /* Eight words at a time: one branch per group on the OR of syndromes. */
    for (; i + 8 <= n; i += 8) {
        uint64_t w[8];
        uint8_t bad = 0;
        for (unsigned k = 0; k < 8; k++) {
            w[k] = data[i + k];
            bad |= (uint8_t)(r3_secded_check(w[k]) ^ check[i + k]);
        }
        if (bad)
            break;
        memcpy(d + 8 * i, w, sizeof w);
    }
    for (; i < n; i++) {
        uint64_t w = data[i];
        if (r3_secded_check(w) != check[i])
            return i;
        memcpy(d + 8 * i, &w, 8);
    }
    return n;
}
