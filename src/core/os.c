#define _GNU_SOURCE
#include "os.h"
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#define R3_MPOL_BIND 2

void *r3_os_map(size_t size, size_t align)
{
    if (align < R3_OS_PAGE)
        align = R3_OS_PAGE;
    size_t length = size + align - R3_OS_PAGE;
    if (length < size) {
        errno = ENOMEM;
        return NULL;
    }
    char *raw = mmap(NULL, length, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    /* Over-map, then trim both ends to get the alignment. */
    char *start = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (start > raw)
        munmap(raw, (size_t)(start - raw));
    size_t tail = (size_t)(raw + length - (start + size));
    if (tail)
        munmap(start + size, tail);
    return start;
}

void r3_os_unmap(void *p, size_t size)
{
    if (p && size)
        munmap(p, size);
}

void r3_os_purge(void *p, size_t size)
{
    if (size)
        madvise(p, size, MADV_DONTNEED);
}

void *r3_os_remap(void *p, size_t old_size, size_t new_size, size_t align)
{
    /* In place first: the cheapest outcome, and it keeps the alignment. */
    void *q = mremap(p, old_size, new_size, 0);
    if (q != MAP_FAILED)
        return q;
    return r3_os_move(p, old_size, new_size, align);
}

void *r3_os_move(void *p, size_t old_size, size_t new_size, size_t align)
{
    /* Reserve an aligned destination, then move the pages there. */
    char *dest = r3_os_map(new_size, align);
    if (!dest)
        return NULL;
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
    if (q == MAP_FAILED) {
        int error = errno == EFAULT ? EFAULT : ENOMEM;
        r3_os_unmap(dest, new_size);
        errno = error;
        return NULL;
    }
    return q;
}

bool r3_os_move_to(void *p, size_t size, void *dest)
{
    return mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dest) != MAP_FAILED;
}

bool r3_os_name(void *p, size_t size, const char *name)
{
    return prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, size, (unsigned long)name) == 0;
}

void r3_os_prefault(void *p, size_t size)
{
    if (madvise(p, size, 23 /* MADV_POPULATE_WRITE, Linux 5.14 */) == 0)
        return;
    volatile char *c = p;
    for (size_t i = 0; i < size; i += R3_OS_PAGE)
        c[i] = c[i];
}

bool r3_os_mlock(void *p, size_t size) { return mlock(p, size) == 0; }

bool r3_os_bind_node(void *p, size_t size, int node)
{
    if (node < 0 || node >= 64) {
        errno = EINVAL;
        return false;
    }
    unsigned long mask = 1ul << node;
    return syscall(SYS_mbind, p, size, R3_MPOL_BIND, &mask, 64ul, 0u) == 0;
}

void r3_os_yield(void) { sched_yield(); }

uint64_t r3_os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t r3_os_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int r3_os_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int r3_os_usable_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (syscall(SYS_sched_getaffinity, 0, sizeof set, &set) <= 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

void r3_os_print(const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = write(2, s, len);
        if (n <= 0)
            break;
        s += n;
        len -= (size_t)n;
    }
}

_Noreturn void r3_fatal(const char *what, const void *ptr)
{
    char line[160], hex[19];
    uintptr_t v = (uintptr_t)ptr;
    hex[0] = '0';
    hex[1] = 'x';
    for (int i = 0; i < 16; i++)
        hex[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
    hex[18] = 0;
    size_t n = 0;
    const char *parts[] = {"r3malloc: ", what, " ", hex, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        for (const char *c = parts[i]; *c && n < sizeof line - 1; c++)
            line[n++] = *c;
    line[n] = 0;
    r3_os_print(line);
    abort();
}
