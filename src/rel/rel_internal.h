/* Internal state of the reliable heap (r3rel.h), shared by its files:
 *   rel_heap.c   init/shutdown, the mappings, alloc/free/read/write entry points
 *   rel_metaword.c metadata words: three copies, each with a check byte
 *   rel_meta.c   the block table and the free lists
 *   rel_data.c   data words under TMR or SECDED: read, write, scrub
 *   rel_scrub.c  scrub steps, full passes, the background scrubber
 *   rel_events.c statistics, the event log, the callback, the report
 *
 * What is protected: everything in the mappings named r3rel (the data, the
 * SECDED check bytes or TMR copies, and three copies of the metadata). The
 * struct below lives in ordinary memory and holds only what never changes
 * between init and shutdown (mapping addresses, sizes, the configuration)
 * plus locks and cursors.
 */
#ifndef R3_REL_INTERNAL_H
#define R3_REL_INTERNAL_H
#include "r3rel.h"
#include "core/config.h"
#include "core/lock.h"
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef R3_ECC
#define R3_ECC R3_REL_SECDED
#endif

#define REL_CHUNK_WORDS   ((size_t)512)        /* data lock granule: 4 KiB */
#define REL_CHUNK_LOCKS   64u
#define REL_NIL           0xffffffffu          /* no descriptor */

/* Metadata word layout (each of the three copies is identical). */
enum {
    META_MAGIC = 0,       /* REL_META_MAGIC: a quick sanity anchor */
    META_WORDS,           /* capacity in data words */
    META_NDESC,           /* descriptors in the table */
    META_FL_BITMAP,       /* one bit per first level with a non-empty list */
    META_DESC_HIGH,       /* descriptors [0, high) have been used */
    META_UNUSED_HEAD,     /* stack of recycled descriptors (via next_free) */
    META_GENERATION,      /* last generation handed out */
    META_LIVE_BLOCKS,
    META_LIVE_BYTES,
    META_SL_BITMAP = 16,  /* REL_FL_COUNT words */
};
#define REL_META_MAGIC   0x72336d6574610001ull
#define REL_SL_LOG2      4
#define REL_SL_COUNT     (1u << REL_SL_LOG2)
#define REL_FL_COUNT     38u                   /* block sizes up to 2^41 words */
#define META_HEADS       (META_SL_BITMAP + REL_FL_COUNT)
#define META_DESC        (META_HEADS + REL_FL_COUNT * REL_SL_COUNT)
#define DESC_WORDS       4u

/* A descriptor, 4 words:
 *   word 0: start word (bits 0-39) | state (40-41) | slack bytes (42-45)
 *   word 1: size in words (bits 0-39) | generation (40-63)
 *   word 2: previous physical (bits 0-31) | next physical (32-63)
 *   word 3: previous free (bits 0-31) | next free (32-63)
 * A used block holds size * 8 - slack bytes of user data. */
enum { DESC_UNUSED = 0, DESC_FREE = 1, DESC_USED = 2 };
#define REL_FIELD40      ((1ull << 40) - 1)
#define REL_GEN_BITS     24u
#define REL_GEN_MASK     ((1ull << REL_GEN_BITS) - 1)
#define REL_MAX_BLOCKS   ((size_t)1 << 30)

struct rel_heap {
    bool ready;
    r3_rel_config cfg;
    r3_rel_code code;
    size_t words;               /* data capacity in 64-bit words */
    size_t ndesc;
    size_t meta_words;          /* per copy; its check bytes follow the words */
    uint64_t *data;             /* data words (TMR copy 0) */
    uint64_t *copy[2];          /* TMR copies 1 and 2 */
    uint8_t *check;             /* SECDED check bytes */
    uint64_t *meta[3];
    size_t map_bytes[6];        /* sizes of data, check|copy1, copy2, meta0..2 */
    r3_lock_t lock;             /* the metadata and the scrub cursor */
    uint64_t meta_seq;          /* seqlock of the block table (rel_meta.c) */
    r3_lock_t chunk_lock[REL_CHUNK_LOCKS];
    size_t scrub_meta_cursor;   /* in [0, meta_words) */
    size_t scrub_data_cursor;   /* in [0, words) */
    const struct rel_codec *codec;   /* bulk codec for this CPU (codec.h) */
};
extern struct rel_heap rel;

/* Work counters of the calling thread's current operation. */
extern __thread r3_rel_work rel_work;
#if R3_WORK_COUNTERS
#define REL_WORK(field, n) (rel_work.field += (n))
#define REL_WORK_RESET()   (rel_work = (r3_rel_work){0, 0, 0, 0, 0})
#else
#define REL_WORK(field, n) ((void)0)
#define REL_WORK_RESET()   ((void)0)
#endif

static inline void rel_lock(r3_lock_t *l)
{
    REL_WORK(lock_attempts, 1);
    r3_lock(l);
}
static inline r3_lock_t *rel_chunk_lock(size_t word)
{
    return &rel.chunk_lock[(word / REL_CHUNK_WORDS) % REL_CHUNK_LOCKS];
}

/* --- rel_metaword.c (heap lock held) --- */
uint64_t rel_meta_get(size_t i);
void     rel_meta_set(size_t i, uint64_t v);
/* Checks all three copies of words [from, from+n); returns words repaired. */
size_t   rel_meta_scrub(size_t from, size_t n);
/* Lock-free read: word i when copies 0 and 1 agree and copy 0's check byte
 * matches (acquire loads), else false. */
bool     rel_meta_peek(size_t i, uint64_t *v);

/* --- rel_meta.c (heap lock held) --- */
void     rel_meta_format(uint64_t generation);
int      rel_block_alloc(size_t bytes, r3_rel_handle *out);
int      rel_block_free(r3_rel_handle h);
/* Finds a live block: 0 and its first data word and byte size, -EINVAL for
 * a handle that is not live, -EIO for metadata damaged beyond repair. */
int      rel_block_lookup(r3_rel_handle h, size_t *start_word, size_t *bytes);
/* The same without the heap lock (no lock held): -EAGAIN when it cannot
 * decide (a change in progress, or copies 0 and 1 disagree). */
int      rel_block_lookup_fast(r3_rel_handle h, size_t *start_word, size_t *bytes);
/* Brackets every change of the block table (heap lock held). */
void     rel_meta_begin_change(void);
void     rel_meta_end_change(void);

/* --- rel_data.c (takes the chunk locks itself) --- */
int      rel_data_read(r3_rel_handle h, size_t byte, void *dst, size_t len);
int      rel_data_write(r3_rel_handle h, size_t byte, const void *src, size_t len);
/* Checks all copies of data words [from, from+n) (within one chunk). */
size_t   rel_data_scrub(size_t from, size_t n);

/* --- rel_events.c --- */
void     rel_event(r3_rel_event_kind kind, r3_rel_area area, r3_rel_code code,
                   const void *address, uint64_t mask, uint32_t syndrome,
                   r3_rel_handle block, size_t offset);
/* Uncorrectable data words already reported: reported once until rewritten. */
bool     rel_poison_add(size_t word);      /* true when newly added */
bool     rel_poison_has(size_t word);
void     rel_poison_clear(size_t from, size_t n);
bool     rel_poison_any(void);
void     rel_events_setup(unsigned capacity);
void     rel_count_scrub(uint64_t passes, uint64_t words);

#endif
