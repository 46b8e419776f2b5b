/* libFuzzer harness for the reliable heap: each input is a sequence of API
 * calls (alloc, free, write, read, misuse with bad, stale and corrupted
 * handles, out-of-range and overflowing ranges, NULL buffers, scrub steps)
 * mixed with bit flips made in-process into the data, check, copy and
 * metadata mappings. A golden model checks every read; at the end every flip
 * must have been reported exactly once (corrected, or erased by a write with
 * audit_writes), nothing may be uncorrectable, and nothing may leak.
 * At most one flip is pending per codeword (the harness scrubs before it
 * would flip a word twice): the codes promise nothing beyond that. */
#include "rel_test.h"

#define SLOTS 16
#define MAX_SIZE 3000
#define DIRTY_MAX 64

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static unsigned take(input *in, unsigned bytes)
{
    unsigned v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (in->n ? *in->p : 0);
        if (in->n) {
            in->p++;
            in->n--;
        }
    }
    return v;
}

static struct {
    r3_rel_handle h[SLOTS];
    size_t size[SLOTS];
    unsigned char golden[SLOTS][MAX_SIZE];
    r3_rel_handle last_freed;
    uintptr_t dirty[DIRTY_MAX];
    unsigned dirty_count;
    uint64_t flips;
} m;

#define FAIL_IF(cond) CHECK(!(cond))

static uint64_t reported(void)
{
    r3_rel_stats s;
    r3_rel_get_stats(&s);
    uint64_t n = s.meta.corrected + s.meta.overwritten;
    for (unsigned k = 0; k < R3_REL_CODES; k++)
        n += s.code[k].corrected + s.code[k].overwritten;
    return n;
}

static uint64_t uncorrectable(void)
{
    r3_rel_stats s;
    r3_rel_get_stats(&s);
    return s.meta.uncorrectable + s.code[R3_REL_TMR].uncorrectable + s.code[R3_REL_SECDED].uncorrectable;
}

/* Flips one bit of the codeword that key names, after a scrub if that
 * codeword already carries a flip. */
static void flip(unsigned char *byte, unsigned bit, uintptr_t key)
{
    for (unsigned i = 0; i < m.dirty_count; i++)
        if (m.dirty[i] == key || m.dirty_count == DIRTY_MAX) {
            r3_rel_scrub();
            m.dirty_count = 0;
            break;
        }
    m.dirty[m.dirty_count++] = key;
    *byte ^= (unsigned char)(1u << bit);
    m.flips++;
}

static void flip_data(input *in, r3_rel_code code)
{
    static const char *names[2][3] = {{"r3rel-data", "r3rel-check", "r3rel-check"},
                                      {"r3rel-data", "r3rel-tmr1", "r3rel-tmr2"}};
    unsigned which = take(in, 1) % 3;
    rel_map map = rel_find_map(names[code == R3_REL_TMR][which]);
    CHECK(map.start);
    size_t at = take(in, 3) % map.size;
    size_t word = code == R3_REL_SECDED && which ? at : at / 8;   /* codeword index */
    flip(map.start + at, take(in, 1) % 8, (uintptr_t)word);
}

static void flip_meta(input *in)
{
    static const char *names[3] = {"r3rel-meta0", "r3rel-meta1", "r3rel-meta2"};
    rel_map map = rel_find_map(names[take(in, 1) % 3]);
    CHECK(map.start);
    size_t at = take(in, 3) % map.size;
    flip(map.start + at, take(in, 1) % 8, ((uintptr_t)1 << 62) | at / 8);
}

static void misuse(input *in, unsigned slot)
{
    unsigned char b[16];
    r3_rel_handle h = m.h[slot];
    switch (take(in, 1) % 6) {
    case 0: FAIL_IF(r3_rel_read(m.last_freed, 0, b, 1) != -EINVAL && m.last_freed); break;
    case 1: {
        r3_rel_handle bad = (r3_rel_handle)take(in, 4) << 32 | take(in, 4);
        for (unsigned s = 0; s < SLOTS; s++)
            if (m.h[s] == bad)
                return;
        FAIL_IF(r3_rel_write(bad, 0, b, 1) != -EINVAL);
        FAIL_IF(r3_rel_free(bad) != -EINVAL);
        break;
    }
    case 2: if (h) FAIL_IF(r3_rel_read(h ^ (1ull << (take(in, 1) % 64)), 0, b, 1) != -EINVAL); break;
    case 3: if (h) FAIL_IF(r3_rel_read(h, m.size[slot] - 1 + (take(in, 1) % 4 + 1), b, 1) != -ERANGE); break;
    case 4: if (h) FAIL_IF(r3_rel_write(h, 1 + take(in, 1), b, SIZE_MAX - take(in, 1)) != -ERANGE); break;
    default: if (h && m.size[slot]) FAIL_IF(r3_rel_read(h, 0, NULL, 1) != -EINVAL); break;
    }
}

static void step(input *in, r3_rel_code code)
{
    unsigned op = take(in, 1) % 9, slot = take(in, 1) % SLOTS;
    r3_rel_handle h = m.h[slot];
    size_t size = m.size[slot];
    switch (op) {
    case 0:
        if (h) {
            FAIL_IF(r3_rel_free(h) != 0);
            m.last_freed = h;
        }
        m.size[slot] = take(in, 2) % MAX_SIZE;
        m.h[slot] = r3_rel_alloc(m.size[slot]);
        CHECK(m.h[slot] || errno == ENOMEM);
        if (m.h[slot]) {
            memset(m.golden[slot], 0, m.size[slot]);
            FAIL_IF(r3_rel_write(m.h[slot], 0, m.golden[slot], m.size[slot]) != 0);
        }
        break;
    case 1:
        if (h) {
            FAIL_IF(r3_rel_free(h) != 0);
            FAIL_IF(r3_rel_free(h) != -EINVAL);
            m.last_freed = h;
            m.h[slot] = 0;
        }
        break;
    case 2:
    case 3: {
        if (!h || !size)
            break;
        size_t off = take(in, 2) % size, len = take(in, 2) % (size - off + 1);
        unsigned char buf[MAX_SIZE];
        if (op == 2) {
            unsigned seed = take(in, 1);
            for (size_t i = 0; i < len; i++)
                m.golden[slot][off + i] = (unsigned char)(seed + i * 7);
            FAIL_IF(r3_rel_write(h, off, m.golden[slot] + off, len) != 0);
        } else {
            FAIL_IF(r3_rel_read(h, off, buf, len) != 0);
            FAIL_IF(memcmp(buf, m.golden[slot] + off, len) != 0);
        }
        break;
    }
    case 4: flip_data(in, code); break;
    case 5: flip_meta(in); break;
    case 6: r3_rel_scrub_step(take(in, 2)); break;
    default: misuse(in, slot); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    r3_rel_code code = take(&in, 1) & 1 ? R3_REL_TMR : R3_REL_SECDED;
    r3_rel_config cfg = rel_test_config(code, 64 << 10);
    cfg.max_blocks = SLOTS;
    cfg.audit_writes = true;
    memset(&m, 0, sizeof m);
    CHECK(r3_rel_init(&cfg) == 0);
    uint64_t reported0 = reported(), uncorrectable0 = uncorrectable();
    while (in.n)
        step(&in, code);
    for (unsigned s = 0; s < SLOTS; s++)
        if (m.h[s]) {
            unsigned char buf[MAX_SIZE];
            FAIL_IF(r3_rel_read(m.h[s], 0, buf, m.size[s]) != 0);
            FAIL_IF(memcmp(buf, m.golden[s], m.size[s]) != 0);
            FAIL_IF(r3_rel_free(m.h[s]) != 0);
        }
    r3_rel_scrub();
    FAIL_IF(reported() - reported0 != m.flips);
    FAIL_IF(uncorrectable() != uncorrectable0);
    r3_rel_handle whole = r3_rel_alloc(64 << 10);     /* nothing leaked */
    FAIL_IF(!whole);
    CHECK(r3_rel_shutdown() == 0);
    return 0;
}
