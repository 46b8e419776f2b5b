/* The scrubber: walks every metadata word (three-way vote) and every data
 * word (all copies or the check byte), repairing what it finds, in steps of
 * bounded work; a background thread runs the steps at a steady pace. */
#include "rel_internal.h"
#include "core/atomic.h"
#include <pthread.h>
#include <time.h>

#define META_SLICE   256u     /* metadata words per heap-lock hold */
#define STEP_PERIOD_MS 10u    /* background step period */

/* Metadata and data have their own cursors and each step gives half its
 * budget to each: metadata is far smaller than data, so it is scrubbed many
 * times per data pass, which keeps two of its copies from being hit in the
 * same bit between two visits (the one damage TMR cannot outvote). */
static size_t scrub_meta(size_t budget)
{
    size_t repaired = 0;
    for (size_t done = 0; done < budget;) {
        rel_lock(&rel.lock);
        if (!rel.ready) {
            r3_unlock(&rel.lock);
            break;
        }
        size_t pos = rel.scrub_meta_cursor, n = rel.meta_words - pos, left = budget - done;
        n = n < META_SLICE ? n : META_SLICE;
        n = n < left ? n : left;
        repaired += rel_meta_scrub(pos, n);
        rel.scrub_meta_cursor = pos + n == rel.meta_words ? 0 : pos + n;
        r3_unlock(&rel.lock);
        done += n;
    }
    return repaired;
}

static size_t scrub_data(size_t budget, uint64_t *passes)
{
    size_t repaired = 0;
    for (size_t done = 0; done < budget;) {
        rel_lock(&rel.lock);
        if (!rel.ready) {
            r3_unlock(&rel.lock);
            break;
        }
        size_t w = rel.scrub_data_cursor, left = budget - done;
        size_t n = REL_CHUNK_WORDS - w % REL_CHUNK_WORDS;
        n = n < rel.words - w ? n : rel.words - w;
        n = n < left ? n : left;
        rel.scrub_data_cursor = w + n == rel.words ? 0 : w + n;
        *passes += w + n == rel.words;
        r3_unlock(&rel.lock);
        /* Checked under the chunk lock only: the cursor already moved, so
         * concurrent steppers never share a range. */
        repaired += rel_data_scrub(w, n);
        done += n;
    }
    return repaired;
}

size_t r3_rel_scrub_step(size_t budget)
{
    REL_WORK_RESET();
    uint64_t passes = 0;
    if (budget < 2)
        budget = 2;
    size_t repaired = scrub_meta(budget / 2) + scrub_data(budget - budget / 2, &passes);
    rel_count_scrub(passes, budget);
    return repaired;
}

size_t r3_rel_scrub(void)
{
    r3_lock(&rel.lock);
    size_t meta = rel.ready ? rel.meta_words : 0, data = rel.ready ? rel.words : 0;
    r3_unlock(&rel.lock);
    uint64_t passes = 0;
    size_t repaired = scrub_meta(meta) + scrub_data(data, &passes);
    rel_count_scrub(passes, meta + data);
    return repaired;
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
        r3_rel_scrub_step(2 * (total / steps + 1));
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
