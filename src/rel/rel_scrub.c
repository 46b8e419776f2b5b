/* The scrubber: walks every metadata word (three-way vote) and every data
 * word (all copies or the check byte), repairing what it finds, in steps of
 * bounded work; a background thread runs the steps at a steady pace. */
#include "rel_internal.h"
#include "core/atomic.h"
#include <pthread.h>
#include <time.h>

#define META_SLICE   256u     /* metadata words per heap-lock hold */
#define STEP_PERIOD_MS 10u    /* background step period */

size_t r3_rel_scrub_step(size_t budget)
{
    REL_WORK_RESET();
    size_t repaired = 0, done = 0;
    uint64_t passes = 0;
    if (!budget)
        budget = 1;
    while (done < budget) {
        rel_lock(&rel.lock);
        if (!rel.ready) {
            r3_unlock(&rel.lock);
            break;
        }
        size_t total = rel.meta_words + rel.words, pos = rel.scrub_cursor, n, left = budget - done;
        bool meta = pos < rel.meta_words;
        if (meta) {
            n = rel.meta_words - pos;
            n = n < META_SLICE ? n : META_SLICE;
            n = n < left ? n : left;
            repaired += rel_meta_scrub(pos, n);
        } else {
            size_t w = pos - rel.meta_words;
            n = REL_CHUNK_WORDS - w % REL_CHUNK_WORDS;
            n = n < rel.words - w ? n : rel.words - w;
            n = n < left ? n : left;
        }
        rel.scrub_cursor = pos + n == total ? 0 : pos + n;
        passes += pos + n == total;
        r3_unlock(&rel.lock);
        /* Data is checked under its chunk lock only: the cursor already
         * moved, so concurrent steppers never share a range. */
        if (!meta)
            repaired += rel_data_scrub(pos - rel.meta_words, n);
        done += n;
    }
    rel_count_scrub(passes, done);
    return repaired;
}

size_t r3_rel_scrub(void)
{
    r3_lock(&rel.lock);
    size_t total = rel.ready ? rel.meta_words + rel.words : 0;
    r3_unlock(&rel.lock);
    return total ? r3_rel_scrub_step(total) : 0;
}

static struct {
    pthread_t thread;
    bool running;
    r3_atomic(bool) stop;
    unsigned interval_ms;
} scrubber;

static void *scrubber_main(void *arg)
{
    (void)arg;
    unsigned steps = scrubber.interval_ms / STEP_PERIOD_MS;
    if (!steps)
        steps = 1;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = (long)(scrubber.interval_ms / steps) * 1000000L};
    while (!r3_load_relaxed(&scrubber.stop)) {
        r3_lock(&rel.lock);
        size_t total = rel.meta_words + rel.words;
        r3_unlock(&rel.lock);
        r3_rel_scrub_step(total / steps + 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int r3_rel_scrubber_start(unsigned interval_ms)
{
    if (!interval_ms || !rel.ready)
        return -EINVAL;
    r3_rel_scrubber_stop();
    scrubber.interval_ms = interval_ms;
    r3_store_relaxed(&scrubber.stop, false);
    int err = pthread_create(&scrubber.thread, NULL, scrubber_main, NULL);
    if (err)
        return -err;
    scrubber.running = true;
    return 0;
}

void r3_rel_scrubber_stop(void)
{
    if (!scrubber.running)
        return;
    r3_store_relaxed(&scrubber.stop, true);
    pthread_join(scrubber.thread, NULL);
    scrubber.running = false;
}
