/* The bounded-work proof for the reliable heap (built against the
 * R3_REALTIME=1, R3_WORK_COUNTERS=1 library): random operations on heaps
 * from empty to full and fragmented, small and large; the maximum work of
 * each operation must stay under constants that do not depend on the heap's
 * size or state (docs/reliability.md states them):
 *   alloc, free:  bitmap words <= 7, descriptors visited <= 10,
 *                 metadata words <= 128, lock attempts = 1, words coded = 0
 *   read, write of len bytes at any offset:
 *                 lock attempts <= 1 + ceil(len/4096) + 1 (+2 write edges),
 *                 words coded <= 2 * (len/8 + 2) + 2, metadata words <= 3,
 *                 no list or bitmap work. */
#include "rel_test.h"

static r3_rel_work max_alloc, max_free;
static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void keep_max(r3_rel_work *m, r3_rel_work w)
{
    m->list_nodes = w.list_nodes > m->list_nodes ? w.list_nodes : m->list_nodes;
    m->bitmap_words = w.bitmap_words > m->bitmap_words ? w.bitmap_words : m->bitmap_words;
    m->lock_attempts = w.lock_attempts > m->lock_attempts ? w.lock_attempts : m->lock_attempts;
    m->meta_words = w.meta_words > m->meta_words ? w.meta_words : m->meta_words;
    m->words_coded = w.words_coded > m->words_coded ? w.words_coded : m->words_coded;
}

static void check_transfer(size_t len, int write)
{
    r3_rel_work w = r3_rel_last_work();
    CHECK(w.list_nodes == 0 && w.bitmap_words == 0 && w.meta_words <= 3);
    CHECK(w.lock_attempts <= 2 + (len + 4095) / 4096 + (write ? 2 : 0));
    CHECK(w.words_coded <= 2 * (len / 8 + 2) + 2);
}

static void run(r3_rel_code code, size_t capacity, unsigned ops)
{
    enum { SLOTS = 512 };
    static r3_rel_handle h[SLOTS];
    static size_t size[SLOTS];
    static unsigned char buf[65536];
    r3_rel_config cfg = rel_test_config(code, capacity);
    cfg.realtime = true;
    cfg.max_blocks = SLOTS;
    CHECK(r3_rel_init(&cfg) == 0);
    memset(h, 0, sizeof h);
    for (unsigned n = 0; n < ops; n++) {
        unsigned i = (unsigned)(next_random() % SLOTS);
        /* Phases: fill with mixed sizes, then churn, so the heap goes from
         * empty to full and fragmented. */
        size_t want = next_random() % 4 == 0 ? next_random() % 65536 : next_random() % 512;
        if (h[i] && next_random() % 3 == 0) {
            CHECK(r3_rel_free(h[i]) == 0);
            keep_max(&max_free, r3_rel_last_work());
            h[i] = 0;
        } else if (!h[i]) {
            h[i] = r3_rel_alloc(want);
            keep_max(&max_alloc, r3_rel_last_work());
            size[i] = want;
        } else if (size[i]) {
            size_t off = next_random() % size[i], len = next_random() % (size[i] - off + 1);
            int write = next_random() & 1;
            CHECK((write ? r3_rel_write(h[i], off, buf, len) : r3_rel_read(h[i], off, buf, len)) == 0);
            check_transfer(len, write);
        }
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (h[i])
            CHECK(r3_rel_free(h[i]) == 0);
    CHECK(r3_rel_shutdown() == 0);
}

int main(void)
{
    r3_rel_config probe;
    r3_rel_default_config(&probe);
    if (!probe.realtime) {
        printf("SKIP: needs the R3_REALTIME=1 R3_WORK_COUNTERS=1 build\n");
        return 77;
    }
    for (unsigned c = 0; c < 2; c++) {
        run(c ? R3_REL_TMR : R3_REL_SECDED, 1 << 20, 250000);
        run(c ? R3_REL_TMR : R3_REL_SECDED, 64 << 20, 250000);
    }
    printf("alloc max: nodes %u bitmap %u meta %u locks %u coded %llu\n", max_alloc.list_nodes,
           max_alloc.bitmap_words, max_alloc.meta_words, max_alloc.lock_attempts,
           (unsigned long long)max_alloc.words_coded);
    printf("free  max: nodes %u bitmap %u meta %u locks %u coded %llu\n", max_free.list_nodes,
           max_free.bitmap_words, max_free.meta_words, max_free.lock_attempts,
           (unsigned long long)max_free.words_coded);
    CHECK(max_alloc.list_nodes > 0 && max_free.list_nodes > 0);   /* the counters count */
    /* free visits the block, both physical neighbours, the free-list
     * neighbours of each merged one, the block after a merge and the head of
     * the list it joins: 1 + 2 * 4 + 1 = 10. */
    r3_rel_work bound = {.list_nodes = 10, .bitmap_words = 7, .lock_attempts = 1, .meta_words = 128};
    const r3_rel_work *m[2] = {&max_alloc, &max_free};
    for (unsigned k = 0; k < 2; k++) {
        CHECK(m[k]->list_nodes <= bound.list_nodes);
        CHECK(m[k]->bitmap_words <= bound.bitmap_words);
        CHECK(m[k]->lock_attempts == bound.lock_attempts);
        CHECK(m[k]->meta_words <= bound.meta_words);
        CHECK(m[k]->words_coded == 0);
    }
    return 0;
}
