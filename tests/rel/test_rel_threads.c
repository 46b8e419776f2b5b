/* Many threads reading and writing their blocks, one thread allocating and
 * freeing, and the background scrubber running flat out: every read returns
 * what was written and no error is ever reported (a writer and the scrubber
 * meeting must never look like damage). */
#include "rel_test.h"
#include <pthread.h>
#include <stdatomic.h>

#define WORKERS 4
#define BLOCKS_PER_WORKER 8
#define ROUNDS 3000

static atomic_int failures;

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    r3_rel_handle h[BLOCKS_PER_WORKER];
    static _Thread_local unsigned char golden[BLOCKS_PER_WORKER][5000];
    unsigned char buf[5000];
    uint64_t rng = 0x9e3779b97f4a7c15ull * (id + 1);
    for (unsigned b = 0; b < BLOCKS_PER_WORKER; b++) {
        h[b] = r3_rel_alloc(sizeof golden[b]);
        CHECK(h[b]);
        memset(golden[b], 0, sizeof golden[b]);
        CHECK(r3_rel_write(h[b], 0, golden[b], sizeof golden[b]) == 0);
    }
    for (unsigned r = 0; r < ROUNDS; r++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned b = (unsigned)(rng % BLOCKS_PER_WORKER);
        size_t off = (rng >> 8) % 4000, len = 1 + (rng >> 24) % 1000;
        if (r % 2) {
            memset(golden[b] + off, (int)(rng >> 40), len);
            CHECK(r3_rel_write(h[b], off, golden[b] + off, len) == 0);
        } else {
            CHECK(r3_rel_read(h[b], 0, buf, sizeof buf) == 0);
            if (memcmp(buf, golden[b], sizeof buf) != 0)
                atomic_fetch_add(&failures, 1);
        }
    }
    for (unsigned b = 0; b < BLOCKS_PER_WORKER; b++)
        CHECK(r3_rel_free(h[b]) == 0);
    return NULL;
}

static void *churner(void *arg)
{
    (void)arg;
    r3_rel_handle held[16] = {0};
    for (unsigned r = 0; r < ROUNDS * 4; r++) {
        unsigned i = r % 16;
        if (held[i])
            CHECK(r3_rel_free(held[i]) == 0);
        held[i] = r3_rel_alloc(8 + (r * 37) % 3000);
        CHECK(held[i]);
    }
    for (unsigned i = 0; i < 16; i++)
        CHECK(r3_rel_free(held[i]) == 0);
    return NULL;
}

static void run(r3_rel_code code)
{
    r3_rel_config cfg = rel_test_config(code, 1 << 20);
    uint64_t before = rel_test_corrected();
    CHECK(r3_rel_init(&cfg) == 0);
    CHECK(r3_rel_scrubber_start(1) == 0);
    pthread_t t[WORKERS + 1];
    for (unsigned i = 0; i < WORKERS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    CHECK(pthread_create(&t[WORKERS], NULL, churner, NULL) == 0);
    for (unsigned i = 0; i <= WORKERS; i++)
        pthread_join(t[i], NULL);
    r3_rel_scrubber_stop();
    CHECK(r3_rel_scrub() == 0);
    r3_rel_stats st;
    r3_rel_get_stats(&st);
    CHECK(st.scrub_passes > 0);
    CHECK(st.blocks_live == 0);
    CHECK(r3_rel_shutdown() == 0);
    CHECK(rel_test_corrected() == before);
    CHECK(st.code[code].uncorrectable == 0);
    CHECK(atomic_load(&failures) == 0);
}

int main(void)
{
    run(R3_REL_TMR);
    run(R3_REL_SECDED);
    printf("rel threads: no false correction, every read right\n");
    return 0;
}
