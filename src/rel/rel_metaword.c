/* Metadata words: three copies, each under its own SECDED check byte.
 *
 * Word i of copy k is at rel.meta[k][i]; its check byte follows the words of
 * the same mapping. A read compares copies 0 and 1 and checks copy 0's check
 * byte; when anything disagrees, each copy is first corrected by its own
 * check byte and then the three are voted bitwise. So the metadata survives
 * any damage confined to one copy (like TMR) and also one flipped bit per
 * word in every copy at once: the same bit hit in two copies between two
 * scrubs, which a plain vote would get wrong, is corrected.
 *
 * Repairs and audited writes are compare-and-swap against what was read:
 * the heap lock is held, so only an outside injector can change a word in
 * between, and its flip must then be seen, not erased. The functions run
 * with rel.lock held, except rel_meta_peek (lock-free readers).
 */
#include "rel_internal.h"
#include "secded.h"

static inline uint64_t *word_of(unsigned k, size_t i) { return &rel.meta[k][i]; }
static inline uint8_t *check_of(unsigned k, size_t i) { return (uint8_t *)(rel.meta[k] + rel.meta_words) + i; }

static bool swap64(uint64_t *p, uint64_t seen, uint64_t v)
{
    return __atomic_compare_exchange_n(p, &seen, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
static bool swap8(uint8_t *p, uint8_t seen, uint8_t v)
{
    return __atomic_compare_exchange_n(p, &seen, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

typedef struct copies {
    uint64_t v[3];
    uint8_t c[3];
} copies;

static copies load_copies(size_t i)
{
    copies s;
    for (unsigned k = 0; k < 3; k++) {
        s.v[k] = *word_of(k, i);
        s.c[k] = *check_of(k, i);
    }
    return s;
}

/* A copy's value corrected by its own check byte where it can be; the raw
 * value otherwise (the vote then decides). */
static uint64_t copy_decode(uint64_t v, uint8_t c)
{
    uint8_t syndrome = r3_secded_check(v) ^ c;
    unsigned pos = syndrome ? r3_secded_locate(syndrome) : 64;
    return pos < 64 ? v ^ (1ull << pos) : v;
}

static uint64_t vote(const copies *s)
{
    uint64_t d[3];
    for (unsigned k = 0; k < 3; k++)
        d[k] = copy_decode(s->v[k], s->c[k]);
    return (d[0] & d[1]) | (d[0] & d[2]) | (d[1] & d[2]);
}

/* Reports every word and check byte of s that differs from value m (and
 * its check byte) as kind; with kind CORRECTED also rewrites it. False when
 * a rewrite found the memory changed since s was read. */
static bool settle(size_t i, const copies *s, uint64_t m, r3_rel_event_kind kind)
{
    bool repair = kind == R3_REL_CORRECTED;
    uint8_t cm = r3_secded_check(m);
    for (unsigned k = 0; k < 3; k++) {
        if (s->v[k] != m) {
            if (repair && !swap64(word_of(k, i), s->v[k], m))
                return false;
            rel_event(kind, R3_REL_AREA_META, R3_REL_TMR, word_of(k, i), s->v[k] ^ m, 0, 0, 0);
        }
        if (s->c[k] != cm) {
            if (repair && !swap8(check_of(k, i), s->c[k], cm))
                return false;
            rel_event(kind, R3_REL_AREA_META_CHECK, R3_REL_TMR, check_of(k, i), s->c[k] ^ cm, 0, 0, 0);
        }
    }
    return true;
}

static R3_NOINLINE uint64_t meta_repair(size_t i)
{
    for (;;) {
        copies s = load_copies(i);
        uint64_t m = vote(&s);
        if (settle(i, &s, m, R3_REL_CORRECTED))
            return m;
    }
}

uint64_t rel_meta_get(size_t i)
{
    REL_WORK(meta_words, 1);
    uint64_t a = *word_of(0, i);
    if (R3_LIKELY(a == *word_of(1, i) && r3_secded_check(a) == *check_of(0, i)))
        return a;
    return meta_repair(i);
}

bool rel_meta_peek(size_t i, uint64_t *v)
{
    *v = __atomic_load_n(word_of(0, i), __ATOMIC_ACQUIRE);
    return *v == __atomic_load_n(word_of(1, i), __ATOMIC_ACQUIRE)
           && r3_secded_check(*v) == __atomic_load_n(check_of(0, i), __ATOMIC_ACQUIRE);
}

/* audit_writes: the damage in what the write replaces is reported, and so
 * is any bit that flips between that check and the store. */
static void meta_set_audited(size_t i, uint64_t v, uint8_t cv)
{
    copies s = load_copies(i);
    settle(i, &s, vote(&s), R3_REL_OVERWRITTEN);
    for (unsigned k = 0; k < 3; k++) {
        while (!swap64(word_of(k, i), s.v[k], v)) {
            uint64_t now = *word_of(k, i);
            rel_event(R3_REL_OVERWRITTEN, R3_REL_AREA_META, R3_REL_TMR, word_of(k, i), now ^ s.v[k], 0, 0, 0);
            s.v[k] = now;
        }
        while (!swap8(check_of(k, i), s.c[k], cv)) {
            uint8_t now = *check_of(k, i);
            rel_event(R3_REL_OVERWRITTEN, R3_REL_AREA_META_CHECK, R3_REL_TMR, check_of(k, i), now ^ s.c[k], 0, 0, 0);
            s.c[k] = now;
        }
    }
}

void rel_meta_set(size_t i, uint64_t v)
{
    REL_WORK(meta_words, 1);
    uint8_t cv = r3_secded_check(v);
    if (rel.cfg.audit_writes) {
        meta_set_audited(i, v, cv);
        return;
    }
    /* Atomic (plain on x86) because lock-free lookups read concurrently. */
    for (unsigned k = 0; k < 3; k++) {
        __atomic_store_n(word_of(k, i), v, __ATOMIC_RELAXED);
        __atomic_store_n(check_of(k, i), cv, __ATOMIC_RELAXED);
    }
}

size_t rel_meta_scrub(size_t from, size_t n)
{
    size_t repaired = 0;
    for (size_t i = from; i < from + n; i++) {
        uint64_t a = *word_of(0, i);
        uint8_t c = *check_of(0, i);
        if (R3_UNLIKELY(a != *word_of(1, i) || a != *word_of(2, i) || c != *check_of(1, i)
                        || c != *check_of(2, i) || r3_secded_check(a) != c)) {
            meta_repair(i);
            repaired++;
        }
    }
    return repaired;
}
