/* Unit test of the shared TLSF (src/core/tlsf.c): random operations with
 * tlsf_check after each, aligned allocations of every power of two, resize
 * in place (grow and shrink), regions added and removed. */
#include "core/tlsf.h"
#include "rt_test.h"
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#define REGION_SIZE ((size_t)1 << 20)
#define MAX_LIVE 4096

static void *map_region(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

/* A TLSF instance over one fresh region. */
static char *fresh_instance(tlsf *t)
{
    tlsf_init(t);
    char *mem = map_region(REGION_SIZE);
    CHECK(tlsf_add_region(t, mem, REGION_SIZE));
    return mem;
}

/* Everything was freed: the structure holds and the region is one block. */
static void expect_empty(tlsf *t, char *mem)
{
    CHECK_EQ(tlsf_check(t), 0);
    CHECK(tlsf_region_is_empty(t, mem));
    CHECK_EQ(t->bytes_free, TLSF_REGION_CAPACITY(REGION_SIZE));
    munmap(mem, REGION_SIZE);
}

struct live { unsigned char *p; size_t size; uint64_t id; };

static void fill(const struct live *b)
{
    for (size_t i = 0; i < b->size; i++)
        b->p[i] = pattern(b->id, i);
}

static void verify(const struct live *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(b->p[i] == pattern(b->id, i));
}

/* Random malloc/memalign/free/resize; contents verified before each free, so
 * any overlap between blocks shows as a wrong byte. */
static void random_operations(void)
{
    tlsf t;
    char *mem = fresh_instance(&t);
    static struct live live[MAX_LIVE];
    size_t n = 0;
    rng r = {1};
    for (uint64_t id = 1; id <= 30000; id++) {
        unsigned op = (unsigned)rng_below(&r, 10);
        if (n && (op < 4 || n == MAX_LIVE)) {
            size_t i = rng_below(&r, n);
            verify(&live[i], live[i].size);
            tlsf_free(&t, live[i].p);
            live[i] = live[--n];
        } else if (n && op < 6) {
            struct live *b = &live[rng_below(&r, n)];
            size_t want = rng_size(&r, 16384);
            if (tlsf_resize_in_place(&t, b->p, want)) {
                size_t keep = want < b->size ? want : b->size;
                verify(b, keep);
                CHECK(tlsf_usable_size(b->p) >= want);
                b->size = want;
                fill(b);
            }
        } else {
            size_t size = rng_size(&r, 16384);
            size_t align = op == 9 ? (size_t)1 << rng_below(&r, 13) : 0;
            void *p = align ? tlsf_memalign(&t, align, size) : tlsf_malloc(&t, size);
            if (p) {
                CHECK(((uintptr_t)p & ((align ? align : TLSF_ALIGN) - 1)) == 0);
                CHECK(tlsf_usable_size(p) >= size);
                CHECK(tlsf_block_is_used(p));
                live[n] = (struct live){p, size, id};
                fill(&live[n++]);
            }
        }
        CHECK_EQ(tlsf_check(&t), 0);
    }
    while (n) {
        verify(&live[n - 1], live[n - 1].size);
        tlsf_free(&t, live[--n].p);
    }
    expect_empty(&t, mem);
}

/* Every power of two from 1 to 2^18, each with a few sizes, from a heap
 * that already holds a misaligning block. */
static void aligned_allocations(void)
{
    tlsf t;
    char *mem = fresh_instance(&t);
    void *skew = tlsf_malloc(&t, 24);
    CHECK(skew);
    for (size_t align = 1; align <= ((size_t)1 << 18); align <<= 1) {
        size_t sizes[] = {1, align, 3 * align + 5};
        for (size_t k = 0; k < 3; k++) {
            if (sizes[k] > REGION_SIZE / 4)
                continue;
            void *p = tlsf_memalign(&t, align, sizes[k]);
            CHECK(p);
            CHECK(((uintptr_t)p & (align - 1)) == 0);
            CHECK(tlsf_usable_size(p) >= sizes[k]);
            memset(p, 0xab, sizes[k]);
            CHECK_EQ(tlsf_check(&t), 0);
            tlsf_free(&t, p);
            CHECK_EQ(tlsf_check(&t), 0);
        }
    }
    /* An impossible alignment fails cleanly. */
    CHECK(tlsf_memalign(&t, (size_t)1 << 40, 16) == NULL);
    tlsf_free(&t, skew);
    expect_empty(&t, mem);
}

/* Grow into a free neighbour, refuse when it is too small or used, shrink
 * and give the tail back. */
static void resize_in_place(void)
{
    tlsf t;
    char *mem = fresh_instance(&t);
    char *a = tlsf_malloc(&t, 256), *b = tlsf_malloc(&t, 1024), *c = tlsf_malloc(&t, 256);
    CHECK(a && b && c);
    memset(a, 'a', 256);
    CHECK(!tlsf_resize_in_place(&t, a, 512));             /* b is used */
    tlsf_free(&t, b);
    CHECK(tlsf_resize_in_place(&t, a, 512));              /* into b, split */
    CHECK(tlsf_usable_size(a) >= 512 && tlsf_usable_size(a) < 1024);
    CHECK(tlsf_resize_in_place(&t, a, 256 + 16 + 1024));  /* all of b */
    CHECK_EQ(tlsf_usable_size(a), 256 + 16 + 1024);
    CHECK(!tlsf_resize_in_place(&t, a, 256 + 16 + 1024 + 16)); /* c is used */
    for (int i = 0; i < 256; i++)
        CHECK(a[i] == 'a');
    CHECK_EQ(tlsf_check(&t), 0);
    size_t free_before = t.bytes_free;
    CHECK(tlsf_resize_in_place(&t, a, 100));              /* shrink: tail freed */
    CHECK_EQ(tlsf_usable_size(a), 112);
    CHECK_EQ(t.bytes_free, free_before + 256 + 16 + 1024 - 112 - 16);
    CHECK(tlsf_resize_in_place(&t, a, 112));              /* same size */
    CHECK(tlsf_resize_in_place(&t, a, 1));
    CHECK_EQ(tlsf_check(&t), 0);
    void *d = tlsf_malloc(&t, 1024);                       /* the tail is reusable */
    CHECK(d == a + 32);
    CHECK(!tlsf_resize_in_place(&t, c, (size_t)1 << 50)); /* impossible size */
    tlsf_free(&t, a);
    tlsf_free(&t, c);
    tlsf_free(&t, d);
    expect_empty(&t, mem);
}

/* Three regions: allocation spans them, emptied regions are removed one by
 * one, and an instance without regions allocates nothing. */
static void regions_added_and_removed(void)
{
    tlsf t;
    tlsf_init(&t);
    enum { REGIONS = 3 };
    char *mem[REGIONS];
    for (int i = 0; i < REGIONS; i++) {
        mem[i] = map_region(REGION_SIZE);
        CHECK(tlsf_add_region(&t, mem[i], REGION_SIZE));
        CHECK_EQ(tlsf_check(&t), 0);
    }
    CHECK(!tlsf_add_region(&t, mem[0] + 8, REGION_SIZE));   /* misaligned */
    CHECK(!tlsf_add_region(&t, mem[0], 64));                 /* too small */
    CHECK_EQ(t.bytes_total, REGIONS * REGION_SIZE);
    void *big[REGIONS];
    for (int i = 0; i < REGIONS; i++) {
        big[i] = tlsf_malloc(&t, REGION_SIZE / 2 + 4096);       /* one per region */
        CHECK(big[i]);
    }
    CHECK(tlsf_malloc(&t, REGION_SIZE / 2 + 4096) == NULL);
    for (int i = 0; i < REGIONS; i++) {
        char *owner = NULL;
        for (int j = 0; j < REGIONS; j++)
            if ((char *)big[i] > mem[j] && (char *)big[i] < mem[j] + REGION_SIZE)
                owner = mem[j];
        CHECK(owner);
        CHECK(!tlsf_region_is_empty(&t, owner));
        struct tlsf_region *freed = tlsf_free(&t, big[i]);
        CHECK(freed == (struct tlsf_region *)owner);            /* region starts again */
        CHECK(tlsf_region_is_empty(&t, owner));
        tlsf_remove_region(&t, owner);
        CHECK_EQ(tlsf_check(&t), 0);
        CHECK_EQ(t.bytes_total, (REGIONS - 1 - i) * REGION_SIZE);
    }
    CHECK(tlsf_malloc(&t, 16) == NULL);
    CHECK_EQ(tlsf_largest_free(&t), 0);
    for (int i = 0; i < REGIONS; i++)
        munmap(mem[i], REGION_SIZE);
}

int main(void)
{
    random_operations();
    aligned_allocations();
    resize_in_place();
    regions_added_and_removed();
    puts("test_tlsf: ok");
    return 0;
}
