package org.dtlm.blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

import java.lang.foreign.MemorySegment;

/**
 * The pure-Java reference BLAS: straightforward loops, single-threaded. It is the test oracle for {@link OpenBlas}
 * and the fallback when the native library cannot be loaded. Argument checks are those of {@link BlasArgs}, shared
 * with the native binding.
 *
 * <p>Special values follow reference BLAS: with {@code beta == 0} the output (C or y) is not read, so NaN there does
 * not propagate; with {@code alpha == 0} the inputs A, B, x are not read. dscal multiplies literally.
 */
public final class JavaBlas implements Blas {

    public JavaBlas() {
    }

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      double beta, MemorySegment c, long cOff, int ldc) {
        BlasArgs.dgemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        // A(i, p) = a[aOff + i*lda + p], or a[aOff + p*lda + i] when transposed; likewise B(p, j).
        long aRow = transA ? 1 : lda;
        long aCol = transA ? lda : 1;
        long bRow = transB ? 1 : ldb;
        long bCol = transB ? ldb : 1;
        boolean product = alpha != 0.0 && k > 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long cij = cOff + (long) i * ldc + j;
                double sum = 0.0;
                if (product) {
                    for (int p = 0; p < k; p++) {
                        sum += a.getAtIndex(JAVA_DOUBLE, aOff + i * aRow + p * aCol)
                                * b.getAtIndex(JAVA_DOUBLE, bOff + p * bRow + j * bCol);
                    }
                }
                double scaled = beta == 0.0 ? 0.0 : beta * c.getAtIndex(JAVA_DOUBLE, cij);
                c.setAtIndex(JAVA_DOUBLE, cij, product ? scaled + alpha * sum : scaled);
            }
        }
    }

    @Override
    public void dgemv(boolean transA, int m, int n, double alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, int incx, double beta, MemorySegment y, long yOff, int incy) {
        BlasArgs.dgemv(transA, m, n, a, aOff, lda, x, xOff, incx, y, yOff, incy);
        int lenY = transA ? n : m;
        int lenX = transA ? m : n;
        // op(A)(i, p) = A(i, p) = a[aOff + i*lda + p], or A(p, i) when transposed.
        long aRow = transA ? 1 : lda;
        long aCol = transA ? lda : 1;
        for (int i = 0; i < lenY; i++) {
            long yi = yOff + (long) i * incy;
            double scaled = beta == 0.0 ? 0.0 : beta * y.getAtIndex(JAVA_DOUBLE, yi);
            if (alpha == 0.0) {
                y.setAtIndex(JAVA_DOUBLE, yi, scaled);
                continue;
            }
            double sum = 0.0;
            for (int p = 0; p < lenX; p++) {
                sum += a.getAtIndex(JAVA_DOUBLE, aOff + i * aRow + p * aCol)
                        * x.getAtIndex(JAVA_DOUBLE, xOff + (long) p * incx);
            }
            y.setAtIndex(JAVA_DOUBLE, yi, scaled + alpha * sum);
        }
    }

    @Override
    public void daxpy(int n, double alpha, MemorySegment x, long xOff, int incx,
                      MemorySegment y, long yOff, int incy) {
        BlasArgs.twoVectors("daxpy", n, x, xOff, incx, y, yOff, incy);
        if (alpha == 0.0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            long yi = yOff + (long) i * incy;
            y.setAtIndex(JAVA_DOUBLE, yi,
                    y.getAtIndex(JAVA_DOUBLE, yi) + alpha * x.getAtIndex(JAVA_DOUBLE, xOff + (long) i * incx));
        }
    }

    @Override
    public double ddot(int n, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
        BlasArgs.twoVectors("ddot", n, x, xOff, incx, y, yOff, incy);
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            sum += x.getAtIndex(JAVA_DOUBLE, xOff + (long) i * incx) * y.getAtIndex(JAVA_DOUBLE, yOff + (long) i * incy);
        }
        return sum;
    }

    @Override
    public void dscal(int n, double alpha, MemorySegment x, long xOff, int incx) {
        BlasArgs.oneVector("dscal", n, x, xOff, incx);
        for (int i = 0; i < n; i++) {
            long xi = xOff + (long) i * incx;
            x.setAtIndex(JAVA_DOUBLE, xi, alpha * x.getAtIndex(JAVA_DOUBLE, xi));
        }
    }

    /** The scaled sum of squares of LAPACK's classic dnrm2: norm = scale * sqrt(ssq), no square overflows. */
    @Override
    public double dnrm2(int n, MemorySegment x, long xOff, int incx) {
        BlasArgs.oneVector("dnrm2", n, x, xOff, incx);
        double scale = 0.0;
        double ssq = 1.0;
        for (int i = 0; i < n; i++) {
            double v = x.getAtIndex(JAVA_DOUBLE, xOff + (long) i * incx);
            if (v != 0.0) {
                double abs = Math.abs(v);
                if (scale < abs) {
                    double r = scale / abs;
                    ssq = 1.0 + ssq * r * r;
                    scale = abs;
                } else {
                    double r = abs / scale;
                    ssq += r * r;
                }
            }
        }
        return scale * Math.sqrt(ssq);
    }

    /** The reference is single-threaded: any {@code threads >= 1} is accepted and ignored. */
    @Override
    public void setNumThreads(int threads) {
        BlasArgs.threads(threads);
    }

    /** Always 1. */
    @Override
    public int getNumThreads() {
        return 1;
    }

    @Override
    public String config() {
        return "Java reference BLAS (single-threaded loops)";
    }
}
