/* The reliable heap through its API, for one code (argv[1]: tmr|secded):
 * round trips, rejected misuse, every single-bit error of a data codeword
 * corrected, double errors detected, one damaged TMR copy survived, and
 * flips in every metadata word survived with nothing misrouted or leaked. */
#include "rel_test.h"

#define CAPACITY ((size_t)256 << 10)
#define BLOCKS 64

static r3_rel_code code;
static uint64_t seed = 88172645463325252ull;
static uint64_t events_seen;

static uint64_t next_random(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static void count_event(const r3_rel_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    events_seen++;
}

static void fill(unsigned char *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + salt);
}

static void misuse_before_init(void)
{
    unsigned char b[8] = {0};
    CHECK(r3_rel_read(0x100000001ull, 0, b, 8) == -EINVAL);
    CHECK(r3_rel_write(0x100000001ull, 0, b, 8) == -EINVAL);
    CHECK(r3_rel_free(0x100000001ull) == -EINVAL);
    CHECK(r3_rel_shutdown() == -EINVAL);
    r3_rel_config bad = rel_test_config(7, CAPACITY);
    CHECK(r3_rel_init(&bad) == -EINVAL);
}

static void round_trips(void)
{
    static unsigned char in[20000], out[20000];
    size_t sizes[] = {0, 1, 7, 8, 9, 63, 4096, 4097, 12345, 20000};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        r3_rel_handle h = r3_rel_alloc(n);
        CHECK(h != 0);
        CHECK(r3_rel_size(h) == n);
        fill(in, n, i);
        CHECK(r3_rel_write(h, 0, in, n) == 0);
        memset(out, 0, n);
        CHECK(r3_rel_read(h, 0, out, n) == 0);
        CHECK(memcmp(in, out, n) == 0);
        /* Unaligned pieces, across chunk boundaries. */
        for (size_t off = 0; n > 8 && off < n; off += 1 + n / 7) {
            size_t len = (n - off) / 2 + 1;
            fill(in + off, len, i + 100);
            CHECK(r3_rel_write(h, off, in + off, len) == 0);
            CHECK(r3_rel_read(h, 0, out, n) == 0);
            CHECK(memcmp(in, out, n) == 0);
            CHECK(r3_rel_read(h, off, out, len) == 0);
            CHECK(memcmp(in + off, out, len) == 0);
        }
        CHECK(r3_rel_free(h) == 0);
    }
}

static void misuse(void)
{
    unsigned char b[64] = {0};
    r3_rel_handle h = r3_rel_alloc(40);
    CHECK(h);
    CHECK(r3_rel_read(0, 0, b, 1) == -EINVAL);
    CHECK(r3_rel_read(h + 1000, 0, b, 1) == -EINVAL);
    CHECK(r3_rel_read(h, 0, NULL, 1) == -EINVAL);
    CHECK(r3_rel_write(h, 0, NULL, 1) == -EINVAL);
    CHECK(r3_rel_read(h, 0, NULL, 0) == 0);
    CHECK(r3_rel_read(h, 40, b, 0) == 0);
    CHECK(r3_rel_read(h, 41, b, 0) == -ERANGE);
    CHECK(r3_rel_read(h, 33, b, 8) == -ERANGE);
    CHECK(r3_rel_write(h, 1, b, 40) == -ERANGE);
    CHECK(r3_rel_write(h, SIZE_MAX, b, 2) == -ERANGE);
    CHECK(r3_rel_write(h, 8, b, SIZE_MAX - 4) == -ERANGE);
    /* Any one flipped bit of a handle makes it invalid. */
    for (unsigned bit = 0; bit < 64; bit++)
        CHECK(r3_rel_read(h ^ (1ull << bit), 0, b, 8) == -EINVAL);
    CHECK(r3_rel_free(h) == 0);
    CHECK(r3_rel_free(h) == -EINVAL);                 /* double free */
    CHECK(r3_rel_read(h, 0, b, 8) == -EINVAL);         /* stale */
    r3_rel_handle again = r3_rel_alloc(40);            /* same slot, new generation */
    CHECK(again && again != h);
    CHECK(r3_rel_read(h, 0, b, 8) == -EINVAL);
    CHECK(r3_rel_free(again) == 0);
    errno = 0;
    CHECK(r3_rel_alloc(CAPACITY + 1) == 0 && errno == ENOMEM);
    CHECK(r3_rel_alloc(SIZE_MAX) == 0 && errno == ENOMEM);
    /* The block table is a fixed capacity too. */
    static r3_rel_handle all[300];
    unsigned n = 0;
    while (n < 300 && (all[n] = r3_rel_alloc(8)) != 0)
        n++;
    CHECK(n == 256 && errno == ENOMEM);
    while (n)
        CHECK(r3_rel_free(all[--n]) == 0);
    /* Nothing leaked: the whole capacity is one block again. */
    h = r3_rel_alloc(CAPACITY);
    CHECK(h);
    CHECK(r3_rel_free(h) == 0);
}

/* The damaged area of a code: SECDED data + check byte, TMR one copy. */
static void data_flips(void)
{
    rel_map data = rel_find_map("r3rel-data");
    rel_map check = rel_find_map("r3rel-check"), copy1 = rel_find_map("r3rel-tmr1"),
            copy2 = rel_find_map("r3rel-tmr2");
    CHECK(data.start);
    CHECK(code == R3_REL_TMR ? copy1.start && copy2.start && !check.start : check.start && !copy1.start);
    enum { WORDS = 32 };
    uint64_t in[WORDS], out[WORDS];
    for (unsigned i = 0; i < WORDS; i++)
        in[i] = next_random();
    r3_rel_handle h = r3_rel_alloc(sizeof in);
    CHECK(h && r3_rel_write(h, 0, in, sizeof in) == 0);
    /* Find the block: the only one, so at the start of the data area. */
    CHECK(memcmp(data.start, in, sizeof in) == 0);
    uint64_t before = rel_test_corrected();
    unsigned flips = 0;
    for (unsigned w = 0; w < WORDS; w++) {
        unsigned positions = code == R3_REL_TMR ? 3 * 64 : 72;
        for (unsigned pos = 0; pos < positions; pos++) {
            unsigned char *byte;
            if (code == R3_REL_TMR) {
                unsigned char *base = pos < 64 ? data.start : pos < 128 ? copy1.start : copy2.start;
                byte = base + 8 * w + (pos % 64) / 8;
            } else {
                byte = pos < 64 ? data.start + 8 * w + pos / 8 : check.start + w;
            }
            unsigned char mask = (unsigned char)(1u << (pos % 8)), good = *byte;
            *byte ^= mask;
            flips++;
            /* Read either the whole block or just the damaged word, in turn. */
            if (pos % 2) {
                CHECK(r3_rel_read(h, 0, out, sizeof out) == 0);
                CHECK(memcmp(in, out, sizeof in) == 0);
            } else {
                CHECK(r3_rel_read(h, 8 * w + 3, (unsigned char *)out + 3, 2) == 0);
                CHECK(memcmp((unsigned char *)in + 8 * w + 3, (unsigned char *)out + 3, 2) == 0);
            }
            /* Whole-word TMR reads look at copies 0 and 1 only; a read of
             * part of the word votes all three and repairs copy 2. */
            if (code == R3_REL_TMR && pos >= 128 && pos % 2) {
                CHECK(*byte != good);
                CHECK(r3_rel_read(h, 8 * w, out, 1) == 0);
            }
            /* Repaired in memory, not only in the copy returned. */
            CHECK(*byte == good);
        }
    }
    CHECK(r3_rel_scrub() == 0);
    CHECK(rel_test_corrected() - before == flips);
    if (code == R3_REL_SECDED) {
        /* Two bits of one word: detected, reported once, never returned. */
        uint64_t unc0;
        r3_rel_stats st;
        r3_rel_get_stats(&st);
        unc0 = st.code[R3_REL_SECDED].uncorrectable;
        data.start[8 * 5] ^= 0x11;
        CHECK(r3_rel_read(h, 0, out, sizeof out) == -EIO);
        CHECK(r3_rel_read(h, 40, out, 8) == -EIO);
        CHECK(r3_rel_read(h, 48, out, 8) == 0);
        CHECK(r3_rel_write(h, 41, in, 3) == -EIO);    /* partial write of a bad word */
        r3_rel_scrub();
        r3_rel_get_stats(&st);
        CHECK(st.code[R3_REL_SECDED].uncorrectable == unc0 + 1);
        CHECK(r3_rel_write(h, 40, &in[5], 8) == 0);   /* a whole-word write heals it */
        CHECK(r3_rel_read(h, 0, out, sizeof out) == 0);
        CHECK(memcmp(in, out, sizeof in) == 0);
        data.start[8 * 7] ^= 0x01;
        check.start[7] ^= 0x80;
        CHECK(r3_rel_read(h, 56, out, 8) == -EIO);
        CHECK(r3_rel_write(h, 56, &in[7], 8) == 0);
    } else {
        /* Any damage confined to one copy: a whole page of garbage. */
        for (unsigned copy = 0; copy < 3; copy++) {
            unsigned char *base = copy == 0 ? data.start : copy == 1 ? copy1.start : copy2.start;
            for (unsigned i = 0; i < 4096; i++)
                base[i] = (unsigned char)next_random();
            CHECK(r3_rel_read(h, 0, out, sizeof out) == 0);
            CHECK(memcmp(in, out, sizeof in) == 0);
            CHECK(r3_rel_scrub() > 0);
            CHECK(r3_rel_scrub() == 0);
        }
    }
    CHECK(r3_rel_free(h) == 0);
}

/* A small model: live blocks and their contents. */
static r3_rel_handle live[BLOCKS];
static uint64_t content[BLOCKS][16];

static void model_step(void)
{
    unsigned i = (unsigned)(next_random() % BLOCKS);
    if (live[i]) {
        uint64_t out[16];
        CHECK(r3_rel_read(live[i], 0, out, sizeof out) == 0);
        CHECK(memcmp(out, content[i], sizeof out) == 0);
        CHECK(r3_rel_free(live[i]) == 0);
        live[i] = 0;
    } else {
        live[i] = r3_rel_alloc(sizeof content[i]);
        CHECK(live[i]);
        for (unsigned k = 0; k < 16; k++)
            content[i][k] = next_random();
        CHECK(r3_rel_write(live[i], 0, content[i], sizeof content[i]) == 0);
    }
}

static void metadata_flips(void)
{
    rel_map meta[3] = {rel_find_map("r3rel-meta0"), rel_find_map("r3rel-meta1"), rel_find_map("r3rel-meta2")};
    for (unsigned k = 0; k < 3; k++)
        CHECK(meta[k].start && meta[k].size == meta[0].size);
    for (unsigned i = 0; i < 200; i++)
        model_step();
    r3_rel_stats st0, st1;
    r3_rel_get_stats(&st0);
    size_t words = meta[0].size / 8;
    uint64_t flips = 0;
    /* Eight rounds over every word of the copies, one flip per word per
     * round, so that every flip is found on its own. */
    for (unsigned round = 0; round < 8; round++) {
        for (size_t w = 0; w < words; w++) {
            unsigned bit = (unsigned)(w + 8 * round) % 64, copy = (unsigned)(w + round) % 3;
            ((uint64_t *)(void *)meta[copy].start)[w] ^= 1ull << bit;
            flips++;
            model_step();
        }
        r3_rel_scrub();
    }
    /* The same bit of a word hit in two copies: a plain vote would pick the
     * flipped value; each copy's own check byte corrects it first. */
    size_t meta_words = words * 8 / 9;
    for (size_t w = 0; w < meta_words; w += 7) {
        unsigned bit = (unsigned)(w % 64), first = (unsigned)(w % 3), second = (first + 1) % 3;
        ((uint64_t *)(void *)meta[first].start)[w] ^= 1ull << bit;
        ((uint64_t *)(void *)meta[second].start)[w] ^= 1ull << bit;
        flips += 2;
        model_step();
        r3_rel_scrub_step(64);
    }
    r3_rel_scrub();
    r3_rel_get_stats(&st1);
    /* Every flip found exactly once: by a vote on use, by the scrubber, or
     * erased by a metadata write (audit_writes is on). */
    CHECK(st1.meta.corrected + st1.meta.overwritten - st0.meta.corrected - st0.meta.overwritten == flips);
    CHECK(st1.meta.uncorrectable == 0);
    for (unsigned k = 1; k < 3; k++)
        CHECK(memcmp(meta[0].start, meta[k].start, meta[0].size) == 0);
    /* No block lost or misrouted, nothing leaked. */
    for (unsigned i = 0; i < BLOCKS; i++)
        if (live[i]) {
            uint64_t out[16];
            CHECK(r3_rel_read(live[i], 0, out, sizeof out) == 0);
            CHECK(memcmp(out, content[i], sizeof out) == 0);
            CHECK(r3_rel_free(live[i]) == 0);
            live[i] = 0;
        }
    r3_rel_handle whole = r3_rel_alloc(CAPACITY);
    CHECK(whole && r3_rel_free(whole) == 0);
    printf("metadata: %llu flips in %zu words of copies, all repaired\n", (unsigned long long)flips, words);
}

int main(int argc, char **argv)
{
    code = argc > 1 && strcmp(argv[1], "tmr") == 0 ? R3_REL_TMR : R3_REL_SECDED;
    misuse_before_init();
    r3_rel_config cfg = rel_test_config(code, CAPACITY);
    cfg.audit_writes = true;
    cfg.max_blocks = 256;
    CHECK(r3_rel_init(&cfg) == 0);
    CHECK(r3_rel_init(&cfg) == -EALREADY);
    r3_rel_set_error_callback(count_event, NULL);
    round_trips();
    misuse();
    data_flips();
    metadata_flips();
    CHECK(events_seen > 0);
    FILE *report = tmpfile();
    CHECK(report && r3_rel_report(report) == 0);
    CHECK(ftell(report) > 200);
    fclose(report);
    CHECK(r3_rel_report(NULL) == -EINVAL);
    r3_rel_report(stdout);
    r3_rel_handle h = r3_rel_alloc(8);
    CHECK(r3_rel_shutdown() == 0);
    CHECK(r3_rel_free(h) == -EINVAL);
    /* A new heap rejects the old handles. */
    CHECK(r3_rel_init(&cfg) == 0);
    CHECK(r3_rel_free(h) == -EINVAL);
    CHECK(r3_rel_shutdown() == 0);
    printf("rel api (%s): ok\n", code == R3_REL_TMR ? "tmr" : "secded");
    return 0;
}
