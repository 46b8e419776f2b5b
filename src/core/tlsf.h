/* TLSF: Two-Level Segregated Fit allocator over caller-supplied regions.
 *
 * This is the "best fit with several doubly linked lists in O(1), found
 * through a bitmap" scheme: free blocks sit in one of FL x SL segregated
 * doubly linked lists; a first-level bitmap (one bit per power of two) and a
 * second-level bitmap per first level (one bit per 1/32 of that power of two)
 * say which lists are non-empty, so that finding a list with a block that is
 * large enough takes two find-first-set instructions. Every operation is
 * O(1): no list is ever walked.
 *
 * The instance does no locking and never calls the OS: the caller provides
 * memory with tlsf_add_region() and serialises access. It is shared by the
 * core allocator's medium arenas, the real-time heap (r3rt.h) and the
 * reliable heap (r3rel.h).
 *
 * Layout: every block starts with a 16-byte header (previous physical block,
 * size and flags); the payload follows and is 16-byte aligned; payload sizes
 * are multiples of 16. A zero-sized used block ends every region.
 */
#ifndef R3_TLSF_H
#define R3_TLSF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLSF_ALIGN_LOG2 4
#define TLSF_ALIGN      ((size_t)1 << TLSF_ALIGN_LOG2)
#define TLSF_SL_LOG2    5                     /* 32 second-level lists */
#define TLSF_SL_COUNT   (1u << TLSF_SL_LOG2)
#define TLSF_FL_SHIFT   (TLSF_SL_LOG2 + TLSF_ALIGN_LOG2)
#define TLSF_FL_MAX     48                    /* blocks up to 2^47 bytes */
#define TLSF_FL_COUNT   (TLSF_FL_MAX - TLSF_FL_SHIFT + 1)
#define TLSF_HEADER     16                    /* per-block overhead */
#define TLSF_MIN_PAYLOAD 16                   /* room for the free-list links */
#define TLSF_REGION_OVERHEAD (sizeof(struct tlsf_region) + 2 * TLSF_HEADER)
/* The largest payload a region of this size can hold. */
#define TLSF_REGION_CAPACITY(size) ((size) - TLSF_REGION_OVERHEAD)

typedef struct tlsf_block tlsf_block;

struct tlsf_region {               /* at the start of every region */
    struct tlsf_region *next;
    size_t size;
    uint64_t pad;                  /* keeps the first block 16-aligned */
    uint64_t magic;
};

/* Work done by the last operation, for the bounded-time proof (r3rt.h). */
typedef struct tlsf_work {
    uint32_t list_nodes;      /* free-list nodes read or linked */
    uint32_t bitmap_words;    /* bitmap words scanned */
} tlsf_work;

typedef struct tlsf {
    uint64_t fl_bitmap;
    uint32_t sl_bitmap[TLSF_FL_COUNT];
    tlsf_block *heads[TLSF_FL_COUNT][TLSF_SL_COUNT];
    struct tlsf_region *regions;
    size_t bytes_free;        /* payload bytes in free blocks */
    size_t bytes_total;       /* bytes in all regions */
    tlsf_work work;           /* filled only when R3_WORK_COUNTERS=1 */
} tlsf;

void   tlsf_init(tlsf *t);
/* Adds [mem, mem+size) as a region; mem 16-aligned. Returns false when the
 * region is too small. O(1). */
bool   tlsf_add_region(tlsf *t, void *mem, size_t size);
/* Removes a region whose memory is all free (tlsf_region_is_empty). O(1). */
void   tlsf_remove_region(tlsf *t, void *mem);
bool   tlsf_region_is_empty(const tlsf *t, const void *mem);

/* NULL when no free block fits. size 0 is treated as 1. O(1). */
void  *tlsf_malloc(tlsf *t, size_t size);
/* align: a power of two; any alignment is honoured. O(1). */
void  *tlsf_memalign(tlsf *t, size_t align, size_t size);
/* Coalesces with free neighbours immediately. Returns the region that now
 * holds the freed memory (for release decisions). O(1). */
struct tlsf_region *tlsf_free(tlsf *t, void *p);
/* Grows into a free next neighbour or shrinks by splitting, in place.
 * Returns false (and changes nothing) when the block cannot hold size. O(1). */
bool   tlsf_resize_in_place(tlsf *t, void *p, size_t size);
/* Payload bytes usable at p. O(1). */
size_t tlsf_usable_size(const void *p);
/* True when p is the payload of a used block. After tlsf_block_is_valid, an
 * exact double-free check: a freed block's header reads as free even once it
 * has merged into a neighbour (until that memory is handed out again, when
 * the header is user data and tlsf_block_is_valid rejects it). O(1). */
bool   tlsf_block_is_used(const void *p);
/* True when p, a pointer into [lo, hi), is the payload of a well-formed block
 * of the region spanning [lo, hi): aligned, with a size that stays inside the
 * region, a successor that points back at it and a predecessor (or none, for
 * the region's first block) that ends where it starts. Catches pointers that
 * were never returned by tlsf_malloc, short of a deliberately forged chain
 * of headers. O(1), reads nothing outside [lo, hi). */
bool   tlsf_block_is_valid(const void *p, const void *lo, const void *hi);
/* The size of the largest block in the highest non-empty list, 0 when none.
 * O(length of that list): not for real-time paths. */
size_t tlsf_largest_free(const tlsf *t);

/* Walks every region and list; returns 0 when all invariants hold, else a
 * negative number naming the first violated invariant (see tlsf.c). O(n). */
int    tlsf_check(const tlsf *t);

/* Checks the block at p and its links with its physical neighbours; call it
 * only on a block that tlsf_block_is_valid accepted. O(1). */
int    tlsf_check_block(const void *p);

/* Calls fn on every free block's payload (start, size): for purging. O(n). */
void   tlsf_walk_free(const tlsf *t, void (*fn)(void *start, size_t size, void *arg), void *arg);

#endif
