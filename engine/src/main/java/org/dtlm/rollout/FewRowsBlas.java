package org.dtlm.rollout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import org.dtlm.blas.Blas;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The BLAS of a rollout's network passes: products with few rows in Java, the rest delegated.
 *
 * <p>Why. A rollout step multiplies a handful of points (one trajectory: one row) by the 200 x 200 weights several
 * times. OpenBLAS packs the whole weight operand on every dgemm call, which costs ~45 µs at m = 2 (measured here,
 * bench/README.md, ## Rollouts) against ~5 µs for the arithmetic; at m = 1 it switches to gemv, whose summation order
 * differs. Here a product with at most {@link #FEW_ROWS} rows is computed directly from the (pre-transposed) weights.
 *
 * <p>Bit compatibility. Every element is one fused multiply-add chain over k in increasing order, starting from 0:
 * the order of OpenBLAS's dgemm kernels on x86-64 for m ≥ 2 (checked in FewRowsBlasTest, bit for bit), so a row's
 * result does not depend on how many rows it is computed with, on either side of the threshold. Non-transposed dgemv
 * (V = tanh(a_L) w) is computed the same way for every m. Requires k below OpenBLAS's k-blocking (a few hundred:
 * every product of the default network qualifies).
 *
 * <p>The weights are snapshotted (transposed) at construction: the model must not change while this is in use.
 * Not thread-safe beyond what the delegate is; used by one {@link Stepper}.
 */
final class FewRowsBlas implements Blas {

    /** Products with at most this many rows are computed here (measured crossover, bench/README.md). */
    static final int FEW_ROWS = 16;

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    /** Vectors of columns per row in the inner kernel. */
    private static final int UNROLL = 4;

    private final Blas delegate;
    private final long slabAddress;
    private final long[] weightOffsets;
    /** W_k^T, (fanIn_k, H_k) row-major, per hidden layer k. */
    private final MemorySegment[] transposed;

    FewRowsBlas(Blas delegate, Parameters parameters, Arena arena) {
        this.delegate = delegate;
        ParameterLayout layout = parameters.layout();
        MlpShape shape = layout.shape();
        MemorySegment slab = parameters.slab();
        slabAddress = slab.address();
        int layers = shape.layers();
        weightOffsets = new long[layers];
        transposed = new MemorySegment[layers];
        for (int k = 0; k < layers; k++) {
            int h = shape.width(k), f = shape.fanIn(k);
            long w = layout.weight(k);
            weightOffsets[k] = w;
            MemorySegment t = arena.allocate((long) f * h * Double.BYTES, 64);
            for (int j = 0; j < h; j++) {
                for (int p = 0; p < f; p++) {
                    t.setAtIndex(JAVA_DOUBLE, (long) p * h + j, slab.getAtIndex(JAVA_DOUBLE, w + (long) j * f + p));
                }
            }
            transposed[k] = t;
        }
    }

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      double beta, MemorySegment c, long cOff, int ldc) {
        if (transA || m > FEW_ROWS || alpha != 1.0 || (beta != 0.0 && beta != 1.0) || k < 1) {
            delegate.dgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        MemorySegment rowMajorB = b;
        long rowMajorOff = bOff;
        int rowMajorLd = ldb;
        if (transB) {
            int layer = weightLayer(b, bOff, n, k, ldb);
            if (layer < 0) {
                delegate.dgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                return;
            }
            rowMajorB = transposed[layer];
            rowMajorOff = 0;
            rowMajorLd = n;
        }
        checkBounds(m, n, k, a, aOff, lda, rowMajorB, rowMajorOff, rowMajorLd, c, cOff, ldc);
        boolean accumulate = beta == 1.0;
        int i = 0;
        for (; i + 2 <= m; i += 2) {
            twoRows(n, k, a, aOff + (long) i * lda, lda, rowMajorB, rowMajorOff, rowMajorLd, accumulate,
                    c, cOff + (long) i * ldc, ldc);
        }
        if (i < m) {
            row(n, k, a, aOff + (long) i * lda, rowMajorB, rowMajorOff, rowMajorLd, accumulate, c, cOff + (long) i * ldc);
        }
    }

    /** The hidden layer whose weight W_k (H_k x fanIn_k, row-major in the slab) is this B operand, or -1. */
    private int weightLayer(MemorySegment b, long bOff, int n, int k, int ldb) {
        if (b.address() != slabAddress) return -1;
        for (int layer = 0; layer < weightOffsets.length; layer++) {
            if (weightOffsets[layer] == bOff && transposed[layer].byteSize() == (long) n * k * Double.BYTES && ldb == k) {
                return layer;
            }
        }
        return -1;
    }

    /**
     * Two rows at once, sharing the loads of B: as {@link #row} for rows a and a + lda into c and c + ldc, each
     * element the same fused multiply-add chain; the columns beyond the last full block go through {@link #row}.
     */
    private static void twoRows(int n, int k, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                boolean accumulate, MemorySegment c, long cOff, int ldc) {
        int block = UNROLL * L;
        int j = 0;
        for (; j + block <= n; j += block) {
            DoubleVector s0 = DoubleVector.zero(S), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            for (int p = 0; p < k; p++) {
                DoubleVector ap = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, aOff + p));
                DoubleVector aq = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, aOff + lda + p));
                long at = (bOff + (long) p * ldb + j) * Double.BYTES;
                DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, at, NO);
                DoubleVector b1 = DoubleVector.fromMemorySegment(S, b, at + (long) L * Double.BYTES, NO);
                DoubleVector b2 = DoubleVector.fromMemorySegment(S, b, at + 2L * L * Double.BYTES, NO);
                DoubleVector b3 = DoubleVector.fromMemorySegment(S, b, at + 3L * L * Double.BYTES, NO);
                s0 = ap.fma(b0, s0);
                s1 = ap.fma(b1, s1);
                s2 = ap.fma(b2, s2);
                s3 = ap.fma(b3, s3);
                t0 = aq.fma(b0, t0);
                t1 = aq.fma(b1, t1);
                t2 = aq.fma(b2, t2);
                t3 = aq.fma(b3, t3);
            }
            store(s0, s1, s2, s3, accumulate, c, cOff + j);
            store(t0, t1, t2, t3, accumulate, c, cOff + ldc + j);
        }
        if (j < n) {
            row(n - j, k, a, aOff, b, bOff + j, ldb, accumulate, c, cOff + j);
            row(n - j, k, a, aOff + lda, b, bOff + j, ldb, accumulate, c, cOff + ldc + j);
        }
    }

    /** c[at .. at + 4L) = s (or c + s when accumulating). */
    private static void store(DoubleVector s0, DoubleVector s1, DoubleVector s2, DoubleVector s3, boolean accumulate,
                              MemorySegment c, long at) {
        long out = at * Double.BYTES, step = (long) L * Double.BYTES;
        if (accumulate) {
            s0 = DoubleVector.fromMemorySegment(S, c, out, NO).add(s0);
            s1 = DoubleVector.fromMemorySegment(S, c, out + step, NO).add(s1);
            s2 = DoubleVector.fromMemorySegment(S, c, out + 2 * step, NO).add(s2);
            s3 = DoubleVector.fromMemorySegment(S, c, out + 3 * step, NO).add(s3);
        }
        s0.intoMemorySegment(c, out, NO);
        s1.intoMemorySegment(c, out + step, NO);
        s2.intoMemorySegment(c, out + 2 * step, NO);
        s3.intoMemorySegment(c, out + 3 * step, NO);
    }

    /**
     * c[j] (+)= sum_p a[p] B[p][j] for j < n, each element a fused multiply-add chain over p = 0 .. k-1 from 0.
     * a: k values at aOff; B: (k, n) with leading dimension ldb at bOff; c: n values at cOff.
     */
    private static void row(int n, int k, MemorySegment a, long aOff, MemorySegment b, long bOff, int ldb,
                            boolean accumulate, MemorySegment c, long cOff) {
        int j = 0;
        int block = UNROLL * L;
        for (; j + block <= n; j += block) {
            DoubleVector s0 = DoubleVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            for (int p = 0; p < k; p++) {
                DoubleVector ap = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, aOff + p));
                long at = (bOff + (long) p * ldb + j) * Double.BYTES;
                s0 = ap.fma(DoubleVector.fromMemorySegment(S, b, at, NO), s0);
                s1 = ap.fma(DoubleVector.fromMemorySegment(S, b, at + (long) L * Double.BYTES, NO), s1);
                s2 = ap.fma(DoubleVector.fromMemorySegment(S, b, at + 2L * L * Double.BYTES, NO), s2);
                s3 = ap.fma(DoubleVector.fromMemorySegment(S, b, at + 3L * L * Double.BYTES, NO), s3);
            }
            store(s0, s1, s2, s3, accumulate, c, cOff + j);
        }
        for (; j + L <= n; j += L) {
            DoubleVector s0 = DoubleVector.zero(S);
            for (int p = 0; p < k; p++) {
                DoubleVector ap = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, aOff + p));
                s0 = ap.fma(DoubleVector.fromMemorySegment(S, b, (bOff + (long) p * ldb + j) * Double.BYTES, NO), s0);
            }
            long out = (cOff + j) * Double.BYTES;
            if (accumulate) s0 = DoubleVector.fromMemorySegment(S, c, out, NO).add(s0);
            s0.intoMemorySegment(c, out, NO);
        }
        for (; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                s = Math.fma(a.getAtIndex(JAVA_DOUBLE, aOff + p), b.getAtIndex(JAVA_DOUBLE, bOff + (long) p * ldb + j), s);
            }
            long out = cOff + j;
            c.setAtIndex(JAVA_DOUBLE, out, accumulate ? c.getAtIndex(JAVA_DOUBLE, out) + s : s);
        }
    }

    /**
     * y = A x for non-transposed A with unit strides, alpha 1 and beta 0: each y_i a fused multiply-add chain over j,
     * whatever m (four rows interleaved for throughput). Anything else is delegated.
     */
    @Override
    public void dgemv(boolean transA, int m, int n, double alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, int incx, double beta, MemorySegment y, long yOff, int incy) {
        if (transA || alpha != 1.0 || beta != 0.0 || incx != 1 || incy != 1 || n < 1) {
            delegate.dgemv(transA, m, n, alpha, a, aOff, lda, x, xOff, incx, beta, y, yOff, incy);
            return;
        }
        checkRange("a", a, aOff, m < 1 ? 0 : (long) (m - 1) * lda + n);
        checkRange("x", x, xOff, n);
        checkRange("y", y, yOff, m);
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            long r0 = aOff + (long) i * lda, r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = 0; j < n; j++) {
                double xj = x.getAtIndex(JAVA_DOUBLE, xOff + j);
                s0 = Math.fma(a.getAtIndex(JAVA_DOUBLE, r0 + j), xj, s0);
                s1 = Math.fma(a.getAtIndex(JAVA_DOUBLE, r1 + j), xj, s1);
                s2 = Math.fma(a.getAtIndex(JAVA_DOUBLE, r2 + j), xj, s2);
                s3 = Math.fma(a.getAtIndex(JAVA_DOUBLE, r3 + j), xj, s3);
            }
            y.setAtIndex(JAVA_DOUBLE, yOff + i, s0);
            y.setAtIndex(JAVA_DOUBLE, yOff + i + 1, s1);
            y.setAtIndex(JAVA_DOUBLE, yOff + i + 2, s2);
            y.setAtIndex(JAVA_DOUBLE, yOff + i + 3, s3);
        }
        for (; i < m; i++) {
            long r = aOff + (long) i * lda;
            double s = 0;
            for (int j = 0; j < n; j++) s = Math.fma(a.getAtIndex(JAVA_DOUBLE, r + j), x.getAtIndex(JAVA_DOUBLE, xOff + j), s);
            y.setAtIndex(JAVA_DOUBLE, yOff + i, s);
        }
    }

    private static void checkBounds(int m, int n, int k, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff,
                                    int ldb, MemorySegment c, long cOff, int ldc) {
        if (m < 0 || n < 0 || lda < k || ldb < n || ldc < n) {
            throw new IllegalArgumentException("dgemm: m = " + m + ", n = " + n + ", k = " + k + ", lda = " + lda
                    + ", ldb = " + ldb + ", ldc = " + ldc);
        }
        if (m == 0 || n == 0) return;
        checkRange("a", a, aOff, (long) (m - 1) * lda + k);
        checkRange("b", b, bOff, (long) (k - 1) * ldb + n);
        checkRange("c", c, cOff, (long) (m - 1) * ldc + n);
    }

    private static void checkRange(String name, MemorySegment s, long off, long elements) {
        if (off < 0 || (off + elements) * Double.BYTES > s.byteSize()) {
            throw new IllegalArgumentException(name + ": elements " + off + " .. " + (off + elements) + " outside a segment of "
                    + s.byteSize() / Double.BYTES + " doubles");
        }
    }

    @Override
    public void daxpy(int n, double alpha, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
        delegate.daxpy(n, alpha, x, xOff, incx, y, yOff, incy);
    }

    @Override
    public double ddot(int n, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
        return delegate.ddot(n, x, xOff, incx, y, yOff, incy);
    }

    @Override
    public void dscal(int n, double alpha, MemorySegment x, long xOff, int incx) {
        delegate.dscal(n, alpha, x, xOff, incx);
    }

    @Override
    public double dnrm2(int n, MemorySegment x, long xOff, int incx) {
        return delegate.dnrm2(n, x, xOff, incx);
    }

    @Override
    public void setNumThreads(int threads) {
        delegate.setNumThreads(threads);
    }

    @Override
    public int getNumThreads() {
        return delegate.getNumThreads();
    }

    @Override
    public String config() {
        return "few-row products in Java (<= " + FEW_ROWS + " rows), else " + delegate.config();
    }
}
