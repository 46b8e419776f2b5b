/* Error accounting of the reliable heap: totals per code, a ring of the last
 * events for the report, the user's callback, and the set of uncorrectable
 * words already reported. */
#include "rel_internal.h"
#include "core/atomic.h"
#include "core/os.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define POISON_SLOTS 64u
#define EVENT_LOG_DEFAULT 64u

typedef struct counters {
    r3_atomic(uint64_t) corrected, corrected_bits, uncorrectable, overwritten;
} counters;

static counters code_counters[R3_REL_CODES];
static counters meta_counters;
static r3_atomic(uint64_t) scrub_passes, scrub_words;

/* Events and poison slots change under events_lock (a leaf lock: taken
 * with the heap lock or a chunk lock held, never the other way round). */
static r3_lock_t events_lock = R3_LOCK_INIT;
static r3_rel_event *ring;
static unsigned ring_size, ring_next;
static uint64_t ring_total;
static r3_rel_error_fn callback;
static void *callback_arg;
static size_t poison[POISON_SLOTS];
static r3_atomic(unsigned) poison_count;

void rel_events_setup(unsigned capacity)
{
    if (!capacity)
        capacity = EVENT_LOG_DEFAULT;
    r3_lock(&events_lock);
    if (capacity != ring_size) {
        free(ring);
        ring = calloc(capacity, sizeof *ring);
        ring_size = ring ? capacity : 0;
    }
    ring_next = 0;
    ring_total = 0;
    r3_store_relaxed(&poison_count, 0);
    r3_unlock(&events_lock);
}

void rel_event(r3_rel_event_kind kind, r3_rel_area area, r3_rel_code code, const void *address,
               uint64_t mask, uint32_t syndrome, r3_rel_handle block, size_t offset)
{
    counters *c = area >= R3_REL_AREA_META ? &meta_counters : &code_counters[code];
    if (kind == R3_REL_CORRECTED) {
        r3_fetch_add(&c->corrected, 1);
        r3_fetch_add(&c->corrected_bits, (uint64_t)__builtin_popcountll(mask));
    } else if (kind == R3_REL_UNCORRECTABLE) {
        r3_fetch_add(&c->uncorrectable, 1);
    } else {
        r3_fetch_add(&c->overwritten, 1);
    }
    r3_rel_event ev = {.time_ns = r3_os_now_ns(), .kind = kind, .area = area, .code = code,
                       .address = address, .mask = mask, .syndrome = syndrome, .block = block,
                       .offset = offset};
    r3_lock(&events_lock);
    if (ring_size) {
        ring[ring_next] = ev;
        ring_next = (ring_next + 1) % ring_size;
    }
    ring_total++;
    r3_rel_error_fn fn = callback;
    void *arg = callback_arg;
    r3_unlock(&events_lock);
    if (fn)
        fn(&ev, arg);
}

void r3_rel_set_error_callback(r3_rel_error_fn fn, void *arg)
{
    r3_lock(&events_lock);
    callback = fn;
    callback_arg = arg;
    r3_unlock(&events_lock);
}

bool rel_poison_any(void) { return r3_load_relaxed(&poison_count) != 0; }

bool rel_poison_has(size_t word)
{
    bool found = false;
    r3_lock(&events_lock);
    for (unsigned i = 0; i < r3_load_relaxed(&poison_count); i++)
        found |= poison[i] == word;
    r3_unlock(&events_lock);
    return found;
}

bool rel_poison_add(size_t word)
{
    bool added = false;
    r3_lock(&events_lock);
    unsigned n = r3_load_relaxed(&poison_count);
    bool found = false;
    for (unsigned i = 0; i < n; i++)
        found |= poison[i] == word;
    /* A full set reports again rather than forget a word. */
    if (!found) {
        added = true;
        if (n < POISON_SLOTS) {
            poison[n] = word;
            r3_store_relaxed(&poison_count, n + 1);
        }
    }
    r3_unlock(&events_lock);
    return added;
}

void rel_poison_clear(size_t from, size_t n)
{
    r3_lock(&events_lock);
    unsigned count = r3_load_relaxed(&poison_count);
    for (unsigned i = 0; i < count;)
        if (poison[i] >= from && poison[i] - from < n)
            poison[i] = poison[--count];
        else
            i++;
    r3_store_relaxed(&poison_count, count);
    r3_unlock(&events_lock);
}

void rel_count_scrub(uint64_t passes, uint64_t words)
{
    r3_fetch_add(&scrub_passes, passes);
    r3_fetch_add(&scrub_words, words);
}

static void counters_read(const counters *c, r3_rel_code_stats *out)
{
    out->corrected = r3_load_relaxed(&c->corrected);
    out->corrected_bits = r3_load_relaxed(&c->corrected_bits);
    out->uncorrectable = r3_load_relaxed(&c->uncorrectable);
    out->overwritten = r3_load_relaxed(&c->overwritten);
}

void r3_rel_get_stats(r3_rel_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    for (unsigned k = 0; k < R3_REL_CODES; k++)
        counters_read(&code_counters[k], &out->code[k]);
    counters_read(&meta_counters, &out->meta);
    out->scrub_passes = r3_load_relaxed(&scrub_passes);
    out->scrub_words = r3_load_relaxed(&scrub_words);
    r3_lock(&rel.lock);
    if (rel.ready) {
        out->blocks_live = rel_meta_get(META_LIVE_BLOCKS);
        out->bytes_live = rel_meta_get(META_LIVE_BYTES);
        out->capacity = rel.words * 8;
        out->active_code = rel.code;
    }
    r3_unlock(&rel.lock);
}

static const char *code_name(r3_rel_code c) { return c == R3_REL_TMR ? "TMR" : c == R3_REL_SECDED ? "SECDED" : "-"; }
static const char *kind_name(r3_rel_event_kind k)
{
    return k == R3_REL_CORRECTED ? "corrected" : k == R3_REL_UNCORRECTABLE ? "UNCORRECTABLE" : "overwritten";
}
static const char *area_name(r3_rel_area a)
{
    static const char *names[] = {"?", "data", "check", "copy1", "copy2", "meta", "metachk"};
    return (unsigned)a < sizeof names / sizeof *names ? names[a] : "?";
}

static void print_counters(FILE *out, const char *what, const r3_rel_code_stats *s)
{
    fprintf(out, "  %-8s corrected %" PRIu64 " words (%" PRIu64 " bits), uncorrectable %" PRIu64
                 ", overwritten %" PRIu64 "\n",
            what, s->corrected, s->corrected_bits, s->uncorrectable, s->overwritten);
}

int r3_rel_report(FILE *out)
{
    if (!out)
        return -EINVAL;
    r3_rel_stats st;
    r3_rel_get_stats(&st);
    fprintf(out, "r3rel error report\n");
    if (st.active_code)
        fprintf(out, "  heap: code %s, capacity %zu bytes, %" PRIu64 " live blocks, %" PRIu64
                     " live bytes\n",
                code_name(st.active_code), st.capacity, st.blocks_live, st.bytes_live);
    else
        fprintf(out, "  heap: not set up\n");
    print_counters(out, "TMR", &st.code[R3_REL_TMR]);
    print_counters(out, "SECDED", &st.code[R3_REL_SECDED]);
    print_counters(out, "metadata", &st.meta);
    fprintf(out, "  scrub: %" PRIu64 " full passes, %" PRIu64 " words checked\n", st.scrub_passes,
            st.scrub_words);
    r3_lock(&events_lock);
    unsigned shown = ring_total < ring_size ? (unsigned)ring_total : ring_size;
    fprintf(out, "  events: %" PRIu64 " in all, the last %u:\n", ring_total, shown);
    for (unsigned i = 0; i < shown; i++) {
        const r3_rel_event *e = &ring[(ring_next + ring_size - shown + i) % ring_size];
        fprintf(out, "    t=%" PRIu64 ".%09" PRIu64 " %-13s %-6s %-5s addr=%p mask=%#" PRIx64
                     " syndrome=%#x block=%#" PRIx64 " offset=%zu\n",
                e->time_ns / 1000000000u, e->time_ns % 1000000000u, kind_name(e->kind),
                code_name(e->code), area_name(e->area), e->address, e->mask, e->syndrome, e->block,
                e->offset);
    }
    r3_unlock(&events_lock);
    return 0;
}
