/* The debug build (R3_DEBUG=1) stops on misuse with one line
 * "r3malloc: <what> <pointer>" and abort: use of a destroyed pool, a block
 * freed twice, a pointer not from the pool. Each case runs in a child. */
#include "r3pool.h"
#include "pool_test.h"
#include "../common/child.h"

static void use_destroyed(void)
{
    r3_pool_t *pool = r3_pool_create_region(NULL);
    r3_pool_destroy(pool);
    r3_palloc(pool, 8);
}

static void double_free(void)
{
    r3_pool_t *pool = r3_pool_create(32, 4);
    void *p = r3_palloc(pool, 32);
    r3_pfree(pool, p);
    r3_pfree(pool, p);
}

static void foreign_free(void)
{
    r3_pool_t *a = r3_pool_create(32, 4), *b = r3_pool_create(32, 4);
    r3_pfree(a, r3_palloc(b, 32));
}

static void destroyed_set(void)
{
    r3_pool_percpu_t *set = make_set(16, 16);
    r3_pool_percpu_destroy(set);
    r3_pool_percpu_alloc(set, 8);
}

static void expect_abort(void (*misuse)(void), const char *message)
{
    struct child_result r;
    if (!child_aborts_with(misuse, "r3malloc: ", &r) || !strstr(r.err, message)) {
        fprintf(stderr, "expected abort with '%s', got status %d, '%s'\n", message, r.status, r.err);
        exit(1);
    }
}

int main(void)
{
    expect_abort(use_destroyed, "use of destroyed pool 0x");
    expect_abort(double_free, "pfree of a block not in use 0x");
    expect_abort(foreign_free, "pfree of a pointer not from this pool 0x");
    expect_abort(destroyed_set, "use of destroyed pool set 0x");
    puts("pool debug: ok");
    return 0;
}
