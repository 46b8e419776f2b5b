/* The SECDED (72,64) code itself: every single-bit error in a codeword is
 * located, every double-bit error is flagged as such. */
#include "rel/codec.h"
#include "rel/secded.h"
#include "rel_test.h"

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Flips bit pos (0..63 data, 64..71 check) of the codeword (d, c). */
static void flip(uint64_t *d, uint8_t *c, unsigned pos)
{
    if (pos < 64)
        *d ^= 1ull << pos;
    else
        *c ^= (uint8_t)(1u << (pos - 64));
}

int main(void)
{
    r3_secded_init_tables();
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    CHECK(r3_secded_check(0) == 0);
    unsigned words = 0;
    for (int round = 0; round < 200; round++, words++) {
        uint64_t d = round == 0 ? 0 : round == 1 ? ~0ull : next_random(&seed);
        uint8_t c = r3_secded_check(d);
        for (unsigned i = 0; i < 72; i++) {
            uint64_t d1 = d;
            uint8_t c1 = c;
            flip(&d1, &c1, i);
            uint8_t s = r3_secded_check(d1) ^ c1;
            CHECK(s != 0);
            CHECK(r3_secded_locate(s) == i);
            for (unsigned j = i + 1; j < 72; j++) {
                uint64_t d2 = d1;
                uint8_t c2 = c1;
                flip(&d2, &c2, j);
                uint8_t s2 = r3_secded_check(d2) ^ c2;
                CHECK(s2 != 0);
                CHECK(r3_secded_locate(s2) == SECDED_DOUBLE);
            }
        }
    }
    /* The block decoder agrees with the word check. */
    uint64_t data[100], out[100];
    uint8_t check[100];
    for (unsigned i = 0; i < 100; i++)
        data[i] = next_random(&seed);
    uint64_t copy[100];
    r3_secded_encode(copy, check, data, 100);
    CHECK(memcmp(copy, data, sizeof data) == 0);
    CHECK(r3_secded_decode_clean(out, copy, check, 100) == 100);
    CHECK(memcmp(out, data, sizeof data) == 0);
    copy[37] ^= 1ull << 5;
    CHECK(r3_secded_decode_clean(out, copy, check, 100) == 37);
    /* Every bulk variant the CPU has agrees with the scalar code, at every
     * length and every position of a first bad word. */
    static const char *variants[] = {"scalar", "avx2", "avx512"};
    unsigned tested = 0;
    for (unsigned v = 0; v < 3; v++) {
        const rel_codec *c = rel_codec_named(variants[v]);
        if (!c)
            continue;
        tested++;
        for (size_t n = 0; n <= 100; n++) {
            uint64_t enc[100], tmr[100];
            uint8_t chk[100];
            r3_secded_encode(copy, check, data, n);
            c->secded_encode(enc, chk, data, n);
            CHECK(memcmp(enc, data, 8 * n) == 0 && memcmp(chk, check, n) == 0);
            CHECK(c->secded_decode_clean(out, enc, chk, n) == n && memcmp(out, data, 8 * n) == 0);
            CHECK(c->tmr_read_clean(out, data, enc, n) == n && memcmp(out, data, 8 * n) == 0);
            for (size_t bad = 0; bad < n; bad++) {
                enc[bad] ^= 1ull << (bad % 64);
                CHECK(c->secded_decode_clean(out, enc, chk, n) == bad);
                CHECK(memcmp(out, data, 8 * bad) == 0);
                memcpy(tmr, data, 8 * n);
                CHECK(c->tmr_read_clean(out, tmr, enc, n) == bad);
                enc[bad] ^= 1ull << (bad % 64);
            }
        }
    }
    CHECK(rel_codec_get() != NULL);
    printf("secded: %u words, every single error located, every double error detected; %u codec variants"
           " agree (active: %s)\n", words, tested, rel_codec_get()->name);
    return 0;
}
