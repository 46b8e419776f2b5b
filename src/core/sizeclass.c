/* Size classes. The static table (generated once): 16-byte steps to 128,
 * then four classes per power of two, so internal waste is at most 25%
 * above 128. Then classes split off on demand, see the end of the file. */
#include "internal.h"

uint32_t r3_class_size[CLASS_COUNT] = {
    16, 32, 48, 64, 80, 96, 112, 128,
    160, 192, 224, 256, 320, 384, 448, 512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048,
    2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
    10240, 12288, 14336, 16384,
};

/* Class of a request of g 16-byte granules (g = (size + 15) / 16). */
r3_atomic(uint8_t) r3_class_of_granule[SMALL_MAX / 16 + 1] = {
    0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10, 11,
    11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15,
    15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17,
    17, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19,
    19, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21,
    21, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
    22, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
    23, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
    24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
    24, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25,
    25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25,
    25, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
    26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
    26, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
    27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
    27, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    28, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29,
    29, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33,
    33, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
    35,
};

/* ---- classes split on demand ----------------------------------------------
 * Programs often allocate one size far more than its neighbours, and that
 * size is often a power of two plus a small header (sqlite's 1024- and
 * 4096-byte buffers with its 8-byte size prefix: 1032 and 4104 bytes),
 * which the static table serves from the next class up with a quarter of
 * the block wasted. Such a size gets a class of its own, of exactly its
 * 16-byte granules: when the slow path of a static class above DIRECT_MAX
 * sees the same granule SPLIT_STREAK times in a row in one thread, and it
 * wastes at least an eighth of the class's block, the granule table is
 * pointed at a new class. At most CLASS_SPLIT_MAX splits per process; a
 * split is never undone (blocks of both classes stay valid either way).
 *
 * The slow path of a class runs each time its current page's free list
 * runs dry: once per OS page while a page is being carved (1 to 4 blocks
 * of these classes), once per page's worth of freed blocks after that. A
 * streak of 8 means one size took all of the class's traffic for 8 to a
 * few hundred allocations; sizes drawn evenly from a class's 16 to 64
 * granules make such a streak once in 10^8 to 10^12 slow paths. The
 * sample is per thread: no shared cache line is written. */
#define SPLIT_STREAK 8

static struct {
    r3_lock_t lock;
    r3_atomic(unsigned) count;
} split;

static unsigned split_off(unsigned cls, size_t granule)
{
    r3_lock(&split.lock);
    unsigned c = r3_load_relaxed(&r3_class_of_granule[granule]);
    unsigned n = r3_load_relaxed(&split.count);
    if (c == cls && n < CLASS_SPLIT_MAX) {
        c = CLASS_STATIC + n;
        r3_class_size[c] = (uint32_t)(granule * 16);
        r3_store_relaxed(&split.count, n + 1);
        r3_store_release(&r3_class_of_granule[granule], (uint8_t)c);
    }
    r3_unlock(&split.lock);
    return c;
}

unsigned size_class_observe(heap_t *h, unsigned cls, size_t size)
{
    size_t granule = (size + 15) >> 4;   /* size > DIRECT_MAX: not in the direct table */
    if (cls >= CLASS_STATIC)
        return cls;
    /* Every request that reaches the slow path counts, whatever its waste:
     * the streak must mean that one size took the class's traffic. */
    if (h->sample[cls].granule != granule) {
        h->sample[cls].granule = (uint16_t)granule;
        h->sample[cls].streak = 1;
        return cls;
    }
    if (++h->sample[cls].streak < SPLIT_STREAK)
        return cls;
    h->sample[cls].streak = 0;
    uint32_t block = r3_class_size[cls];
    if ((block - granule * 16) * 8 < block || r3_load_relaxed(&split.count) >= CLASS_SPLIT_MAX)
        return cls;
    return split_off(cls, granule);
}

unsigned size_class_split_count(void)
{
    return r3_load_relaxed(&split.count);
}

/* A split half done at fork leaves, at worst, a class that no granule names. */
void size_class_fork_child(void)
{
    r3_lock_reset(&split.lock);
}

/* A thread that holds one or two blocks of a class still pays for a page
 * of it (an OS page at least, and the high-water mark of its count), and a
 * thread that touches many classes pays that many times. Above 128 bytes,
 * until the heap has carved more than half a page of class c + 1,
 * requests of every other class c take blocks of c + 1 (at most a fifth
 * larger): half the classes, half the pages (page.c, page_alloc_slow). */
uint64_t size_class_coarse_mask(void)
{
    uint64_t mask = 0;
    unsigned c = 0;
    while (c < CLASS_STATIC && r3_class_size[c] <= 128)
        c++;
    for (; c + 1 < CLASS_STATIC; c += 2)
        mask |= 1ull << c;
    return mask;
}
