/* r3-inject: an external fault injector for the reliable heap (r3rel.h).
 *
 * It finds the target's protected mappings (names containing "r3rel" in
 * /proc/PID/maps: "meta" in the name marks metadata, the rest is data), and
 * at a given rate, for a given time, stops the process (SIGSTOP, waiting
 * until every thread is stopped), flips bits through /proc/PID/mem, and
 * resumes it (SIGCONT). No ptrace: writing /proc/PID/mem needs only the
 * same user (or root) and a ptrace-compatible Yama setting.
 *
 * Every flipped bit is logged, one line each:
 *     flip <time_ns> <address> <bit 0-7 of the byte> <mapping name> <event id>
 * after a header of "map <start> <end> <name> <data|meta>" lines; times are
 * CLOCK_MONOTONIC, the clock the heap stamps its events with, so that a
 * campaign can match flips to repairs (tools/campaign).
 *
 * Usage: r3-inject -p PID [-r flips_per_s] [-d seconds] [-n max_flips]
 *                  [-m single|double|burst] [-b burst_bits] [-t data|meta|all]
 *                  [-s seed] [-o log] [-a address -B bit]
 *   single  one bit per event; double: two bits of one 64-bit word;
 *   burst   burst_bits (default 8) consecutive bits;
 *   all     each event picks data or metadata with equal chance;
 *   -a/-B   flips that one bit once (chosen, not random) and exits.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_MAPS 32
#define TICK_NS 50000000ull     /* at most 20 stops a second: stopping costs */

typedef struct mapping {
    uint64_t start, end;
    char name[64];
    bool meta;
} mapping;

typedef struct options {
    pid_t pid;
    double rate, seconds;
    uint64_t max_flips;
    enum { SINGLE, DOUBLE, BURST } mode;
    unsigned burst_bits;
    enum { TARGET_DATA, TARGET_META, TARGET_ALL } target;
    uint64_t seed;
    const char *log;
    uint64_t chosen_address;
    int chosen_bit;
} options;

static mapping maps[MAX_MAPS];
static unsigned map_count;
static int mem_fd = -1;
static FILE *log_file;
static uint64_t rng_state;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t random_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void usage(void)
{
    fprintf(stderr, "usage: r3-inject -p PID [-r flips_per_s] [-d seconds] [-n max_flips]\n"
                    "                 [-m single|double|burst] [-b burst_bits] [-t data|meta|all]\n"
                    "                 [-s seed] [-o log] [-a address -B bit]\n");
    exit(2);
}

static options parse(int argc, char **argv)
{
    options o = {.rate = 1000, .seconds = 10, .mode = SINGLE, .burst_bits = 8, .target = TARGET_ALL,
                 .seed = 0x2545f4914f6cdd1dull, .chosen_bit = -1};
    int c;
    while ((c = getopt(argc, argv, "p:r:d:n:m:b:t:s:o:a:B:")) != -1) {
        switch (c) {
        case 'p': o.pid = (pid_t)atoi(optarg); break;
        case 'r': o.rate = atof(optarg); break;
        case 'd': o.seconds = atof(optarg); break;
        case 'n': o.max_flips = strtoull(optarg, NULL, 0); break;
        case 'm':
            o.mode = !strcmp(optarg, "double") ? DOUBLE : !strcmp(optarg, "burst") ? BURST : SINGLE;
            if (strcmp(optarg, "single") && o.mode == SINGLE)
                usage();
            break;
        case 'b': o.burst_bits = (unsigned)atoi(optarg); break;
        case 't':
            o.target = !strcmp(optarg, "data") ? TARGET_DATA : !strcmp(optarg, "meta") ? TARGET_META : TARGET_ALL;
            if (strcmp(optarg, "all") && o.target == TARGET_ALL)
                usage();
            break;
        case 's': o.seed = strtoull(optarg, NULL, 0) | 1; break;
        case 'o': o.log = optarg; break;
        case 'a': o.chosen_address = strtoull(optarg, NULL, 0); break;
        case 'B': o.chosen_bit = atoi(optarg); break;
        default: usage();
        }
    }
    if (o.pid <= 0 || o.rate <= 0 || o.burst_bits < 1 || o.burst_bits > 64)
        usage();
    return o;
}

static int find_mappings(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    map_count = 0;
    while (fgets(line, sizeof line, f) && map_count < MAX_MAPS) {
        char *name = strstr(line, "r3rel");
        uint64_t lo, hi;
        if (!name || sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) != 2)
            continue;
        mapping *m = &maps[map_count++];
        m->start = lo;
        m->end = hi;
        size_t n = strcspn(name, " \n]");
        snprintf(m->name, sizeof m->name, "%.*s", (int)n, name);
        m->meta = strstr(m->name, "meta") != NULL;
    }
    fclose(f);
    return 0;
}

/* True when every thread of pid is stopped (or gone). */
static bool all_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return true;
    bool stopped = true;
    struct dirent *e;
    while (stopped && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char stat_path[340], buf[512];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
        int fd = open(stat_path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        stopped = p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't' || p[2] == 'Z' || p[2] == 'X');
    }
    closedir(d);
    return stopped;
}

static bool stop_target(pid_t pid)
{
    if (kill(pid, SIGSTOP))
        return false;
    /* Sleep, not spin: on a small machine the target's threads need the
     * CPU to take the signal. A target that is not stopped after 5 s (a
     * thread in uninterruptible sleep) is resumed; the caller retries. */
    struct timespec pause = {0, 20000};
    uint64_t give_up = now_ns() + 5000000000ull;
    while (!all_stopped(pid)) {
        if (now_ns() > give_up) {
            kill(pid, SIGCONT);
            return false;
        }
        nanosleep(&pause, NULL);
    }
    return true;
}

static bool flip_bit(uint64_t address, unsigned bit, const mapping *m, uint64_t id)
{
    unsigned char byte;
    if (pread(mem_fd, &byte, 1, (off_t)address) != 1)
        return false;
    byte ^= (unsigned char)(1u << bit);
    if (pwrite(mem_fd, &byte, 1, (off_t)address) != 1)
        return false;
    fprintf(log_file, "flip %" PRIu64 " 0x%" PRIx64 " %u %s %" PRIu64 "\n", now_ns(), address, bit,
            m ? m->name : "-", id);
    return true;
}

static const mapping *pick_mapping(int target)
{
    bool want_meta = target == TARGET_META || (target == TARGET_ALL && (random_u64() & 1));
    uint64_t total = 0;
    for (unsigned i = 0; i < map_count; i++)
        if (maps[i].meta == want_meta)
            total += maps[i].end - maps[i].start;
    if (!total)
        return target == TARGET_ALL ? pick_mapping(want_meta ? TARGET_DATA : TARGET_META) : NULL;
    uint64_t at = random_u64() % total;
    for (unsigned i = 0; i < map_count; i++)
        if (maps[i].meta == want_meta) {
            uint64_t size = maps[i].end - maps[i].start;
            if (at < size)
                return &maps[i];
            at -= size;
        }
    return NULL;
}

/* One event: a bit, two bits of a word, or a burst, inside one mapping. */
static unsigned inject_event(const options *o, uint64_t id)
{
    const mapping *m = pick_mapping(o->target);
    if (!m)
        return 0;
    uint64_t size = m->end - m->start;
    unsigned flipped = 0;
    if (o->mode == DOUBLE) {
        uint64_t word = m->start + (random_u64() % (size / 8)) * 8;
        unsigned a = (unsigned)(random_u64() % 64), b;
        do
            b = (unsigned)(random_u64() % 64);
        while (b == a);
        flipped += flip_bit(word + a / 8, a % 8, m, id);
        flipped += flip_bit(word + b / 8, b % 8, m, id);
    } else {
        unsigned bits = o->mode == BURST ? o->burst_bits : 1;
        uint64_t first = random_u64() % (size * 8 - bits + 1);
        for (unsigned i = 0; i < bits; i++)
            flipped += flip_bit(m->start + (first + i) / 8, (unsigned)((first + i) % 8), m, id);
    }
    return flipped;
}

int main(int argc, char **argv)
{
    options o = parse(argc, argv);
    rng_state = o.seed;
    log_file = o.log ? fopen(o.log, "w") : stdout;
    if (!log_file) {
        perror("r3-inject: log");
        return 1;
    }
    int err = find_mappings(o.pid);
    if (err || !map_count) {
        fprintf(stderr, "r3-inject: no r3rel mappings in process %d\n", (int)o.pid);
        return 1;
    }
    for (unsigned i = 0; i < map_count; i++)
        fprintf(log_file, "map 0x%" PRIx64 " 0x%" PRIx64 " %s %s\n", maps[i].start, maps[i].end, maps[i].name,
                maps[i].meta ? "meta" : "data");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)o.pid);
    mem_fd = open(path, O_RDWR);
    if (mem_fd < 0) {
        perror("r3-inject: /proc/PID/mem");
        return 1;
    }
    if (o.chosen_bit >= 0) {
        const mapping *m = NULL;
        for (unsigned i = 0; i < map_count; i++)
            if (o.chosen_address >= maps[i].start && o.chosen_address < maps[i].end)
                m = &maps[i];
        bool ok = m && o.chosen_bit < 8 && stop_target(o.pid) && flip_bit(o.chosen_address, (unsigned)o.chosen_bit, m, 0);
        kill(o.pid, SIGCONT);
        fprintf(stderr, "r3-inject: %s\n", ok ? "flipped 1 bit" : "address not in an r3rel mapping, or bit > 7");
        return ok ? 0 : 1;
    }
    uint64_t start = now_ns(), events = 0, flips = 0, stops = 0, stop_timeouts = 0, stopped_ns = 0;
    uint64_t end = start + (uint64_t)(o.seconds * 1e9);
    bool alive = true;
    for (uint64_t tick = start; alive && tick < end && (!o.max_flips || flips < o.max_flips); tick += TICK_NS) {
        uint64_t now = now_ns();
        if (now < tick) {
            struct timespec pause = {0, (long)(tick - now)};
            nanosleep(&pause, NULL);
        }
        /* Events due by now at the requested rate. */
        uint64_t due = (uint64_t)((double)(now_ns() - start) * o.rate / 1e9);
        if (due <= events)
            continue;
        uint64_t t0 = now_ns();
        if (!stop_target(o.pid)) {
            stop_timeouts++;
            alive = kill(o.pid, 0) == 0;
            continue;
        }
        stops++;
        for (; events < due && (!o.max_flips || flips < o.max_flips); events++)
            flips += inject_event(&o, events);
        fflush(log_file);
        kill(o.pid, SIGCONT);
        stopped_ns += now_ns() - t0;
        alive = kill(o.pid, 0) == 0;
    }
    double secs = (double)(now_ns() - start) / 1e9;
    fprintf(stderr,
            "r3-inject: %" PRIu64 " events, %" PRIu64 " bits flipped in %.1f s (%.0f/s), %" PRIu64
            " stops (%" PRIu64 " timed out), target stopped %.2f%% of the time%s\n",
            events, flips, secs, (double)flips / secs, stops, stop_timeouts,
            100.0 * (double)stopped_ns / 1e9 / secs, alive ? "" : "; target gone");
    fclose(log_file);
    return 0;
}
