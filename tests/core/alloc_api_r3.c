/* The table of alloc_api.h over the r3_* API. */
#include "alloc_api.h"

#include "r3malloc.h"

/* r3_usable_size takes a const pointer; the table has the libc signature. */
static size_t usable_size(void *p)
{
  return r3_usable_size(p);
}

const struct alloc_api test_api = {
  .name = "r3",
  .malloc = r3_malloc,
  .calloc = r3_calloc,
  .realloc = r3_realloc,
  .reallocarray = r3_reallocarray,
  .free = r3_free,
  .posix_memalign = r3_posix_memalign,
  .aligned_alloc = r3_aligned_alloc,
  .usable_size = usable_size,
};

void alloc_api_check_origin(void)
{
}
