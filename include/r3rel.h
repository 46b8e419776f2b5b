/* r3rel: the reliable heap.
 *
 * Data kept here survives single-event upsets: every word is stored under an
 * error-correcting code, read through r3_rel_read (which corrects on the way
 * and writes the repair back) and written through r3_rel_write (which keeps
 * the redundancy). A scrubber walks the whole heap and repairs errors before
 * they accumulate; every error found is counted, kept in a report and passed
 * to a callback.
 *
 * Codes (one per heap, chosen at r3_rel_init; the default is the build macro
 * R3_ECC: 1 = TMR, 2 = SECDED):
 *   TMR     three copies in three separate mappings, bitwise majority vote.
 *           Survives any damage confined to one copy (a bit, a burst, a
 *           word, a whole page). Memory: 3x.
 *   SECDED  Hamming-style (72,64) single-error-correcting, double-error-
 *           detecting code (a Hsiao code), the check byte of every data word
 *           in a separate mapping. Corrects one flipped bit per 64-bit word,
 *           detects two. Memory: 1.125x.
 *
 * The heap's own metadata (block table, sizes, free lists, generation tags)
 * is kept in three copies in three more mappings, each word with its own
 * SECDED check byte, checked on every read and voted when copies disagree,
 * so a flip there neither crashes, misroutes a read, nor leaks.
 *
 * Every protected mapping is named with "r3rel" in /proc/PID/maps
 * ("/memfd:r3rel-data", "-check", "-tmr1", "-tmr2", "-meta0..2"), so that
 * an outside program (tools/r3-inject) can find it.
 *
 * Thread safety: every function may be called from any thread. Metadata
 * operations take one heap lock for a bounded time; data is locked per
 * 4 KiB chunk, so a writer, a reader and the scrubber never see a half-
 * written codeword (no false correction).
 *
 * Real time: with cfg.realtime (default R3_REALTIME) the whole capacity is
 * mapped and pre-faulted at init (and mlocked with cfg.lock_memory); after
 * that r3_rel_alloc, r3_rel_free, r3_rel_read and r3_rel_write make no system
 * call (except a futex wait under contention) and run in time bounded by a
 * constant (alloc, free) or linear in len (read, write); the scrubber then
 * runs only in bounded steps (r3_rel_scrub_step). See docs/reliability.md.
 */
#ifndef R3REL_H
#define R3REL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum r3_rel_code {
    R3_REL_TMR = 1,
    R3_REL_SECDED = 2,
} r3_rel_code;
#define R3_REL_CODES 3      /* size of arrays indexed by r3_rel_code */

/* An opaque reference to a block: a generation tag and a table index. Every
 * allocation gets a new generation, so a stale, freed or corrupted handle is
 * recognised and rejected. 0 is never a valid handle. */
typedef uint64_t r3_rel_handle;

typedef struct r3_rel_config {
    r3_rel_code code;           /* 0: the build default (R3_ECC) */
    size_t capacity;            /* bytes of user data, rounded up to 32 KiB; 0: 16 MiB */
    size_t max_blocks;          /* live blocks at most; 0: capacity / 4 KiB, at least 256 */
    unsigned scrub_interval_ms; /* period of a full background pass; 0: no background scrubber */
    bool realtime;              /* reserve and pre-fault everything at init */
    bool lock_memory;           /* with realtime: mlock the heap (needs RLIMIT_MEMLOCK) */
    bool audit_writes;          /* writes check the words they overwrite and report
                                   flips they erase (kind R3_REL_OVERWRITTEN) */
    unsigned event_log;         /* events kept for r3_rel_report; 0: 64 */
} r3_rel_config;

/* Fills cfg with the configuration r3_rel_init(NULL) uses. O(1). */
void r3_rel_default_config(r3_rel_config *cfg);

/* Sets the heap up. NULL means r3_rel_default_config. Returns 0, -EALREADY
 * when the heap is already set up, -EINVAL for an impossible configuration,
 * -ENOMEM when the mappings cannot be made. Not to be called concurrently
 * with other r3_rel_* calls. O(capacity) with realtime, else O(1). */
int r3_rel_init(const r3_rel_config *cfg);

/* Stops the scrubber and unmaps everything; every handle becomes invalid.
 * Returns 0, or -EINVAL when the heap is not set up. */
int r3_rel_shutdown(void);

/* Allocates a block of size bytes (contents unspecified until written).
 * Initialises the heap with defaults on first use. Returns 0 with errno =
 * ENOMEM when the capacity or the block table is exhausted (or size is
 * larger than the capacity), errno = EIO when the metadata is damaged beyond
 * repair. O(1). */
r3_rel_handle r3_rel_alloc(size_t size);

/* Frees a block. Returns 0, -EINVAL for a handle that is not live (never
 * allocated, already freed, stale, corrupted, or the heap not set up),
 * -EIO when the metadata is damaged beyond repair. O(1). */
int r3_rel_free(r3_rel_handle h);

/* Copies len bytes from src into the block at offset. Returns 0; -EINVAL for
 * a bad handle or a NULL src with len > 0; -ERANGE when [offset, offset+len)
 * is not inside the block (overflow included); -EIO when a partly written
 * edge word holds an uncorrectable error (nothing is written then).
 * O(len). */
int r3_rel_write(r3_rel_handle h, size_t offset, const void *src, size_t len);

/* Copies len bytes of the block at offset into dst, correcting errors and
 * writing the corrections back. Returns 0; -EINVAL / -ERANGE as for write;
 * -EIO when a word holds an uncorrectable error (dst is then unspecified:
 * wrong data is never returned as good). O(len). */
int r3_rel_read(r3_rel_handle h, size_t offset, void *dst, size_t len);

/* The size the block was allocated with, or 0 for a bad handle. O(1). */
size_t r3_rel_size(r3_rel_handle h);

/* One full scrub pass over all data in use and all metadata. Returns the
 * number of words repaired. O(heap). */
size_t r3_rel_scrub(void);

/* Checks budget words (at least 2): half of them metadata words, half data
 * words, each from where the previous step stopped (metadata, being small,
 * is so visited many times per data pass). Returns the words repaired.
 * O(budget); locks are held for at most 512 words at a time. */
size_t r3_rel_scrub_step(size_t budget);

/* Starts a background thread that scrubs the whole heap once per
 * interval_ms, in bounded steps; stops the previous one first. Returns 0,
 * -EINVAL (interval 0 or heap not set up), or a pthread error. */
int r3_rel_scrubber_start(unsigned interval_ms);
/* Stops and joins the background scrubber (no-op when none runs). */
void r3_rel_scrubber_stop(void);

typedef enum r3_rel_event_kind {
    R3_REL_CORRECTED = 1,       /* bits repaired */
    R3_REL_UNCORRECTABLE = 2,   /* detected, cannot be repaired (read gives -EIO) */
    R3_REL_OVERWRITTEN = 3,     /* audit_writes: a write erased damaged bits */
} r3_rel_event_kind;

typedef enum r3_rel_area {
    R3_REL_AREA_DATA = 1,       /* data words (TMR: copy 0) */
    R3_REL_AREA_CHECK = 2,      /* SECDED check bytes */
    R3_REL_AREA_COPY1 = 3,      /* TMR copy 1 */
    R3_REL_AREA_COPY2 = 4,      /* TMR copy 2 */
    R3_REL_AREA_META = 5,       /* a word of a metadata copy */
    R3_REL_AREA_META_CHECK = 6, /* the check byte of a metadata copy's word */
} r3_rel_area;

typedef struct r3_rel_event {
    uint64_t time_ns;           /* CLOCK_MONOTONIC */
    r3_rel_event_kind kind;
    r3_rel_area area;
    r3_rel_code code;           /* the code of the damaged word (metadata: TMR) */
    const void *address;        /* the damaged word (a byte for the CHECK areas) */
    uint64_t mask;              /* the bits repaired/erased in that word or byte */
    uint32_t syndrome;          /* SECDED syndrome, 0 otherwise */
    r3_rel_handle block;        /* the block read or written, 0 from the scrubber */
    size_t offset;              /* byte offset of the word in the data area */
} r3_rel_event;

/* Called for every event, in the thread that found it, with the heap lock
 * or a chunk lock held: it must not call r3_rel_* functions and should be
 * short. NULL removes the callback. Thread-safe; O(1). */
typedef void (*r3_rel_error_fn)(const r3_rel_event *event, void *arg);
void r3_rel_set_error_callback(r3_rel_error_fn fn, void *arg);

typedef struct r3_rel_code_stats {
    uint64_t corrected;         /* words repaired */
    uint64_t corrected_bits;
    uint64_t uncorrectable;     /* words found damaged beyond repair */
    uint64_t overwritten;       /* audit_writes: damaged words erased by writes */
} r3_rel_code_stats;

typedef struct r3_rel_stats {
    r3_rel_code_stats code[R3_REL_CODES];  /* data, indexed by r3_rel_code */
    r3_rel_code_stats meta;                /* metadata (3 copies + check bytes) */
    uint64_t scrub_passes;
    uint64_t scrub_words;
    uint64_t blocks_live;
    uint64_t bytes_live;
    size_t capacity;
    r3_rel_code active_code;
} r3_rel_stats;

/* Totals since the process started (they survive shutdown); the live
 * figures of the current heap (zero when none). NULL out is ignored.
 * Thread-safe; O(1). */
void r3_rel_get_stats(r3_rel_stats *out);

/* Writes the full error report: the heap, totals per code and for the
 * metadata, scrub totals, and the last events with address, block, syndrome
 * and time. Returns 0 or -EINVAL for a NULL stream. Thread-safe; O(events
 * kept). */
int r3_rel_report(FILE *out);

/* Work done by the calling thread's last r3_rel_* operation; all zero unless
 * the library is built with R3_WORK_COUNTERS=1. For the bounded-time proof
 * (docs/reliability.md states the bounds): alloc and free do constant work;
 * read and write add lock attempts and words_coded that grow with len only.
 * Thread-local; O(1). */
typedef struct r3_rel_work {
    uint32_t list_nodes;        /* free-list and neighbour descriptors visited */
    uint32_t bitmap_words;      /* segregated-list bitmap words scanned */
    uint32_t lock_attempts;     /* lock acquisitions */
    uint32_t meta_words;        /* metadata words voted or written */
    uint64_t words_coded;       /* data words encoded or decoded */
} r3_rel_work;
r3_rel_work r3_rel_last_work(void);

#ifdef __cplusplus
}
#endif
#endif
