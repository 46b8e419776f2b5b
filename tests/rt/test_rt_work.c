/* The proof of bounded time: in the instrumented build (R3_WORK_COUNTERS=1,
 * library variant r3api_rt) every operation reports the work it did; this
 * test runs 1,000,000 random operations over heaps of 1 MiB to 1 GiB, each
 * filled to exhaustion, fragmented by freeing every other block, churned
 * and drained to empty, and asserts that
 *   1. no operation ever exceeds its bound (work_subject_*.c states the
 *      bounds and their derivation; docs/realtime.md the formulas),
 *   2. for every heap size a constructed worst case reaches each bound
 *      exactly: the bounds are tight and the same whatever the heap size,
 *   3. the heap's checker passes after every phase.
 * The table printed at the end shows the maxima of the random runs per heap
 * size; they reach every bound but the moving realloc's bitmap words, which
 * needs both of its TLSF calls at their worst at once. */
#include "rt_test.h"
#include "work_subject.h"
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#define TOTAL_OPS 1000000u
#define MAX_LIVE (1u << 17)
#define REALLOC_COPY_MAX ((size_t)64 << 10)   /* keeps copies (and RSS) small */

static const struct work_subject *const subjects[] = {
    &work_subject_rt,
    &work_subject_rt_nonblocking,
};
static const size_t heap_sizes[] = {(size_t)1 << 20, (size_t)16 << 20, (size_t)256 << 20, (size_t)1 << 30};
#define N_SIZES (sizeof heap_sizes / sizeof *heap_sizes)

static const char *const op_names[OP_COUNT] = {"alloc", "free", "realloc", "aligned", "read", "write"};
static const char *const field_names[W_FIELDS] = {"list nodes", "bitmap words", "lock attempts",
                                                  "tlsf calls", "words coded"};

struct live { uint64_t block; size_t size; };

struct run {
    const struct work_subject *s;
    void *heap;
    size_t heap_size;
    rng r;
    struct live *live;
    size_t n;
    uint64_t ops, budget;
    unsigned fulls, empties;
    uint32_t max[OP_COUNT][W_FIELDS];    /* work beyond the per-word part */
};

/* Reads the last operation's work and checks it against its bound. */
static void record(struct run *run, enum work_op op, size_t len)
{
    uint32_t w[W_FIELDS];
    run->s->last_work(w);
    uint64_t words = (len + 7) / 8;
    for (int f = 0; f < W_FIELDS; f++) {
        struct work_bound b = run->s->bound[op][f];
        uint64_t linear = (uint64_t)b.per_word * words;
        uint64_t excess = w[f] > linear ? w[f] - linear : 0;
        if (excess > b.constant) {
            fprintf(stderr, "%s, %zu MiB heap, operation %llu (%s, length %zu): %s = %u > bound %u + %u * %llu\n",
                    run->s->name, run->heap_size >> 20, (unsigned long long)run->ops, op_names[op], len,
                    field_names[f], w[f], b.constant, b.per_word, (unsigned long long)words);
            exit(1);
        }
        if (excess > run->max[op][f])
            run->max[op][f] = (uint32_t)excess;
    }
    run->ops++;
}

/* Mostly small sizes, a quarter up to 1/256 of the heap: fills any heap in
 * a few thousand allocations and leaves holes of every size. */
static size_t random_size(struct run *run)
{
    if (rng_below(&run->r, 4))
        return rng_size(&run->r, 4096);
    return rng_size(&run->r, run->heap_size / 256);
}

static void do_alloc(struct run *run, bool *failed)
{
    size_t size = random_size(run);
    uint64_t block;
    enum work_op op = OP_ALLOC;
    if (run->s->aligned && rng_below(&run->r, 5) == 0) {
        op = OP_ALIGNED;
        block = run->s->aligned(run->heap, (size_t)1 << (5 + rng_below(&run->r, 12)), size);
    } else {
        block = run->s->alloc(run->heap, size);
    }
    record(run, op, 0);
    *failed = !block;
    if (block && run->n < MAX_LIVE)
        run->live[run->n++] = (struct live){block, size};
    else if (block) {
        CHECK_EQ(run->s->free(run->heap, block), 0);
        record(run, OP_FREE, 0);
    }
}

static void do_free(struct run *run, size_t i)
{
    CHECK_EQ(run->s->free(run->heap, run->live[i].block), 0);
    record(run, OP_FREE, 0);
    run->live[i] = run->live[--run->n];
}

static void do_realloc(struct run *run)
{
    struct live *l = &run->live[rng_below(&run->r, run->n)];
    size_t size = l->size > REALLOC_COPY_MAX ? l->size / 2 + rng_below(&run->r, l->size / 4)
                                             : rng_size(&run->r, REALLOC_COPY_MAX);
    uint64_t block = run->s->realloc(run->heap, l->block, size);
    record(run, OP_REALLOC, 0);
    if (block)
        *l = (struct live){block, size};
    else
        CHECK_EQ(errno, ENOMEM);
}

static void do_access(struct run *run, enum work_op op)
{
    static unsigned char buf[4096];
    struct live *l = &run->live[rng_below(&run->r, run->n)];
    size_t offset = rng_below(&run->r, l->size);
    size_t len = rng_below(&run->r, l->size - offset < sizeof buf ? l->size - offset : sizeof buf) + 1;
    if (op == OP_READ)
        CHECK_EQ(run->s->read(run->heap, l->block, offset, len, buf), 0);
    else
        CHECK_EQ(run->s->write(run->heap, l->block, offset, len, buf), 0);
    record(run, op, len);
}

static bool budget_left(const struct run *run) { return run->ops < run->budget; }

/* Allocates until eight requests in a row fail: the heap is full. */
static void fill(struct run *run)
{
    unsigned failures = 0;
    while (failures < 8 && budget_left(run)) {
        bool failed;
        do_alloc(run, &failed);
        failures = failed ? failures + 1 : 0;
    }
    run->fulls += failures == 8;
}

/* Frees every other block: the heap is full of holes. */
static void fragment(struct run *run)
{
    for (size_t i = 0; i < run->n && budget_left(run); i++)
        do_free(run, i);
}

static void churn(struct run *run, uint64_t ops)
{
    for (uint64_t end = run->ops + ops; run->ops < end && budget_left(run);) {
        unsigned op = (unsigned)rng_below(&run->r, 100);
        bool failed;
        if (!run->n || op < 40)
            do_alloc(run, &failed);
        else if (op < 75)
            do_free(run, rng_below(&run->r, run->n));
        else if (op < 90 && run->s->realloc)
            do_realloc(run);
        else if (op < 95 && run->s->read)
            do_access(run, OP_READ);
        else if (run->s->write)
            do_access(run, OP_WRITE);
    }
}

static void drain(struct run *run)
{
    while (run->n)
        do_free(run, rng_below(&run->r, run->n));
    run->empties++;
}

static void *map(size_t size)
{
    /* Only the pages the heap's headers touch become resident. */
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(mem != MAP_FAILED);
    return mem;
}

static void random_run(struct run *run)
{
    void *mem = map(run->heap_size);
    run->heap = run->s->create(mem, run->heap_size);
    CHECK(run->heap);
    while (budget_left(run)) {
        fill(run);
        CHECK_EQ(run->s->check(run->heap), 0);
        fragment(run);
        CHECK_EQ(run->s->check(run->heap), 0);
        churn(run, run->budget / 8);
        CHECK_EQ(run->s->check(run->heap), 0);
        drain(run);
        CHECK_EQ(run->s->check(run->heap), 0);
    }
    CHECK(run->fulls >= 1 && run->empties >= 1);
    run->s->destroy(run->heap);
    munmap(mem, run->heap_size);
}

/* Each operation's constructed worst case reaches its bound exactly. */
static void worst_cases(const struct work_subject *s, size_t heap_size)
{
    for (int op = 0; op < OP_COUNT; op++) {
        if (!s->bound[op][W_LIST_NODES].constant && !s->bound[op][W_WORDS_CODED].per_word)
            continue;
        void *mem = map(heap_size);
        void *heap = s->create(mem, heap_size);
        uint32_t w[W_FIELDS];
        s->worst_case(heap, (enum work_op)op, w);
        for (int f = 0; f < W_FIELDS; f++) {
            if (w[f] != s->bound[op][f].constant) {
                fprintf(stderr, "%s, %zu MiB heap, worst case of %s: %s = %u, bound %u\n", s->name,
                        heap_size >> 20, op_names[op], field_names[f], w[f], s->bound[op][f].constant);
                exit(1);
            }
        }
        CHECK_EQ(s->check(heap), 0);
        s->destroy(heap);
        munmap(mem, heap_size);
    }
}

static void print_table(const struct work_subject *s, uint32_t max[N_SIZES][OP_COUNT][W_FIELDS])
{
    printf("%s: maximum work per operation in the random runs, per heap size, and its bound\n", s->name);
    printf("%-8s %-14s", "op", "counter");
    for (size_t k = 0; k < N_SIZES; k++)
        printf(" %7zuM", heap_sizes[k] >> 20);
    printf("  bound\n");
    for (int op = 0; op < OP_COUNT; op++)
        for (int f = 0; f < W_FIELDS; f++) {
            struct work_bound b = s->bound[op][f];
            if (!b.constant && !b.per_word)
                continue;
            printf("%-8s %-14s", op_names[op], field_names[f]);
            for (size_t k = 0; k < N_SIZES; k++)
                printf(" %8u", max[k][op][f]);
            if (b.per_word)
                printf("  %u + %u/word\n", b.constant, b.per_word);
            else
                printf("  %u\n", b.constant);
        }
}

int main(void)
{
    for (size_t i = 0; i < sizeof subjects / sizeof *subjects; i++) {
        const struct work_subject *s = subjects[i];
        uint32_t (*max)[OP_COUNT][W_FIELDS] = calloc(N_SIZES, sizeof *max);
        struct live *live = malloc(MAX_LIVE * sizeof *live);
        CHECK(max && live);
        for (size_t k = 0; k < N_SIZES; k++) {
            struct run run = {.s = s, .heap_size = heap_sizes[k], .r = {k + 1}, .live = live,
                              .budget = TOTAL_OPS / N_SIZES};
            random_run(&run);
            memcpy(max[k], run.max, sizeof run.max);
            worst_cases(s, heap_sizes[k]);
            printf("%s: %zu MiB heap: %llu operations, full %u times, empty %u times\n", s->name,
                   heap_sizes[k] >> 20, (unsigned long long)run.ops, run.fulls, run.empties);
        }
        print_table(s, max);
        free(max);
        free(live);
    }
    puts("test_rt_work: ok");
    return 0;
}
