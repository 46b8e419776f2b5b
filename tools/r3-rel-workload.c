/* r3-rel-workload: the target process of a fault-injection campaign.
 *
 * It fills a reliable heap with blocks, keeps a golden copy of each in plain
 * memory, and from several threads writes, reads (comparing every byte with
 * the golden copy), frees and re-allocates them until SIGUSR1 or SIGTERM,
 * while the background scrubber runs. Then it stops, scrubs once more,
 * verifies every block, and writes:
 *   --events FILE   every heap event, one line each:
 *       event <time_ns> <kind> <area> <address> <mask> <syndrome> <offset>
 *   --summary FILE  key=value totals (reads, writes, silent corruptions,
 *                   reads refused with EIO, ...) followed by the heap's report.
 * A read that returns 0 with data different from the golden copy is a silent
 * data corruption. After a refused read (EIO) the block is rewritten from
 * the golden copy, as an application would restore it.
 *
 * Every operation is preceded by r3_rel_scrub_step(step_words) (default 512),
 * as a real-time application would scrub; the background scrubber runs too.
 *
 * Usage: r3-rel-workload [--code tmr|secded] [--capacity bytes] [--threads n]
 *                        [--scrub-ms ms] [--step-words n] [--realtime]
 *                        --events F --summary F
 */
#define _GNU_SOURCE
#include "r3rel.h"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct slot {
    r3_rel_handle h;
    size_t size;
    unsigned char *golden;
} slot;

static struct {
    r3_rel_code code;
    size_t capacity;
    unsigned threads;
    unsigned scrub_ms;
    size_t step_words;
    int realtime;
    const char *events_path, *summary_path;
} opt = {R3_REL_SECDED, 16u << 20, 2, 20, 512, 0, NULL, NULL};

static slot *slots;
static size_t slot_count;
static atomic_bool stop;
static atomic_uint_fast64_t reads, writes, reallocs, sdc, eio_reads, eio_writes, other_errors, bytes_moved;
static FILE *events_file;
static pthread_mutex_t events_mutex = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop, true);
}

static void log_event(const r3_rel_event *e, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&events_mutex);
    fprintf(events_file, "event %" PRIu64 " %d %d %p %#" PRIx64 " %#x %zu\n", e->time_ns, (int)e->kind,
            (int)e->area, e->address, e->mask, e->syndrome, e->offset);
    pthread_mutex_unlock(&events_mutex);
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Restores a block from its golden copy (sizes are whole words, so this
 * rewrites every word and heals any uncorrectable one). */
static void restore(slot *s)
{
    if (r3_rel_write(s->h, 0, s->golden, s->size) != 0)
        atomic_fetch_add(&other_errors, 1);
}

static void fill_block(slot *s, uint64_t *rng)
{
    for (size_t i = 0; i < s->size; i++)
        s->golden[i] = (unsigned char)next_random(rng);
    restore(s);
}

static size_t random_size(uint64_t *rng) { return 8 * (8 + next_random(rng) % 505); }  /* 64..4096 */

static bool slot_alloc(slot *s, uint64_t *rng)
{
    for (size_t size = random_size(rng); size >= 8; size /= 2) {
        s->h = r3_rel_alloc(size);
        if (s->h) {
            s->size = size;
            fill_block(s, rng);
            return true;
        }
    }
    return false;
}

static void check_read(slot *s, size_t off, size_t len, unsigned char *buf)
{
    int err = r3_rel_read(s->h, off, buf, len);
    atomic_fetch_add(&reads, 1);
    atomic_fetch_add(&bytes_moved, len);
    if (err == -EIO) {
        atomic_fetch_add(&eio_reads, 1);
        restore(s);
    } else if (err) {
        atomic_fetch_add(&other_errors, 1);
    } else if (memcmp(buf, s->golden + off, len) != 0) {
        atomic_fetch_add(&sdc, 1);
        fprintf(stderr, "workload: SILENT CORRUPTION block %#" PRIx64 " offset %zu len %zu\n", s->h, off, len);
    }
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (id + 1);
    unsigned char *buf = malloc(4096);
    while (!atomic_load(&stop)) {
        size_t i = id + opt.threads * (next_random(&rng) % (slot_count / opt.threads));
        slot *s = &slots[i];
        /* The application scrubs in bounded steps as it goes, as a
         * real-time one would; the background scrubber runs as well. */
        if (opt.step_words)
            r3_rel_scrub_step(opt.step_words);
        unsigned op = (unsigned)(next_random(&rng) % 100);
        if (!s->h || op < 2) {
            if (s->h && r3_rel_free(s->h) != 0)
                atomic_fetch_add(&other_errors, 1);
            s->h = 0;
            atomic_fetch_add(&reallocs, 1);
            slot_alloc(s, &rng);
            continue;
        }
        size_t off = next_random(&rng) % s->size, len = 1 + next_random(&rng) % (s->size - off);
        if (op < 40) {
            for (size_t k = 0; k < len; k++)
                s->golden[off + k] = (unsigned char)next_random(&rng);
            int err = r3_rel_write(s->h, off, s->golden + off, len);
            atomic_fetch_add(&writes, 1);
            atomic_fetch_add(&bytes_moved, len);
            if (err == -EIO) {
                atomic_fetch_add(&eio_writes, 1);
                restore(s);
            } else if (err) {
                atomic_fetch_add(&other_errors, 1);
            }
        } else {
            check_read(s, off, len, buf);
        }
    }
    free(buf);
    return NULL;
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--realtime")) {
            opt.realtime = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "workload: %s needs a value\n", a);
            exit(2);
        }
        i++;
        if (!strcmp(a, "--code"))
            opt.code = !strcmp(v, "tmr") ? R3_REL_TMR : R3_REL_SECDED;
        else if (!strcmp(a, "--capacity"))
            opt.capacity = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--threads"))
            opt.threads = (unsigned)atoi(v);
        else if (!strcmp(a, "--scrub-ms"))
            opt.scrub_ms = (unsigned)atoi(v);
        else if (!strcmp(a, "--step-words"))
            opt.step_words = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--events"))
            opt.events_path = v;
        else if (!strcmp(a, "--summary"))
            opt.summary_path = v;
        else {
            fprintf(stderr, "workload: unknown option %s\n", a);
            exit(2);
        }
    }
    if (!opt.events_path || !opt.summary_path || !opt.threads) {
        fprintf(stderr, "usage: r3-rel-workload [--code tmr|secded] [--capacity bytes] [--threads n]\n"
                        "       [--scrub-ms ms] [--step-words n] [--realtime] --events FILE --summary FILE\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    events_file = fopen(opt.events_path, "w");
    if (!events_file) {
        perror("workload: events");
        return 1;
    }
    static char events_buffer[1 << 20];
    setvbuf(events_file, events_buffer, _IOFBF, sizeof events_buffer);
    signal(SIGUSR1, on_signal);
    signal(SIGTERM, on_signal);
    r3_rel_config cfg;
    r3_rel_default_config(&cfg);
    cfg.code = opt.code;
    cfg.capacity = opt.capacity;
    cfg.max_blocks = opt.capacity / 512;
    cfg.scrub_interval_ms = opt.scrub_ms;
    cfg.realtime = opt.realtime;
    cfg.audit_writes = true;
    r3_rel_set_error_callback(log_event, NULL);
    int err = r3_rel_init(&cfg);
    if (err) {
        fprintf(stderr, "workload: r3_rel_init: %s\n", strerror(-err));
        return 1;
    }
    /* Blocks of 64..4096 bytes filling about 90% of the capacity. */
    slot_count = opt.capacity * 9 / 10 / 2080 / opt.threads * opt.threads;
    slots = calloc(slot_count, sizeof *slots);
    uint64_t rng = 12345;
    for (size_t i = 0; i < slot_count; i++) {
        slots[i].golden = malloc(4096);
        slot_alloc(&slots[i], &rng);
    }
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    pthread_t threads[64];
    unsigned n = opt.threads < 64 ? opt.threads : 64;
    for (unsigned t = 0; t < n; t++)
        pthread_create(&threads[t], NULL, worker, (void *)(uintptr_t)t);
    for (unsigned t = 0; t < n; t++)
        pthread_join(threads[t], NULL);
    /* Final sweep: every flip still latent is found now. */
    r3_rel_scrubber_stop();
    r3_rel_scrub();
    unsigned char *buf = malloc(4096);
    for (size_t i = 0; i < slot_count; i++)
        if (slots[i].h)
            check_read(&slots[i], 0, slots[i].size, buf);
    r3_rel_scrub();
    pthread_mutex_lock(&events_mutex);
    fclose(events_file);
    FILE *sum = fopen(opt.summary_path, "w");
    if (!sum)
        return 1;
    fprintf(sum, "code=%s\nrealtime=%d\ncapacity=%zu\nthreads=%u\nstep_words=%zu\nblocks=%zu\nreads=%" PRIu64 "\nwrites=%" PRIu64
                 "\nreallocs=%" PRIu64 "\nbytes_moved=%" PRIu64 "\nsilent_corruptions=%" PRIu64
                 "\neio_reads=%" PRIu64 "\neio_writes=%" PRIu64 "\nother_errors=%" PRIu64 "\n",
            opt.code == R3_REL_TMR ? "TMR" : "SECDED", opt.realtime, opt.capacity, opt.threads, opt.step_words,
            slot_count,
            (uint64_t)reads, (uint64_t)writes, (uint64_t)reallocs, (uint64_t)bytes_moved, (uint64_t)sdc,
            (uint64_t)eio_reads, (uint64_t)eio_writes, (uint64_t)other_errors);
    r3_rel_report(sum);
    fclose(sum);
    return 0;
}
