/* A C program for gcc to compile under the preload (tests/programs/gcc.sh).
 * Varied code (loops to vectorise, recursion to inline, a hash table, a
 * small expression evaluator, generic macros) keeps the compiler's own
 * allocator busy; running the result checks the generated code as well.
 * The output depends only on the computation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATRIX_N 48

static uint64_t rng_state = 88172645463325252ull;

/* xorshift64: deterministic pseudo-random numbers. */
static uint64_t next_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void matrix_multiply(double a[MATRIX_N][MATRIX_N], double b[MATRIX_N][MATRIX_N],
                            double out[MATRIX_N][MATRIX_N]) {
  for (int i = 0; i < MATRIX_N; i++)
    for (int j = 0; j < MATRIX_N; j++) {
      double sum = 0;
      for (int k = 0; k < MATRIX_N; k++) sum += a[i][k] * b[k][j];
      out[i][j] = sum;
    }
}

static double matrix_trace_of_power(int power) {
  static double a[MATRIX_N][MATRIX_N], acc[MATRIX_N][MATRIX_N], tmp[MATRIX_N][MATRIX_N];
  for (int i = 0; i < MATRIX_N; i++)
    for (int j = 0; j < MATRIX_N; j++) {
      a[i][j] = (double)(next_random() % 1000) / 1000.0 / MATRIX_N;
      acc[i][j] = i == j;
    }
  for (int p = 0; p < power; p++) {
    matrix_multiply(acc, a, tmp);
    memcpy(acc, tmp, sizeof acc);
  }
  double trace = 0;
  for (int i = 0; i < MATRIX_N; i++) trace += acc[i][i];
  return trace;
}

struct entry {
  char *key;
  long value;
  struct entry *next;
};

struct table {
  struct entry **buckets;
  size_t bucket_count, size;
};

static size_t hash_string(const char *s) {
  size_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static void table_grow(struct table *t) {
  size_t count = t->bucket_count ? t->bucket_count * 2 : 16;
  struct entry **buckets = calloc(count, sizeof *buckets);
  if (!buckets) abort();
  for (size_t i = 0; i < t->bucket_count; i++)
    for (struct entry *e = t->buckets[i], *next; e; e = next) {
      next = e->next;
      size_t slot = hash_string(e->key) & (count - 1);
      e->next = buckets[slot];
      buckets[slot] = e;
    }
  free(t->buckets);
  t->buckets = buckets;
  t->bucket_count = count;
}

static long *table_slot(struct table *t, const char *key) {
  if (t->size * 2 >= t->bucket_count) table_grow(t);
  size_t slot = hash_string(key) & (t->bucket_count - 1);
  for (struct entry *e = t->buckets[slot]; e; e = e->next)
    if (strcmp(e->key, key) == 0) return &e->value;
  struct entry *e = malloc(sizeof *e);
  if (!e || !(e->key = strdup(key))) abort();
  e->value = 0;
  e->next = t->buckets[slot];
  t->buckets[slot] = e;
  t->size++;
  return &e->value;
}

static void table_free(struct table *t) {
  for (size_t i = 0; i < t->bucket_count; i++)
    for (struct entry *e = t->buckets[i], *next; e; e = next) {
      next = e->next;
      free(e->key);
      free(e);
    }
  free(t->buckets);
}

static long word_census(int words) {
  struct table t = {0};
  char word[32];
  for (int i = 0; i < words; i++) {
    int length = 1 + (int)(next_random() % 4);
    for (int c = 0; c < length; c++) word[c] = (char)('a' + next_random() % 6);
    word[length] = '\0';
    ++*table_slot(&t, word);
  }
  long checksum = (long)t.size;
  for (size_t i = 0; i < t.bucket_count; i++)
    for (struct entry *e = t.buckets[i]; e; e = e->next) checksum += e->value * (long)hash_string(e->key) % 1000;
  table_free(&t);
  return checksum;
}

/* Recursive-descent evaluator for + - * / and parentheses over integers,
 * reduced modulo a prime after every operation so that nothing overflows. */
static long parse_sum(const char **s);

static long parse_atom(const char **s) {
  if (**s == '(') {
    ++*s;
    long v = parse_sum(s);
    ++*s; /* ')' */
    return v;
  }
  return strtol(*s, (char **)s, 10);
}

static long parse_product(const char **s) {
  long v = parse_atom(s);
  while (**s == '*' || **s == '/') {
    char op = *(*s)++;
    long rhs = parse_atom(s);
    v = op == '*' ? v * rhs % 1000003 : (rhs ? v / rhs : 0);
  }
  return v;
}

static long parse_sum(const char **s) {
  long v = parse_product(s);
  while (**s == '+' || **s == '-') {
    char op = *(*s)++;
    long rhs = parse_product(s);
    v = (op == '+' ? v + rhs : v - rhs) % 1000003;
  }
  return v;
}

static void random_expression(char **out, int depth) {
  if (depth == 0 || next_random() % 3 == 0) {
    *out += sprintf(*out, "%d", (int)(next_random() % 100));
    return;
  }
  static const char ops[] = "+-*/";
  *(*out)++ = '(';
  random_expression(out, depth - 1);
  *(*out)++ = ops[next_random() % 4];
  random_expression(out, depth - 1);
  *(*out)++ = ')';
}

static long expressions(int count) {
  static char buffer[1 << 16];
  long total = 0;
  for (int i = 0; i < count; i++) {
    char *end = buffer;
    random_expression(&end, 8);
    *end = '\0';
    const char *cursor = buffer;
    total += parse_sum(&cursor);
  }
  return total;
}

#define DEFINE_SORT(type)                                                 \
  static int compare_##type(const void *a, const void *b) {               \
    type x = *(const type *)a, y = *(const type *)b;                      \
    return (x > y) - (x < y);                                             \
  }                                                                       \
  static type sorted_median_##type(size_t n) {                            \
    type *v = malloc(n * sizeof *v);                                      \
    if (!v) abort();                                                      \
    for (size_t i = 0; i < n; i++) v[i] = (type)(next_random() % 100000); \
    qsort(v, n, sizeof *v, compare_##type);                               \
    type median = v[n / 2];                                               \
    free(v);                                                              \
    return median;                                                        \
  }

DEFINE_SORT(int)
DEFINE_SORT(long)
DEFINE_SORT(double)
DEFINE_SORT(float)

int main(void) {
  printf("matrix %.9e\n", matrix_trace_of_power(12));
  printf("census %ld\n", word_census(200000));
  printf("expressions %ld\n", expressions(2000));
  printf("medians %d %ld %.1f %.1f\n", sorted_median_int(100001), sorted_median_long(100001),
         sorted_median_double(100001), (double)sorted_median_float(100001));
  return 0;
}
