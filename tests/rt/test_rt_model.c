/* Property test of the real-time heap against a shadow model: random
 * malloc/calloc/memalign/realloc/free; every live block is filled with its
 * own pattern and verified before it changes hands; an ownership map of the
 * heap's 16-byte granules proves that no two live blocks overlap; the
 * heap's stats match the model; r3_rt_check holds throughout. */
#include "r3rt.h"
#include "rt_test.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define GRANULE 16
#define MAX_LIVE 8192

struct live { unsigned char *p; size_t size; uint64_t id; };

struct model {
    r3_rt_heap *heap;
    unsigned char *mem;          /* the memory given to r3_rt_init */
    size_t mem_size;
    unsigned char *owned;        /* one byte per granule of mem */
    struct live live[MAX_LIVE];
    size_t n;
    size_t bytes_used;           /* sum of usable sizes */
};

static void claim(struct model *m, const void *p, size_t usable, unsigned char owner)
{
    size_t first = (size_t)((const unsigned char *)p - m->mem) / GRANULE;
    CHECK((const unsigned char *)p >= m->mem && (const unsigned char *)p + usable <= m->mem + m->mem_size);
    /* Claiming: every granule was free; releasing: every granule was ours. */
    CHECK(memchr(m->owned + first, owner, usable / GRANULE) == NULL);
    memset(m->owned + first, owner, usable / GRANULE);
}

/* A block holds its id in its first bytes and its id's byte after them;
 * memset and memcmp keep the test fast under the sanitizers. */
static unsigned char id_byte(uint64_t id) { return pattern(id, 0); }

static void fill(const struct live *b)
{
    size_t head = b->size < sizeof b->id ? b->size : sizeof b->id;
    memcpy(b->p, &b->id, head);
    memset(b->p + head, id_byte(b->id), b->size - head);
}

static void verify(const struct live *b, size_t n)
{
    static unsigned char expected[256 << 10];
    size_t head = n < sizeof b->id ? n : sizeof b->id;
    CHECK(memcmp(b->p, &b->id, head) == 0);
    memset(expected, id_byte(b->id), n - head);
    CHECK(memcmp(b->p + head, expected, n - head) == 0);
}

static void add_block(struct model *m, void *p, size_t size, uint64_t id)
{
    size_t usable = r3_rt_usable_size(m->heap, p);
    CHECK(usable >= size);
    CHECK(((uintptr_t)p & 15) == 0);
    claim(m, p, usable, 1);
    m->bytes_used += usable;
    m->live[m->n] = (struct live){p, size, id};
    fill(&m->live[m->n++]);
}

static void drop_block(struct model *m, size_t i)
{
    struct live *b = &m->live[i];
    verify(b, b->size);
    size_t usable = r3_rt_usable_size(m->heap, b->p);
    claim(m, b->p, usable, 0);
    m->bytes_used -= usable;
    CHECK_EQ(r3_rt_free(m->heap, b->p), 0);
    *b = m->live[--m->n];
}

static void check_stats(struct model *m)
{
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(m->heap, &s), 0);
    CHECK_EQ(s.blocks_used, m->n);
    CHECK_EQ(s.bytes_used, m->bytes_used);
    CHECK_EQ(r3_rt_check(m->heap), 0);
}

static void realloc_block(struct model *m, size_t i, size_t size, uint64_t id)
{
    struct live *b = &m->live[i];
    size_t old_usable = r3_rt_usable_size(m->heap, b->p);
    claim(m, b->p, old_usable, 0);
    void *q = r3_rt_realloc(m->heap, b->p, size);
    if (!q) {
        CHECK_EQ(errno, ENOMEM);
        claim(m, b->p, old_usable, 1);   /* untouched */
        verify(b, b->size);
        return;
    }
    size_t keep = size < b->size ? size : b->size;
    size_t usable = r3_rt_usable_size(m->heap, q);
    CHECK(usable >= size);
    claim(m, q, usable, 1);
    m->bytes_used += usable - old_usable;
    b->p = q;
    verify(b, keep);
    /* The block takes a new identity so stale copies would show. */
    b->id = id;
    b->size = size;
    fill(b);
}

static void run(size_t mem_size, uint64_t seed, size_t max_size, unsigned ops)
{
    static struct model m;
    memset(&m, 0, sizeof m);
    m.mem_size = mem_size;
    m.mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m.owned = calloc(mem_size / GRANULE, 1);
    CHECK(m.mem != MAP_FAILED && m.owned);
    m.heap = r3_rt_init(m.mem, mem_size);
    CHECK(m.heap);
    rng r = {seed};
    for (uint64_t id = 1; id <= ops; id++) {
        unsigned op = (unsigned)rng_below(&r, 100);
        size_t size = rng_size(&r, max_size);
        if (m.n && (op < 35 || m.n == MAX_LIVE)) {
            drop_block(&m, rng_below(&r, m.n));
        } else if (m.n && op < 55) {
            realloc_block(&m, rng_below(&r, m.n), size, id);
        } else {
            void *p;
            if (op < 65)
                p = r3_rt_memalign(m.heap, (size_t)1 << rng_below(&r, 14), size);
            else if (op < 70)
                p = r3_rt_calloc(m.heap, 1, size);
            else
                p = r3_rt_malloc(m.heap, size);
            if (p) {
                if (op >= 65 && op < 70)
                    for (size_t i = 0; i < size; i++)
                        CHECK(((unsigned char *)p)[i] == 0);
                add_block(&m, p, size, id);
            } else {
                CHECK_EQ(errno, ENOMEM);
            }
        }
        if (id % 1024 == 0)
            check_stats(&m);
    }
    check_stats(&m);
    while (m.n)
        drop_block(&m, m.n - 1);
    check_stats(&m);
    r3_rt_stats s;
    CHECK_EQ(r3_rt_get_stats(m.heap, &s), 0);
    CHECK_EQ(s.bytes_used, 0);
    CHECK_EQ(s.bytes_free, s.capacity);     /* everything coalesced back */
    CHECK_EQ(s.rejected, 0);
    CHECK(s.failed > 0);                    /* the run reached a full heap */
    CHECK_EQ(r3_rt_destroy(m.heap), 0);
    munmap(m.mem, mem_size);
    free(m.owned);
}

/* "quick" (for the debug build, which checks the whole heap after every
 * operation) runs the small heap only. */
int main(int argc, char **argv)
{
    run((size_t)1 << 20, 1, 65536, 60000);          /* small heap: often full */
    if (argc < 2 || strcmp(argv[1], "quick") != 0)
        run((size_t)16 << 20, 2, (size_t)256 << 10, 30000); /* larger blocks, fragmented */
    puts("test_rt_model: ok");
    return 0;
}
