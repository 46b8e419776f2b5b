/* The OS layer: every system call the allocators make goes through here.
 * Failures return NULL / false with errno set; nothing here allocates. */
#ifndef R3_OS_H
#define R3_OS_H
#include "config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define R3_OS_PAGE ((size_t)4096)

/* Maps size bytes of zeroed read-write memory aligned to align (a power of
 * two >= 4 KiB); address space beyond what is touched costs nothing. */
void  *r3_os_map(size_t size, size_t align);
void   r3_os_unmap(void *p, size_t size);
/* Gives the physical pages back; the range stays mapped and reads as zero. */
void   r3_os_purge(void *p, size_t size);
/* Lets another thread run: for a short wait on one that holds the CPU. */
void   r3_os_yield(void);
/* Moves a mapping to grow or shrink it, keeping its start aligned to align.
 * Returns the new address or NULL (the old mapping is then intact); errno
 * EFAULT means the range is made of mappings the kernel does not resize as
 * one (pages moved together from several places): the caller copies. */
void  *r3_os_remap(void *p, size_t old_size, size_t new_size, size_t align);
/* The same, always to a new place: the pages move (page table entries, no
 * copy and no fault), the part past old_size is fresh. */
void  *r3_os_move(void *p, size_t old_size, size_t new_size, size_t align);
/* Moves size bytes of mapping from p over the mapped range at dest. */
bool   r3_os_move_to(void *p, size_t size, void *dest);
/* Names an anonymous mapping in /proc/PID/maps ("[anon:name]"); false when
 * the kernel does not support it (before Linux 5.17). */
bool   r3_os_name(void *p, size_t size, const char *name);
/* Touches every page now, so later accesses take no page fault. */
void   r3_os_prefault(void *p, size_t size);
bool   r3_os_mlock(void *p, size_t size);
/* Binds a range to a NUMA node (mbind MPOL_BIND). */
bool   r3_os_bind_node(void *p, size_t size, int node);

uint64_t r3_os_now_ms(void);
uint64_t r3_os_now_ns(void);
/* The CPUs online (sysconf: reads /sys, for the pool topology). */
int    r3_os_cpu_count(void);
/* The CPUs this process may run on (one system call, no file read: the
 * arena cap is set at start-up, where each page of libc code touched counts
 * in every program's RSS). */
int    r3_os_usable_cpus(void);

/* Writes to stderr without stdio or allocation. */
void   r3_os_print(const char *s);
/* "r3malloc: <what> <ptr>" on stderr, then abort(). */
_Noreturn void r3_fatal(const char *what, const void *ptr);

#endif
