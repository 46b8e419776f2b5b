/* A heap under the bounded-work test (test_rt_work.c).
 *
 * The driver knows nothing of a particular heap: a subject gives it a heap
 * over caller memory, the operations it supports (NULL when it has none),
 * the work counters of the last operation, and the bound of every counter
 * for every operation as the formula constant + per_word * words, where
 * words is the operation's length in 64-bit words (0 for all r3_rt bounds;
 * the reliable heap's "words coded" grows with the length it reads or
 * writes). Adding a heap means adding one file that fills this struct and
 * listing it in subjects[] of test_rt_work.c.
 */
#ifndef WORK_SUBJECT_H
#define WORK_SUBJECT_H
#include <stddef.h>
#include <stdint.h>

enum work_op { OP_ALLOC, OP_FREE, OP_REALLOC, OP_ALIGNED, OP_READ, OP_WRITE, OP_COUNT };
enum work_field { W_LIST_NODES, W_BITMAP_WORDS, W_LOCK_ATTEMPTS, W_TLSF_CALLS, W_WORDS_CODED, W_FIELDS };

struct work_bound { uint32_t constant, per_word; };

/* Blocks are named by a nonzero 64-bit handle (a pointer or a handle). */
struct work_subject {
    const char *name;
    void *(*create)(void *mem, size_t size);
    void (*destroy)(void *heap);
    uint64_t (*alloc)(void *heap, size_t size);
    int (*free)(void *heap, uint64_t block);
    uint64_t (*realloc)(void *heap, uint64_t block, size_t size);
    uint64_t (*aligned)(void *heap, size_t align, size_t size);
    int (*read)(void *heap, uint64_t block, size_t offset, size_t len, void *buf);
    int (*write)(void *heap, uint64_t block, size_t offset, size_t len, const void *buf);
    void (*last_work)(uint32_t out[W_FIELDS]);
    int (*check)(void *heap);
    struct work_bound bound[OP_COUNT][W_FIELDS];
    /* Builds, in a fresh heap, the state in which each operation does its
     * worst, runs it, and returns its work: shows the bounds are reached. */
    void (*worst_case)(void *heap, enum work_op op, uint32_t out[W_FIELDS]);
};

extern const struct work_subject work_subject_rt;
extern const struct work_subject work_subject_rt_nonblocking;

#endif
