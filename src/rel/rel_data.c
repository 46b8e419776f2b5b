/* Data words of the reliable heap under TMR or SECDED: read with correction,
 * write with encoding, scrub.
 *
 * Every data word is a valid codeword at all times except for injected
 * damage (zero-filled memory is one, for both codes). A word and its
 * redundancy (check byte or the two other copies) change only under the lock
 * of its 4 KiB chunk, which readers and the scrubber hold as well: nobody
 * ever sees a half-written codeword, so no correction is ever false.
 */
#include "rel_internal.h"
#include "codec.h"
#include "secded.h"
#include <string.h>

static uint64_t *word_addr(unsigned copy, size_t w) { return copy ? &rel.copy[copy - 1][w] : &rel.data[w]; }
static const r3_rel_area copy_area[3] = {R3_REL_AREA_DATA, R3_REL_AREA_COPY1, R3_REL_AREA_COPY2};

/* A codeword's parts as read at one instant: TMR v[0..2], SECDED v[0] and
 * check. Repairs and audited writes replace a part only if it still holds
 * what was read (compare-and-swap): we hold the chunk lock, so only an
 * outside injector can change it in between, and its flip must then be
 * seen, not silently erased. */
typedef struct codeword {
    uint64_t v[3];
    uint8_t check;
} codeword;

static codeword word_load(size_t w)
{
    codeword c = {{rel.data[w], 0, 0}, 0};
    if (rel.code == R3_REL_TMR) {
        c.v[1] = rel.copy[0][w];
        c.v[2] = rel.copy[1][w];
    } else {
        c.check = rel.check[w];
    }
    return c;
}

static bool swap64(uint64_t *p, uint64_t seen, uint64_t v)
{
    return __atomic_compare_exchange_n(p, &seen, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
static bool swap8(uint8_t *p, uint8_t seen, uint8_t v)
{
    return __atomic_compare_exchange_n(p, &seen, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Decodes c (word w). Damaged parts are reported as kind; with kind
 * CORRECTED they are also repaired, and -EAGAIN means the word changed
 * under the repair (the caller reloads). Returns 0 and the good value, or
 * -EIO when the word cannot be corrected. */
static int codeword_fix(size_t w, const codeword *c, uint64_t *value, r3_rel_handle h, r3_rel_event_kind kind)
{
    bool repair = kind == R3_REL_CORRECTED;
    if (rel.code == R3_REL_TMR) {
        uint64_t m = (c->v[0] & c->v[1]) | (c->v[0] & c->v[2]) | (c->v[1] & c->v[2]);
        for (unsigned k = 0; k < 3; k++)
            if (c->v[k] != m) {
                if (repair && !swap64(word_addr(k, w), c->v[k], m))
                    return -EAGAIN;
                rel_event(kind, copy_area[k], R3_REL_TMR, word_addr(k, w), c->v[k] ^ m, 0, h, w * 8);
            }
        *value = m;
        return 0;
    }
    uint8_t syndrome = r3_secded_check(c->v[0]) ^ c->check;
    *value = c->v[0];
    if (!syndrome)
        return 0;
    unsigned pos = r3_secded_locate(syndrome);
    if (pos < 64) {
        *value = c->v[0] ^ (1ull << pos);
        if (repair && !swap64(&rel.data[w], c->v[0], *value))
            return -EAGAIN;
        rel_event(kind, R3_REL_AREA_DATA, R3_REL_SECDED, &rel.data[w], 1ull << pos, syndrome, h, w * 8);
        return 0;
    }
    if (pos < 72) {
        if (repair && !swap8(&rel.check[w], c->check, c->check ^ (uint8_t)(1u << (pos - 64))))
            return -EAGAIN;
        rel_event(kind, R3_REL_AREA_CHECK, R3_REL_SECDED, &rel.check[w], 1ull << (pos - 64), syndrome, h,
                  w * 8);
        return 0;
    }
    /* Reported once until rewritten, however often it is read or scrubbed;
     * an audited write over it reports that it erases it. */
    if (!repair || rel_poison_add(w))
        rel_event(repair ? R3_REL_UNCORRECTABLE : R3_REL_OVERWRITTEN, R3_REL_AREA_DATA, R3_REL_SECDED,
                  &rel.data[w], 0, syndrome, h, w * 8);
    return -EIO;
}

/* Decodes word w, repairing it. */
static int word_fix(size_t w, uint64_t *value, r3_rel_handle h)
{
    REL_WORK(words_coded, 1);
    int err;
    do {
        codeword c = word_load(w);
        err = codeword_fix(w, &c, value, h, R3_REL_CORRECTED);
    } while (err == -EAGAIN);
    return err;
}

/* Audited replacement of one part: bits that changed since seen was read
 * are reported as erased by this write. */
static void part_store64(uint64_t *p, uint64_t seen, uint64_t v, r3_rel_area area, r3_rel_handle h, size_t w)
{
    while (!swap64(p, seen, v)) {
        uint64_t now = *p;
        rel_event(R3_REL_OVERWRITTEN, area, rel.code, p, now ^ seen, 0, h, w * 8);
        seen = now;
    }
}

static void word_store_audited(size_t w, uint64_t v, r3_rel_handle h)
{
    codeword c = word_load(w);
    uint64_t ignored;
    if (rel.code == R3_REL_TMR) {
        if (c.v[0] != c.v[1] || c.v[0] != c.v[2])
            codeword_fix(w, &c, &ignored, h, R3_REL_OVERWRITTEN);
        for (unsigned k = 0; k < 3; k++)
            part_store64(word_addr(k, w), c.v[k], v, copy_area[k], h, w);
        return;
    }
    if (r3_secded_check(c.v[0]) != c.check)
        codeword_fix(w, &c, &ignored, h, R3_REL_OVERWRITTEN);
    part_store64(&rel.data[w], c.v[0], v, R3_REL_AREA_DATA, h, w);
    uint8_t check = r3_secded_check(v);
    while (!swap8(&rel.check[w], c.check, check)) {
        uint8_t now = rel.check[w];
        rel_event(R3_REL_OVERWRITTEN, R3_REL_AREA_CHECK, R3_REL_SECDED, &rel.check[w], now ^ c.check, 0, h, w * 8);
        c.check = now;
    }
}

static void word_store(size_t w, uint64_t v, r3_rel_handle h)
{
    REL_WORK(words_coded, 1);
    if (rel.cfg.audit_writes) {
        word_store_audited(w, v, h);
        return;
    }
    rel.data[w] = v;
    if (rel.code == R3_REL_TMR) {
        rel.copy[0][w] = v;
        rel.copy[1][w] = v;
    } else {
        rel.check[w] = r3_secded_check(v);
    }
}

/* Reads n whole words from w (one chunk, lock held). */
static int read_words(size_t w, size_t n, unsigned char *dst, r3_rel_handle h)
{
    REL_WORK(words_coded, n);
    for (size_t i = 0; i < n;) {
        if (rel.code == R3_REL_TMR)
            i += rel.codec->tmr_read_clean(dst + 8 * i, rel.data + w + i, rel.copy[0] + w + i, n - i);
        else
            i += rel.codec->secded_decode_clean(dst + 8 * i, rel.data + w + i, rel.check + w + i, n - i);
        if (i == n)
            break;
        uint64_t v;
        if (word_fix(w + i, &v, h))
            return -EIO;
        memcpy(dst + 8 * i, &v, 8);
        i++;
    }
    return 0;
}

static void write_words(size_t w, size_t n, const unsigned char *src, r3_rel_handle h)
{
    if (rel.cfg.audit_writes) {
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, src + 8 * i, 8);
            word_store(w + i, v, h);
        }
        return;
    }
    REL_WORK(words_coded, n);
    if (rel.code == R3_REL_TMR) {
        memcpy(rel.data + w, src, 8 * n);
        memcpy(rel.copy[0] + w, src, 8 * n);
        memcpy(rel.copy[1] + w, src, 8 * n);
    } else {
        rel.codec->secded_encode(rel.data + w, rel.check + w, src, n);
    }
}

/* One direction of a transfer, so that read and write share the walk over
 * chunks and partial edge words. */
typedef struct transfer {
    r3_rel_handle h;
    unsigned char *dst;         /* read */
    const unsigned char *src;   /* write */
} transfer;

/* A word only partly inside the range: decode, then copy out or merge in. */
static int edge_word(const transfer *t, size_t w, size_t skip, size_t len, size_t done)
{
    uint64_t v;
    if (word_fix(w, &v, t->h))
        return -EIO;
    if (t->dst) {
        memcpy(t->dst + done, (unsigned char *)&v + skip, len);
    } else {
        memcpy((unsigned char *)&v + skip, t->src + done, len);
        word_store(w, v, t->h);
    }
    return 0;
}

static int transfer_range(const transfer *t, size_t byte, size_t len)
{
    size_t done = 0, end = byte + len;
    while (byte < end) {
        size_t w = byte / 8;
        size_t chunk_end = (w / REL_CHUNK_WORDS + 1) * REL_CHUNK_WORDS * 8;
        size_t stop = end < chunk_end ? end : chunk_end;
        r3_lock_t *lock = rel_chunk_lock(w);
        int err = 0;
        rel_lock(lock);
        while (!err && byte < stop) {
            size_t skip = byte % 8;
            if (skip || stop - byte < 8) {
                size_t n = 8 - skip < stop - byte ? 8 - skip : stop - byte;
                err = edge_word(t, byte / 8, skip, n, done);
                byte += n;
                done += n;
                continue;
            }
            size_t words = (stop - byte) / 8;
            if (t->dst)
                err = read_words(byte / 8, words, t->dst + done, t->h);
            else
                write_words(byte / 8, words, t->src + done, t->h);
            byte += 8 * words;
            done += 8 * words;
        }
        r3_unlock(lock);
        if (err)
            return err;
    }
    return 0;
}

int rel_data_read(r3_rel_handle h, size_t byte, void *dst, size_t len)
{
    transfer t = {.h = h, .dst = dst, .src = NULL};
    return transfer_range(&t, byte, len);
}

/* Decodes the word that holds byte, so that a write can refuse to start
 * when a partly written edge word is beyond repair. */
static int edge_check(r3_rel_handle h, size_t byte)
{
    uint64_t ignored;
    r3_lock_t *lock = rel_chunk_lock(byte / 8);
    rel_lock(lock);
    int err = word_fix(byte / 8, &ignored, h);
    r3_unlock(lock);
    return err;
}

int rel_data_write(r3_rel_handle h, size_t byte, const void *src, size_t len)
{
    transfer t = {.h = h, .dst = NULL, .src = src};
    size_t end = byte + len;
    if ((byte % 8 && edge_check(h, byte)) || (end % 8 && edge_check(h, end - 1)))
        return -EIO;
    int err = transfer_range(&t, byte, len);
    if (rel_poison_any())
        rel_poison_clear(byte / 8, (end + 7) / 8 - byte / 8);
    return err;
}

/* Length of the clean run of words from w (at most n), by the bulk codec:
 * TMR compares copy 0 with copy 1, then with copy 2; SECDED checks. */
static size_t clean_run(size_t w, size_t n, uint64_t *scratch)
{
    if (rel.code == R3_REL_TMR) {
        size_t k = rel.codec->tmr_read_clean(scratch, rel.data + w, rel.copy[0] + w, n);
        return rel.codec->tmr_read_clean(scratch, rel.data + w, rel.copy[1] + w, k);
    }
    return rel.codec->secded_decode_clean(scratch, rel.data + w, rel.check + w, n);
}

size_t rel_data_scrub(size_t from, size_t n)
{
    uint64_t scratch[REL_CHUNK_WORDS];
    size_t repaired = 0;
    r3_lock_t *lock = rel_chunk_lock(from);
    rel_lock(lock);
    for (size_t i = 0; i < n;) {
        i += clean_run(from + i, n - i, scratch);
        if (i == n)
            break;
        uint64_t ignored;
        if (word_fix(from + i, &ignored, 0) == 0)
            repaired++;
        i++;
    }
    r3_unlock(lock);
    REL_WORK(words_coded, n);
    return repaired;
}
