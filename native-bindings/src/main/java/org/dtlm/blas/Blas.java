package org.dtlm.blas;

import java.lang.foreign.MemorySegment;

/**
 * The BLAS operations the engine needs, row-major (CBLAS {@code CblasRowMajor}) on native {@link MemorySegment}s of
 * doubles. Offsets and leading dimensions are counted in elements, not bytes. Every implementation checks sizes,
 * leading dimensions, strides, segment bounds and liveness once at this boundary and throws
 * {@link IllegalArgumentException} (or {@link IllegalStateException} for a closed arena) naming the argument and its
 * value; native code never receives an out-of-bounds segment. Segments must be native, alive and 8-byte aligned;
 * increments must be positive (negative increments are rejected, see {@link BlasArgs}); leading dimensions follow
 * CBLAS row-major rules ({@code ld >= max(1, columns of the stored matrix)}). As in reference BLAS, {@code beta == 0}
 * means the output is not read (NaN there does not propagate) and {@code alpha == 0} means the inputs are not read.
 *
 * <p>Calls allocate nothing on the Java heap. Thread safety: the routines are safe to call concurrently on disjoint
 * outputs; {@link #setNumThreads} is process-wide.
 *
 * <p>Two implementations: {@link OpenBlas} (OpenBLAS through java.lang.foreign downcalls) and {@link JavaBlas} (the
 * pure-Java reference: test oracle and fallback). {@link #get()} chooses once per process.
 */
public interface Blas {

    /** C = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n, C is m x n. */
    void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
               MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
               double beta, MemorySegment c, long cOff, int ldc);

    /**
     * Two products with one B: C1 = A1 op(B) + beta C1 and C2 = A2 op(B) + beta C2, with A1, A2 m x k (leading
     * dimension lda) and C1, C2 m x n (ldc): a value and its tangent through one layer. The same as the two dgemm
     * calls it defaults to; an implementation may share the reads of B between them.
     */
    default void dgemmPair(boolean transB, int m, int n, int k, MemorySegment a1, long a1Off, MemorySegment a2,
                           long a2Off, int lda, MemorySegment b, long bOff, int ldb, double beta,
                           MemorySegment c1, long c1Off, MemorySegment c2, long c2Off, int ldc) {
        dgemm(false, transB, m, n, k, 1.0, a1, a1Off, lda, b, bOff, ldb, beta, c1, c1Off, ldc);
        dgemm(false, transB, m, n, k, 1.0, a2, a2Off, lda, b, bOff, ldb, beta, c2, c2Off, ldc);
    }

    /**
     * y = alpha op(A) x + beta y; A is m x n as stored, x has n elements (m when transposed), y has m (n when
     * transposed). When op(A) has no columns, y is still scaled by beta (reference BLAS would return untouched).
     */
    void dgemv(boolean transA, int m, int n, double alpha, MemorySegment a, long aOff, int lda,
               MemorySegment x, long xOff, int incx, double beta, MemorySegment y, long yOff, int incy);

    /** y += alpha x. */
    void daxpy(int n, double alpha, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy);

    /** x . y */
    double ddot(int n, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy);

    /** x *= alpha. */
    void dscal(int n, double alpha, MemorySegment x, long xOff, int incx);

    /** Euclidean norm of x, without overflow or underflow of intermediate squares. */
    double dnrm2(int n, MemorySegment x, long xOff, int incx);

    /** Sets the number of threads the library uses (1 for the Java reference, which is single-threaded). */
    void setNumThreads(int threads);

    int getNumThreads();

    /** A one-line description: implementation, library configuration (e.g. {@code openblas_get_config}). */
    String config();

    /** The implementation chosen for this process (see {@link BlasProvider}). */
    static Blas get() {
        return BlasProvider.INSTANCE;
    }
}
