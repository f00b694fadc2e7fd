/*
 * The C side of DgemmBench and TinyCallBench: the same cblas calls on the same libopenblas_nolapack.so.0 that the
 * Java binding loads (javacpp's extracted copy), timed the same way (mean ns per call over 5 one-second rounds after
 * a warm-up), so the Java numbers can be read as ratios to these.
 *
 * Usage: dgemm_bench LIBRARY THREADS N1 N2 ...   (run.sh finds the library, compiles and runs this)
 * Prints, per square size n: ns per call (mean and min of the rounds) and GFLOP/s = 2 n^3 / ns;
 * then ddot with n = 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * The functions, looked up with dlsym in the library opened by its absolute path, exactly as the Java binding does.
 * Linking the file instead would not do: its SONAME is libopenblas.so.0, so the dynamic loader would happily pick a
 * system OpenBLAS of that name at run time. Signatures as in cblas.h with OpenBLAS's 32-bit blasint.
 */
static void (*cblas_dgemm)(int order, int transA, int transB, int m, int n, int k, double alpha, const double *a,
                           int lda, const double *b, int ldb, double beta, double *c, int ldc);
static double (*cblas_ddot)(int n, const double *x, int incx, const double *y, int incy);
static void (*openblas_set_num_threads)(int threads);
static int (*openblas_get_num_threads)(void);
static char *(*openblas_get_config)(void);

static void *symbol(void *library, const char *name) {
    void *address = dlsym(library, name);
    if (address == NULL) {
        fprintf(stderr, "symbol %s: %s\n", name, dlerror());
        exit(1);
    }
    return address;
}

static void bind(const char *path) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        exit(1);
    }
    /* POSIX allows converting dlsym's void * to a function pointer through this cast. */
    *(void **) &cblas_dgemm = symbol(library, "cblas_dgemm");
    *(void **) &cblas_ddot = symbol(library, "cblas_ddot");
    *(void **) &openblas_set_num_threads = symbol(library, "openblas_set_num_threads");
    *(void **) &openblas_get_num_threads = symbol(library, "openblas_get_num_threads");
    *(void **) &openblas_get_config = symbol(library, "openblas_get_config");
}

enum { ROW_MAJOR = 101, NO_TRANS = 111 };
enum { ROUNDS = 5 };
static const double WARMUP_SECONDS = 2.0;
static const double ROUND_SECONDS = 1.0;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

static volatile double sink;

/* One benchmarked call; `n` is the square size, or the vector length for ddot. */
typedef void (*call_fn)(int n, double *a, double *b, double *c);

static void call_dgemm(int n, double *a, double *b, double *c) {
    cblas_dgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
}

static void call_ddot(int n, double *a, double *b, double *c) {
    (void) c;
    sink += cblas_ddot(n, a, 1, b, 1);
}

/* Calls `fn` repeatedly for `seconds` (checking the clock every `batch` calls); returns ns per call. */
static double run_for(call_fn fn, int n, double *a, double *b, double *c, double seconds, long batch) {
    long calls = 0;
    double start = now_seconds();
    double elapsed;
    do {
        for (long i = 0; i < batch; i++) {
            fn(n, a, b, c);
        }
        calls += batch;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    return 1e9 * elapsed / (double) calls;
}

/* Warm-up, then ROUNDS rounds; writes mean and min ns per call. */
static void measure(call_fn fn, int n, double *a, double *b, double *c, double *mean, double *min) {
    double estimate = run_for(fn, n, a, b, c, WARMUP_SECONDS, 1);
    /* Read the clock about every millisecond. */
    long batch = estimate > 1e6 ? 1 : (long) (1e6 / estimate);
    *mean = 0.0;
    *min = 1e300;
    for (int r = 0; r < ROUNDS; r++) {
        double ns = run_for(fn, n, a, b, c, ROUND_SECONDS, batch);
        *mean += ns / ROUNDS;
        if (ns < *min) {
            *min = ns;
        }
    }
}

static double *random_doubles(size_t count) {
    double *p = aligned_alloc(64, ((count * sizeof(double) + 63) / 64) * 64);
    if (p == NULL) {
        fprintf(stderr, "out of memory for %zu doubles\n", count);
        exit(1);
    }
    for (size_t i = 0; i < count; i++) {
        p[i] = 2.0 * rand() / RAND_MAX - 1.0;
    }
    return p;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LIBRARY THREADS N1 [N2 ...]\n", argv[0]);
        return 2;
    }
    bind(argv[1]);
    int threads = atoi(argv[2]);
    if (threads < 1) {
        fprintf(stderr, "THREADS = %s must be >= 1\n", argv[2]);
        return 2;
    }
    openblas_set_num_threads(threads);
    srand(42);
    printf("# %s, threads = %d\n", openblas_get_config(), openblas_get_num_threads());
    printf("# %-14s %6s %14s %14s %10s\n", "call", "n", "ns/call mean", "ns/call min", "GFLOP/s");
    for (int i = 3; i < argc; i++) {
        int n = atoi(argv[i]);
        if (n < 1) {
            fprintf(stderr, "size = %s must be >= 1\n", argv[i]);
            return 2;
        }
        size_t count = (size_t) n * (size_t) n;
        double *a = random_doubles(count);
        double *b = random_doubles(count);
        double *c = random_doubles(count);
        double mean;
        double min;
        measure(call_dgemm, n, a, b, c, &mean, &min);
        printf("  %-14s %6d %14.1f %14.1f %10.2f\n", "dgemm", n, mean, min, 2.0 * n * (double) n * n / mean);
        free(a);
        free(b);
        free(c);
    }
    double *x = random_doubles(1);
    double *y = random_doubles(1);
    double mean;
    double min;
    measure(call_ddot, 1, x, y, NULL, &mean, &min);
    printf("  %-14s %6d %14.1f %14.1f\n", "ddot", 1, mean, min);
    free(x);
    free(y);
    return 0;
}
