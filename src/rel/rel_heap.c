/* The reliable heap's life cycle (init, shutdown), its mappings, and the
 * public entry points. See r3rel.h for the contract and rel_internal.h for
 * how the files divide the work. */
#define _GNU_SOURCE
#include "rel_internal.h"
#include "codec.h"
#include "secded.h"
#include "core/os.h"
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_CAPACITY ((size_t)16 << 20)

struct rel_heap rel = {.lock = R3_LOCK_INIT};
__thread r3_rel_work rel_work;
static r3_lock_t init_lock = R3_LOCK_INIT;
/* Generations continue across shutdown and init, so that handles of an
 * earlier heap stay invalid. */
static uint64_t last_generation;

static const char *const area_names[6] = {"r3rel-data", NULL, "r3rel-tmr2", "r3rel-meta0", "r3rel-meta1",
                                          "r3rel-meta2"};

void r3_rel_default_config(r3_rel_config *cfg)
{
    *cfg = (r3_rel_config){
        .code = R3_ECC,
        .capacity = DEFAULT_CAPACITY,
        .max_blocks = 0,
        .scrub_interval_ms = R3_REALTIME ? 0 : 1000,
        .realtime = R3_REALTIME,
        .lock_memory = false,
        .audit_writes = false,
        .event_log = 64,
    };
}

static size_t page_round(size_t n) { return (n + R3_OS_PAGE - 1) & ~(R3_OS_PAGE - 1); }

/* A mapping named so that /proc/PID/maps shows "r3rel": an anonymous one
 * named with PR_SET_VMA_ANON_NAME where the kernel supports it, else a
 * memfd ("/memfd:r3rel-..."), shared, so that pages are not duplicated. */
static void *area_map(const char *name, size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED && r3_os_name(p, bytes, name))
        return p;
    if (p != MAP_FAILED)
        munmap(p, bytes);
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    p = ftruncate(fd, (off_t)bytes) ? MAP_FAILED : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static void areas_unmap(void)
{
    void *areas[6] = {rel.data, rel.code == R3_REL_TMR ? (void *)rel.copy[0] : (void *)rel.check,
                      rel.copy[1], rel.meta[0], rel.meta[1], rel.meta[2]};
    for (unsigned i = 0; i < 6; i++)
        if (areas[i])
            munmap(areas[i], rel.map_bytes[i]);
    rel.data = rel.copy[0] = rel.copy[1] = rel.meta[0] = rel.meta[1] = rel.meta[2] = NULL;
    rel.check = NULL;
}

static int areas_map(void)
{
    void *areas[6] = {0};
    size_t data = page_round(rel.words * 8);
    size_t meta = rel.meta_words * 9;     /* words, then their check bytes */
    size_t sizes[6] = {data, rel.code == R3_REL_TMR ? data : page_round(rel.words), data, meta, meta, meta};
    for (unsigned i = 0; i < 6; i++) {
        if (i == 2 && rel.code != R3_REL_TMR)
            continue;
        const char *name = i == 1 ? (rel.code == R3_REL_TMR ? "r3rel-tmr1" : "r3rel-check") : area_names[i];
        rel.map_bytes[i] = sizes[i];
        areas[i] = area_map(name, sizes[i]);
        if (!areas[i])
            return -ENOMEM;
    }
    rel.data = areas[0];
    if (rel.code == R3_REL_TMR) {
        rel.copy[0] = areas[1];
        rel.copy[1] = areas[2];
    } else {
        rel.check = areas[1];
    }
    for (unsigned k = 0; k < 3; k++)
        rel.meta[k] = areas[3 + k];
    if (rel.cfg.realtime)
        for (unsigned i = 0; i < 6; i++)
            if (areas[i]) {
                r3_os_prefault(areas[i], sizes[i]);
                if (rel.cfg.lock_memory && !r3_os_mlock(areas[i], sizes[i]))
                    return -errno;
            }
    return 0;
}

static int config_fill(const r3_rel_config *cfg, r3_rel_config *out)
{
    r3_rel_default_config(out);
    if (cfg)
        *out = *cfg;
    if (!out->code)
        out->code = R3_ECC;
    if (!out->capacity)
        out->capacity = DEFAULT_CAPACITY;
    if (!out->max_blocks)
        out->max_blocks = out->capacity / 4096 > 256 ? out->capacity / 4096 : 256;
    if (out->code != R3_REL_TMR && out->code != R3_REL_SECDED)
        return -EINVAL;
    if (out->capacity > (REL_FIELD40 + 1) * 8 || out->max_blocks > REL_MAX_BLOCKS)
        return -EINVAL;
    return 0;
}

int r3_rel_init(const r3_rel_config *cfg)
{
    r3_rel_config c;
    int err = config_fill(cfg, &c);
    if (err)
        return err;
    r3_lock(&init_lock);
    if (rel.ready) {
        r3_unlock(&init_lock);
        return -EALREADY;
    }
    r3_secded_init_tables();
    rel.codec = rel_codec_get();
    rel_events_setup(c.event_log);
    rel.cfg = c;
    rel.code = c.code;
    /* Every byte of every mapping is scrubbed, so the sizes fill whole
     * pages: data and metadata words (with their check bytes) in multiples
     * of 4096. */
    rel.words = (c.capacity + 8 * 4096 - 1) / (8 * 4096) * 4096;
    rel.ndesc = 2 * c.max_blocks + 1;
    rel.meta_words = (META_DESC + rel.ndesc * DESC_WORDS + 4095) / 4096 * 4096;
    rel.scrub_meta_cursor = 0;
    rel.scrub_data_cursor = 0;
    err = areas_map();
    if (err) {
        areas_unmap();
        r3_unlock(&init_lock);
        return err;
    }
    r3_lock(&rel.lock);
    rel_meta_format(last_generation);
    rel.ready = true;
    r3_unlock(&rel.lock);
    r3_unlock(&init_lock);
    if (c.scrub_interval_ms)
        r3_rel_scrubber_start(c.scrub_interval_ms);
    return 0;
}

int r3_rel_shutdown(void)
{
    r3_lock(&init_lock);
    if (!rel.ready) {
        r3_unlock(&init_lock);
        return -EINVAL;
    }
    r3_rel_scrubber_stop();
    r3_lock(&rel.lock);
    last_generation = rel_meta_get(META_GENERATION);
    rel.ready = false;
    r3_unlock(&rel.lock);
    areas_unmap();
    r3_unlock(&init_lock);
    return 0;
}

r3_rel_handle r3_rel_alloc(size_t size)
{
    REL_WORK_RESET();
    if (!rel.ready) {
        int err = r3_rel_init(NULL);
        if (err && err != -EALREADY) {
            errno = -err;
            return 0;
        }
    }
    r3_rel_handle h = 0;
    rel_lock(&rel.lock);
    rel_meta_begin_change();
    int err = rel.ready ? rel_block_alloc(size, &h) : -EINVAL;
    rel_meta_end_change();
    r3_unlock(&rel.lock);
    if (err) {
        errno = -err;
        return 0;
    }
    return h;
}

int r3_rel_free(r3_rel_handle h)
{
    REL_WORK_RESET();
    rel_lock(&rel.lock);
    rel_meta_begin_change();
    int err = rel.ready ? rel_block_free(h) : -EINVAL;
    rel_meta_end_change();
    r3_unlock(&rel.lock);
    return err;
}

/* Validates a transfer and finds where it goes in the data area. */
static int transfer_check(r3_rel_handle h, size_t offset, const void *buf, size_t len, size_t *byte)
{
    size_t start, bytes;
    int err = rel.ready ? rel_block_lookup_fast(h, &start, &bytes) : -EINVAL;
    if (err == -EAGAIN) {
        rel_lock(&rel.lock);
        err = rel.ready ? rel_block_lookup(h, &start, &bytes) : -EINVAL;
        r3_unlock(&rel.lock);
    }
    if (err)
        return err;
    if (!buf && len)
        return -EINVAL;
    if (offset > bytes || len > bytes - offset)
        return -ERANGE;
    *byte = start * 8 + offset;
    return 0;
}

int r3_rel_write(r3_rel_handle h, size_t offset, const void *src, size_t len)
{
    REL_WORK_RESET();
    size_t byte;
    int err = transfer_check(h, offset, src, len, &byte);
    if (err || !len)
        return err;
    return rel_data_write(h, byte, src, len);
}

int r3_rel_read(r3_rel_handle h, size_t offset, void *dst, size_t len)
{
    REL_WORK_RESET();
    size_t byte;
    int err = transfer_check(h, offset, dst, len, &byte);
    if (err || !len)
        return err;
    return rel_data_read(h, byte, dst, len);
}

size_t r3_rel_size(r3_rel_handle h)
{
    size_t start, bytes;
    r3_lock(&rel.lock);
    int err = rel.ready ? rel_block_lookup(h, &start, &bytes) : -EINVAL;
    r3_unlock(&rel.lock);
    return err ? 0 : bytes;
}

r3_rel_work r3_rel_last_work(void) { return rel_work; }
