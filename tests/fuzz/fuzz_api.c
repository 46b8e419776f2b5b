/* libFuzzer harness for the r3_* API against a shadow model.
 *
 * The input is a sequence of 4-byte operations over 64 slots:
 *   byte 0  bits 0-2 operation, bits 3-4 size range, bits 5-7 extra (low)
 *   byte 1  bits 0-5 slot, bits 6-7 extra (high)
 *   byte 2-3  size parameter (little endian)
 * The size ranges span the layers: tiny (0-256 B), small (up to twice
 * R3_SMALL_MAX), medium (from just under R3_SMALL_MAX to just over
 * R3_MEDIUM_MAX), and the last range the bands of +-256 B around both
 * limits or (a quarter of it) huge sizes up to about 8 MiB.
 *
 * The model keeps each live block's size and fill byte. A block must hold
 * exactly its fill byte whenever it is resized, freed or its usable size
 * taken, and after every operation the block it touched must be aligned as
 * asked with a usable size at least its size; realloc must keep the common
 * prefix, calloc must return zeroes. Every 32 operations,
 * and after the input (when every block is verified and freed),
 * r3_heap_check() must pass. Any violation aborts, which libFuzzer reports
 * with the input that caused it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r3malloc.h"

#define SLOTS 64
#define HEAP_CHECK_PERIOD 32

#define FUZZ_CHECK(cond)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "fuzz_api.c:%d: model violated: %s\n", __LINE__,      \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

struct slot {
  unsigned char *p;
  size_t size;
  unsigned char fill;
};

enum operation {
  OP_MALLOC,
  OP_CALLOC,
  OP_REALLOC,
  OP_FREE,
  OP_POSIX_MEMALIGN,
  OP_ALIGNED_ALLOC,
  OP_REALLOCARRAY,
  OP_USABLE_SIZE,
};

struct op {
  enum operation kind;
  unsigned slot;
  unsigned extra; /* 0..31: alignment, calloc factor, collect trigger */
  size_t size;
};

static struct slot slots[SLOTS];
static unsigned char next_fill = 1;

static size_t decode_size(unsigned range, unsigned v)
{
  switch (range) {
  case 0:
    return v % 257;
  case 1:
    return v % (2 * R3_SMALL_MAX);
  case 2:
    /* Skewed to the low end (v * v / 65536): large blocks are slow to
     * fill and check, and the end of the range is still reached. */
    return R3_SMALL_MAX - 64 + ((size_t)v * v >> 16) * 17;
  default:
    /* Mostly the bands around the two layer limits; a quarter huge. */
    if (v < 0xC000)
      return (v & 1 ? R3_MEDIUM_MAX : R3_SMALL_MAX) - 256 + (v >> 1) % 512;
    v = (v - 0xC000) * 4;
    return R3_MEDIUM_MAX + ((size_t)v * v >> 16) * 112;
  }
}

static struct op decode(const uint8_t *b)
{
  struct op op;
  op.kind = (enum operation)(b[0] & 7);
  op.extra = (unsigned)(b[0] >> 5) | (unsigned)(b[1] >> 6) << 3;
  op.slot = b[1] & (SLOTS - 1);
  op.size = decode_size((b[0] >> 3) & 3, (unsigned)b[2] | (unsigned)b[3] << 8);
  return op;
}

/* The block holds nothing but byte c in [from, to). Compares in chunks
 * with memcmp, which is fast under ASan, and only looks for the exact
 * offset once a chunk differs. */
static void check_bytes(const unsigned char *p, size_t from, size_t to,
                        unsigned char c)
{
  static unsigned char expected[65536];
  memset(expected, c, sizeof expected);
  for (size_t at = from; at < to; at += sizeof expected) {
    size_t n = to - at < sizeof expected ? to - at : sizeof expected;
    if (memcmp(p + at, expected, n) == 0)
      continue;
    for (size_t i = at; i < at + n; i++)
      if (p[i] != c) {
        fprintf(stderr, "block %p: byte %zu is 0x%02x, expected 0x%02x\n",
                (const void *)p, i, p[i], c);
        abort();
      }
  }
}

/* Alignment and usable size of a live block. */
static void check_shape(const struct slot *s, size_t align)
{
  if (!s->p)
    return;
  FUZZ_CHECK(((uintptr_t)s->p & (align - 1)) == 0);
  FUZZ_CHECK(r3_usable_size(s->p) >= s->size);
}

static void check_slot(const struct slot *s, size_t align)
{
  check_shape(s, align);
  if (s->p)
    check_bytes(s->p, 0, s->size, s->fill);
}

/* Gives the block a fresh fill byte, so stale contents show. */
static void refill(struct slot *s, unsigned char *p, size_t size)
{
  s->p = p;
  s->size = size;
  s->fill = next_fill;
  next_fill = (unsigned char)(next_fill % 255 + 1);
  memset(p, s->fill, size);
}

static void release(struct slot *s)
{
  check_slot(s, 16);
  r3_free(s->p);
  s->p = NULL;
  s->size = 0;
}

static size_t alignment_of(unsigned extra)
{
  return (size_t)8 << (extra % 19); /* 8 B .. 2 MiB */
}

/* realloc and reallocarray: the common prefix survives. */
static void resize(struct slot *s, unsigned char *q, size_t size)
{
  if (size == 0 && q == NULL) {
    s->p = NULL;
    s->size = 0;
    return;
  }
  FUZZ_CHECK(q != NULL);
  size_t kept = size < s->size ? size : s->size;
  check_bytes(q, 0, kept, s->fill);
  memset(q + kept, s->fill, size - kept);
  s->p = q;
  s->size = size;
}

static void apply(const struct op *op)
{
  struct slot *s = &slots[op->slot];
  size_t align = 16;
  switch (op->kind) {
  case OP_MALLOC:
    release(s);
    refill(s, r3_malloc(op->size), op->size);
    FUZZ_CHECK(s->p != NULL);
    break;
  case OP_CALLOC: {
    release(s);
    size_t n = 1 + op->extra % 4, each = op->size / n;
    unsigned char *p = r3_calloc(n, each);
    FUZZ_CHECK(p != NULL);
    check_bytes(p, 0, n * each, 0);
    refill(s, p, n * each);
    break;
  }
  case OP_REALLOC:
    check_slot(s, 16);
    resize(s, r3_realloc(s->p, op->size), op->size);
    break;
  case OP_REALLOCARRAY: {
    check_slot(s, 16);
    size_t n = 1 + op->extra % 4, each = op->size / n;
    resize(s, r3_reallocarray(s->p, n, each), n * each);
    break;
  }
  case OP_FREE:
    release(s);
    break;
  case OP_POSIX_MEMALIGN: {
    release(s);
    void *p = NULL;
    align = alignment_of(op->extra);
    FUZZ_CHECK(r3_posix_memalign(&p, align, op->size) == 0);
    refill(s, p, op->size);
    break;
  }
  case OP_ALIGNED_ALLOC:
    release(s);
    align = alignment_of(op->extra);
    refill(s, r3_aligned_alloc(align, op->size), op->size);
    FUZZ_CHECK(s->p != NULL);
    break;
  case OP_USABLE_SIZE:
    /* The usable size is the block's to use: extend the model to it. */
    if (s->p) {
      check_slot(s, 16);
      size_t usable = r3_usable_size(s->p);
      memset(s->p + s->size, s->fill, usable - s->size);
      s->size = usable;
    }
    if (op->extra == 31)
      r3_collect();
    break;
  }
  /* The contents were just written or checked; they are checked again
   * when the block is next resized or freed. */
  check_shape(s, align < 16 ? 16 : align);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  for (size_t i = 0; i + 4 <= size; i += 4) {
    struct op op = decode(data + i);
    apply(&op);
    if ((i / 4) % HEAP_CHECK_PERIOD == HEAP_CHECK_PERIOD - 1)
      FUZZ_CHECK(r3_heap_check() == 0);
  }
  for (unsigned k = 0; k < SLOTS; k++)
    release(&slots[k]);
  FUZZ_CHECK(r3_heap_check() == 0);
  return 0;
}
