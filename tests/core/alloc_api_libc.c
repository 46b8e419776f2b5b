/* The table of alloc_api.h over the C library names, which the test
 * program takes from the shared r3malloc it is linked with. */
#define _GNU_SOURCE
#include "alloc_api.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

const struct alloc_api test_api = {
  .name = "libc",
  .malloc = malloc,
  .calloc = calloc,
  .realloc = realloc,
  .reallocarray = reallocarray,
  .free = free,
  .posix_memalign = posix_memalign,
  .aligned_alloc = aligned_alloc,
  .usable_size = malloc_usable_size,
  .memalign = memalign,
  .valloc = valloc,
  .pvalloc = pvalloc,
};

static void check_symbol_origin(const char *name, void *fn)
{
  Dl_info info;
  CHECKF(dladdr(fn, &info) != 0 && info.dli_fname != NULL,
         "%s: no shared object", name);
  CHECKF(strstr(info.dli_fname, "r3malloc") != NULL,
         "%s comes from %s, not from r3malloc", name, info.dli_fname);
}

void alloc_api_check_origin(void)
{
  check_symbol_origin("malloc", (void *)test_api.malloc);
  check_symbol_origin("calloc", (void *)test_api.calloc);
  check_symbol_origin("realloc", (void *)test_api.realloc);
  check_symbol_origin("reallocarray", (void *)test_api.reallocarray);
  check_symbol_origin("free", (void *)test_api.free);
  check_symbol_origin("posix_memalign", (void *)test_api.posix_memalign);
  check_symbol_origin("aligned_alloc", (void *)test_api.aligned_alloc);
  check_symbol_origin("malloc_usable_size", (void *)test_api.usable_size);
  check_symbol_origin("memalign", (void *)test_api.memalign);
  check_symbol_origin("valloc", (void *)test_api.valloc);
  check_symbol_origin("pvalloc", (void *)test_api.pvalloc);
}
