/* Bulk codec variants and their run-time choice. See codec.h.
 *
 * The SIMD SECDED variants use the structure of the code (secded.h): the
 * check byte is A * fold(d) ^ H * byte_parities(d), two linear maps on one
 * byte each.
 *   AVX2:    fold by shifts; A * fold and the byte parities by 16-entry
 *            nibble tables (vpshufb); the parity bits gathered by vpmovmskb;
 *            four words per step.
 *   AVX-512: three GF(2) affine instructions (gf2p8affineqb) with the data
 *            word as the matrix and one ternary-logic instruction give the
 *            check byte of eight words (see checks_avx512); 32 words per
 *            branch.
 */
#include "codec.h"
#include "secded.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* --- scalar --- */

static size_t tmr_read_clean_scalar(void *dst, const uint64_t *a, const uint64_t *b, size_t n)
{
    unsigned char *d = dst;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        if ((a[i] ^ b[i]) | (a[i + 1] ^ b[i + 1]) | (a[i + 2] ^ b[i + 2]) | (a[i + 3] ^ b[i + 3]))
            break;
        memcpy(d + 8 * i, a + i, 32);
    }
    for (; i < n; i++) {
        if (a[i] != b[i])
            return i;
        memcpy(d + 8 * i, a + i, 8);
    }
    return n;
}

static const rel_codec codec_scalar = {"scalar", r3_secded_encode, r3_secded_decode_clean, tmr_read_clean_scalar};

/* --- constants of the SIMD variants --- */

static struct {
    __attribute__((aligned(32))) uint8_t fold_lo[32], fold_hi[32], parity_lo[32], parity_hi[32];
    __attribute__((aligned(16))) uint8_t byte_lo[16], byte_hi[16];
    uint64_t a_rows;         /* byte b: row 7-b of A (bit j = bit 7-b of A[j]) */
    uint64_t h_rows;         /* byte b, bit t: bit 7-b of H[7-t] */
} k;

static void build_constants(void)
{
    for (unsigned v = 0; v < 16; v++) {
        for (unsigned lane = 0; lane < 32; lane += 16) {
            k.fold_lo[lane + v] = r3_secded_fold_table[v];
            k.fold_hi[lane + v] = r3_secded_fold_table[v << 4];
            k.parity_lo[lane + v] = (uint8_t)((__builtin_popcount(v) & 1) << 7);
            k.parity_hi[lane + v] = k.parity_lo[lane + v];
        }
        k.byte_lo[v] = r3_secded_parity_table[v];
        k.byte_hi[v] = r3_secded_parity_table[v << 4];
    }
    for (unsigned b = 0; b < 8; b++) {
        unsigned row = 7 - b;
        uint64_t a = 0, h = 0;
        for (unsigned j = 0; j < 8; j++)
            a |= (uint64_t)((r3_secded_fold_table[1u << j] >> row) & 1) << j;
        for (unsigned t = 0; t < 8; t++)
            h |= (uint64_t)((r3_secded_parity_table[1u << (7 - t)] >> row) & 1) << t;
        k.a_rows |= a << (8 * b);
        k.h_rows |= h << (8 * b);
    }
}

/* --- AVX2 --- */

#define AVX2 __attribute__((target("avx2")))

/* The check bytes of the four words in d, in the low 32 bits. */
AVX2 static inline uint32_t checks_avx2(__m256i d)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i f = _mm256_xor_si256(d, _mm256_srli_epi64(d, 32));
    f = _mm256_xor_si256(f, _mm256_srli_epi64(f, 16));
    f = _mm256_xor_si256(f, _mm256_srli_epi64(f, 8));
    __m256i a = _mm256_xor_si256(
        _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)k.fold_lo), _mm256_and_si256(f, nib)),
        _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)k.fold_hi),
                            _mm256_and_si256(_mm256_srli_epi16(f, 4), nib)));
    __m256i p = _mm256_xor_si256(
        _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)k.parity_lo), _mm256_and_si256(d, nib)),
        _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)k.parity_hi),
                            _mm256_and_si256(_mm256_srli_epi16(d, 4), nib)));
    uint32_t parities = (uint32_t)_mm256_movemask_epi8(p);   /* byte L: parities of word L */
    __m128i pv = _mm_cvtsi32_si128((int)parities);
    __m128i h = _mm_xor_si128(_mm_shuffle_epi8(_mm_load_si128((const __m128i *)k.byte_lo),
                                               _mm_and_si128(pv, _mm_set1_epi8(0x0f))),
                              _mm_shuffle_epi8(_mm_load_si128((const __m128i *)k.byte_hi),
                                               _mm_and_si128(_mm_srli_epi16(pv, 4), _mm_set1_epi8(0x0f))));
    /* Byte 0 of each qword of a, to bytes 0..3. */
    __m256i gathered = _mm256_shuffle_epi8(a, _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                               -1, -1, -1, 0, 8, -1, -1, -1, -1, -1, -1, -1, -1,
                                                               -1, -1, -1, -1, -1, -1));
    __m128i av = _mm_unpacklo_epi16(_mm256_castsi256_si128(gathered), _mm256_extracti128_si256(gathered, 1));
    return (uint32_t)_mm_cvtsi128_si32(_mm_xor_si128(av, h));
}

AVX2 static void secded_encode_avx2(uint64_t *dst, uint8_t *check, const void *src, size_t n)
{
    const unsigned char *s = src;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i d = _mm256_loadu_si256((const __m256i *)(s + 8 * i));
        _mm256_storeu_si256((__m256i *)(dst + i), d);
        uint32_t c = checks_avx2(d);
        memcpy(check + i, &c, 4);
    }
    r3_secded_encode(dst + i, check + i, s + 8 * i, n - i);
}

AVX2 static size_t secded_decode_clean_avx2(void *dst, const uint64_t *data, const uint8_t *check, size_t n)
{
    unsigned char *out = dst;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i d = _mm256_loadu_si256((const __m256i *)(data + i));
        uint32_t stored;
        memcpy(&stored, check + i, 4);
        if (checks_avx2(d) != stored)
            break;
        _mm256_storeu_si256((__m256i *)(out + 8 * i), d);
    }
    return i + r3_secded_decode_clean(out + 8 * i, data + i, check + i, n - i);
}

AVX2 static size_t tmr_read_clean_avx2(void *dst, const uint64_t *a, const uint64_t *b, size_t n)
{
    unsigned char *out = dst;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(a + i + 4));
        __m256i diff = _mm256_or_si256(_mm256_xor_si256(x0, _mm256_loadu_si256((const __m256i *)(b + i))),
                                       _mm256_xor_si256(x1, _mm256_loadu_si256((const __m256i *)(b + i + 4))));
        if (!_mm256_testz_si256(diff, diff))
            break;
        _mm256_storeu_si256((__m256i *)(out + 8 * i), x0);
        _mm256_storeu_si256((__m256i *)(out + 8 * i + 32), x1);
    }
    return i + tmr_read_clean_scalar(out + 8 * i, a + i, b + i, n - i);
}

static const rel_codec codec_avx2 = {"avx2", secded_encode_avx2, secded_decode_clean_avx2, tmr_read_clean_avx2};

/* --- AVX-512 (F, BW, VL) with GFNI --- */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,gfni")))

/* The check bytes of the eight words in d. gf2p8affineqb multiplies each
 * byte of its first operand by an 8x8 bit matrix taken from the second
 * operand's qword; giving it the data word as the matrix makes it compute,
 * for a constant byte x, the parities of (every byte of d) & x at once.
 * Check bit i = parity over bytes k of [parity(byte k & rowA[i]) ^
 * (H[k] bit i & parity(byte k))] (secded.h), so:
 *   r = rows of A against every byte      (byte b: row 7-b, bit t: byte 7-t)
 *   p = parity of every byte              (every byte the same)
 *   z = r ^ (p & H rows)                  (one ternary-logic instruction)
 *   c = parity of every byte of z         (every byte: the check byte)
 * and vpmovqb packs one byte per word: five instructions per eight words. */
AVX512 static inline __m128i checks_avx512(__m512i d)
{
    const __m512i ones = _mm512_set1_epi8(-1);
    __m512i r = _mm512_gf2p8affine_epi64_epi8(_mm512_set1_epi64((long long)k.a_rows), d, 0);
    __m512i p = _mm512_gf2p8affine_epi64_epi8(ones, d, 0);
    __m512i z = _mm512_ternarylogic_epi64(r, p, _mm512_set1_epi64((long long)k.h_rows), 0x78);
    return _mm512_cvtepi64_epi8(_mm512_gf2p8affine_epi64_epi8(ones, z, 0));
}

AVX512 static void secded_encode_avx512(uint64_t *dst, uint8_t *check, const void *src, size_t n)
{
    const unsigned char *s = src;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i d = _mm512_loadu_si512(s + 8 * i);
        _mm512_storeu_si512(dst + i, d);
        _mm_storel_epi64((__m128i *)(check + i), checks_avx512(d));
    }
    r3_secded_encode(dst + i, check + i, s + 8 * i, n - i);
}

AVX512 static size_t secded_decode_clean_avx512(void *dst, const uint64_t *data, const uint8_t *check, size_t n)
{
    unsigned char *out = dst;
    size_t i = 0;
    /* 32 words a step, one branch on the OR of their syndromes. */
    for (; i + 32 <= n; i += 32) {
        __m512i d0 = _mm512_loadu_si512(data + i), d1 = _mm512_loadu_si512(data + i + 8);
        __m512i d2 = _mm512_loadu_si512(data + i + 16), d3 = _mm512_loadu_si512(data + i + 24);
        __m128i s01 = _mm_unpacklo_epi64(checks_avx512(d0), checks_avx512(d1));
        __m128i s23 = _mm_unpacklo_epi64(checks_avx512(d2), checks_avx512(d3));
        __m128i bad = _mm_or_si128(_mm_xor_si128(s01, _mm_loadu_si128((const __m128i *)(check + i))),
                                   _mm_xor_si128(s23, _mm_loadu_si128((const __m128i *)(check + i + 16))));
        if (!_mm_testz_si128(bad, bad))
            break;
        _mm512_storeu_si512(out + 8 * i, d0);
        _mm512_storeu_si512(out + 8 * i + 64, d1);
        _mm512_storeu_si512(out + 8 * i + 128, d2);
        _mm512_storeu_si512(out + 8 * i + 192, d3);
    }
    for (; i + 8 <= n; i += 8) {
        __m512i d = _mm512_loadu_si512(data + i);
        __m128i bad = _mm_xor_si128(checks_avx512(d), _mm_loadl_epi64((const __m128i *)(check + i)));
        if (_mm_cvtsi128_si64(bad))
            break;
        _mm512_storeu_si512(out + 8 * i, d);
    }
    return i + r3_secded_decode_clean(out + 8 * i, data + i, check + i, n - i);
}

AVX512 static size_t tmr_read_clean_avx512(void *dst, const uint64_t *a, const uint64_t *b, size_t n)
{
    unsigned char *out = dst;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i x0 = _mm512_loadu_si512(a + i), x1 = _mm512_loadu_si512(a + i + 8);
        __m512i x2 = _mm512_loadu_si512(a + i + 16), x3 = _mm512_loadu_si512(a + i + 24);
        __m512i diff = _mm512_or_si512(
            _mm512_or_si512(_mm512_xor_si512(x0, _mm512_loadu_si512(b + i)),
                            _mm512_xor_si512(x1, _mm512_loadu_si512(b + i + 8))),
            _mm512_or_si512(_mm512_xor_si512(x2, _mm512_loadu_si512(b + i + 16)),
                            _mm512_xor_si512(x3, _mm512_loadu_si512(b + i + 24))));
        if (_mm512_test_epi64_mask(diff, diff))
            break;
        _mm512_storeu_si512(out + 8 * i, x0);
        _mm512_storeu_si512(out + 8 * i + 64, x1);
        _mm512_storeu_si512(out + 8 * i + 128, x2);
        _mm512_storeu_si512(out + 8 * i + 192, x3);
    }
    return i + tmr_read_clean_scalar(out + 8 * i, a + i, b + i, n - i);
}

static const rel_codec codec_avx512 = {"avx512", secded_encode_avx512, secded_decode_clean_avx512,
                                       tmr_read_clean_avx512};

/* --- choice --- */

static pthread_once_t constants_once = PTHREAD_ONCE_INIT;
static const rel_codec *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

const rel_codec *rel_codec_named(const char *name)
{
    r3_secded_init_tables();
    pthread_once(&constants_once, build_constants);
    __builtin_cpu_init();
    if (!strcmp(name, "scalar"))
        return &codec_scalar;
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2") ? &codec_avx2 : NULL;
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                       && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("gfni")
                   ? &codec_avx512
                   : NULL;
    return NULL;
}

static void choose(void)
{
    const char *forced = getenv("R3_REL_CODEC");
    chosen = forced ? rel_codec_named(forced) : NULL;
    /* The widest available: measured fastest here (docs/reliability.md). */
    static const char *order[] = {"avx512", "avx2", "scalar"};
    for (unsigned i = 0; !chosen && i < 3; i++)
        chosen = rel_codec_named(order[i]);
}

const rel_codec *rel_codec_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
