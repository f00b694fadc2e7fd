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
 * The BLAS of a rollout's network passes: every product in Java, each element of the result one fused multiply-add
 * chain over p = 0 .. k-1 in increasing order, starting from 0 (beta = 0) or from the element of C (beta = 1), so that
 * a row's result is the same bits whatever the other rows of the call, their number, the tiling and the threads: a
 * trajectory's bits do not depend on the batch it rides in ({@code RowExactBlasTest} checks every product against a
 * plain {@code Math.fma} loop, STYLE 4).
 *
 * <p>Why not OpenBLAS. Its dgemm computes most rows by such a chain, but a row left alone in the tail of a thread's
 * partition goes through another kernel and another order (measured: m = 3, row 2; m = 20 on two threads, rows 4, 9,
 * 14, 19), so a trajectory's bits would depend on the batch; and with one or two rows it spends ~45 µs packing the
 * 200 x 200 weights for ~5 µs of arithmetic (bench/README.md, ## Rollouts).
 *
 * <p>Products A W_k^T (forward passes) read a transposed copy of W_k made once, here (a snapshot: the model must not
 * change while this is in use), so that every product streams contiguous rows of its B. Products with a transposed A
 * (training only), other alphas and betas, and the level-1 routines are delegated. Stateless after construction: any
 * number of threads may share it.
 */
public final class RowExactBlas implements Blas {

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final long VB = (long) L * Double.BYTES;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    private final Blas delegate;
    private final long slabAddress;
    private final long[] weightOffsets;
    private final int[] widths;
    private final int[] fanIns;
    /** W_k^T, (fanIn_k, H_k) row-major, per hidden layer k. */
    private final MemorySegment[] transposed;

    /**
     * @param delegate   computes what is not a row-exact product (transposed A, other alpha or beta, level 1)
     * @param parameters the model's parameters, whose weights are snapshotted (transposed) here
     * @param arena      holds the transposed weights; must outlive this object's use
     */
    public RowExactBlas(Blas delegate, Parameters parameters, Arena arena) {
        this.delegate = delegate;
        ParameterLayout layout = parameters.layout();
        MlpShape shape = layout.shape();
        MemorySegment slab = parameters.slab();
        slabAddress = slab.address();
        int layers = shape.layers();
        weightOffsets = new long[layers];
        widths = new int[layers];
        fanIns = new int[layers];
        transposed = new MemorySegment[layers];
        for (int k = 0; k < layers; k++) {
            int h = shape.width(k), f = shape.fanIn(k);
            widths[k] = h;
            fanIns[k] = f;
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

    // ------------------------------------------------------------------------------------------------ dgemm
    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      double beta, MemorySegment c, long cOff, int ldc) {
        if (transA || alpha != 1.0 || (beta != 0.0 && beta != 1.0)) {
            delegate.dgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        checkDgemm(transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (m == 0 || n == 0) return;
        boolean accumulate = beta == 1.0;
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) c.asSlice((cOff + (long) i * ldc) * Double.BYTES, (long) n * Double.BYTES).fill((byte) 0);
            }
            return;
        }
        if (transB) {
            int layer = weightLayer(b, bOff, n, k, ldb);
            if (layer < 0) {
                stridedProduct(m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc);
                return;
            }
            bOff = (bOff - weightOffsets[layer]) / k; // the first of the n columns of W_k^T
            b = transposed[layer];
            ldb = widths[layer];
        }
        product(m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc);
    }

    /**
     * The hidden layer whose weight W_k (H_k x fanIn_k, row-major in the slab) holds this transposed B operand, n of
     * its rows from a whole row on (all of them, or the columns of a {@link org.dtlm.nn.ColumnShare}), or -1.
     */
    private int weightLayer(MemorySegment b, long bOff, int n, int k, int ldb) {
        if (b.address() != slabAddress) return -1;
        for (int layer = 0; layer < weightOffsets.length; layer++) {
            long rel = bOff - weightOffsets[layer];
            if (k == fanIns[layer] && ldb == k && rel >= 0 && rel % k == 0 && rel / k + n <= widths[layer]) return layer;
        }
        return -1;
    }

    /**
     * C = A B + beta C for row-major A (m, k), B (k, n), C (m, n), beta 0 or 1: tiles of 6 rows x 2 or 1 vectors of
     * columns, then single rows in tiles of 10, 5, 4, 2 or 1 vectors; the remaining columns as interleaved scalar chains (6 rows
     * of a column, or 4 columns of a row). The tile changes the schedule, never an element's chain.
     */
    private static void product(int m, int n, int k, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff,
                                int ldb, boolean accumulate, MemorySegment c, long cOff, int ldc) {
        int vectorEnd = n - n % L;
        if (!accumulate) {
            // every chain starts from the element of C: zero it first (beta = 0 must not read what C held)
            for (int i = 0; i < m; i++) {
                long ci = cOff + (long) i * ldc;
                for (int j = 0; j < vectorEnd; j += L) DoubleVector.zero(S).intoMemorySegment(c, (ci + j) * Double.BYTES, NO);
                for (int j = vectorEnd; j < n; j++) c.setAtIndex(JAVA_DOUBLE, ci + j, 0.0);
            }
        }
        int i = 0;
        for (; i + 6 <= m; i += 6) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            int j = 0;
            for (; j + 2 * L <= vectorEnd; j += 2 * L) tile6x2(k, a, ai, lda, b, bOff + j, ldb, c, ci + j, ldc);
            for (; j + L <= vectorEnd; j += L) tile6x1(k, a, ai, lda, b, bOff + j, ldb, c, ci + j, ldc);
            for (j = vectorEnd; j < n; j++) column6(k, a, ai, lda, b, bOff + j, ldb, c, ci + j, ldc);
        }
        for (; i < m; i++) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            int j = 0;
            // tiles of 10 vectors, then the rest as 5s and 4s where it can be (13 = 5 + 4 + 4: no tile of fewer than
            // 4 vectors, whose few chains run latency-bound); 200 columns = 10 + 10 + 5 vectors
            int r = vectorEnd / L;
            for (; r >= 14 || r == 10; r -= 10, j += 10 * L) tile1x10(k, a, ai, b, bOff + j, ldb, c, ci + j);
            int fours = 4 * r % 5;
            if (4 * fours > r) fours = 0;
            for (int t = 0; t < fours; t++, j += 4 * L) tile1x4(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (; j + 5 * L <= vectorEnd; j += 5 * L) tile1x5(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (; j + 2 * L <= vectorEnd; j += 2 * L) tile1x2(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (; j + L <= vectorEnd; j += L) tile1x1(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (j = vectorEnd; j + 4 <= n; j += 4) columns4(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (; j < n; j++) column(k, a, ai, b, bOff + j, ldb, c, ci + j);
        }
    }

    /**
     * One row of each of two products with the same B (a value and its tangent), each element the same chain as in
     * {@link #dgemm}: whole vectors of columns in tiles of 2 rows x 5 or 4 vectors, whose loads of B serve both rows
     * (a pass over the weights costs about what one row's does: it is bound by the cache's bandwidth); other shapes as
     * two products.
     */
    @Override
    public void dgemmPair(boolean transB, int m, int n, int k, MemorySegment a1, long a1Off, MemorySegment a2,
                          long a2Off, int lda, MemorySegment b, long bOff, int ldb, double beta,
                          MemorySegment c1, long c1Off, MemorySegment c2, long c2Off, int ldc) {
        int vectors = (n - n % L) / L, fours = 4 * vectors % 5;
        boolean tiled = m == 1 && k > 0 && (beta == 0.0 || beta == 1.0) && 4 * fours <= vectors;
        int layer = tiled && transB ? weightLayer(b, bOff, n, k, ldb) : 0;
        if (!tiled || layer < 0) {
            Blas.super.dgemmPair(transB, m, n, k, a1, a1Off, a2, a2Off, lda, b, bOff, ldb, beta, c1, c1Off, c2, c2Off, ldc);
            return;
        }
        checkDgemm(transB, 1, n, k, a1, a1Off, lda, b, bOff, ldb, c1, c1Off, ldc);
        checkDgemm(transB, 1, n, k, a2, a2Off, lda, b, bOff, ldb, c2, c2Off, ldc);
        if (transB) {
            bOff = (bOff - weightOffsets[layer]) / k;
            b = transposed[layer];
            ldb = widths[layer];
        }
        if (beta == 0.0) {
            c1.asSlice(c1Off * Double.BYTES, (long) n * Double.BYTES).fill((byte) 0);
            c2.asSlice(c2Off * Double.BYTES, (long) n * Double.BYTES).fill((byte) 0);
        }
        int j = 0;
        for (int t = 0; t < fours; t++, j += 4 * L) tile2x4(k, a1, a1Off, a2, a2Off, b, bOff + j, ldb, c1, c1Off + j, c2, c2Off + j);
        for (; j + 5 * L <= vectors * L; j += 5 * L) tile2x5(k, a1, a1Off, a2, a2Off, b, bOff + j, ldb, c1, c1Off + j, c2, c2Off + j);
        for (; j < n; j++) {
            columnPair(k, a1, a1Off, a2, a2Off, b, bOff + j, ldb, c1, c1Off + j, c2, c2Off + j);
        }
    }

    /** One column of each of the two rows: 2 interleaved chains. */
    private static void columnPair(int k, MemorySegment a1, long a1i, MemorySegment a2, long a2i, MemorySegment b,
                                   long bj, int ldb, MemorySegment c1, long c1j, MemorySegment c2, long c2j) {
        double s = c1.getAtIndex(JAVA_DOUBLE, c1j), t = c2.getAtIndex(JAVA_DOUBLE, c2j);
        for (int p = 0; p < k; p++) {
            double bp = b.getAtIndex(JAVA_DOUBLE, bj + (long) p * ldb);
            s = Math.fma(a1.getAtIndex(JAVA_DOUBLE, a1i + p), bp, s);
            t = Math.fma(a2.getAtIndex(JAVA_DOUBLE, a2i + p), bp, t);
        }
        c1.setAtIndex(JAVA_DOUBLE, c1j, s);
        c2.setAtIndex(JAVA_DOUBLE, c2j, t);
    }

    // The tiles spell every vector operation out: a helper that takes or returns a vector, once not inlined into a
    // large caller, boxes it on the heap at every call.

    /** 6 rows x 2 vectors: 12 accumulators; per p, 2 loads of B shared by 6 broadcasts of A (measured best). */
    private static void tile6x2(int k, MemorySegment a, long ai, int lda, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci, int ldc) {
        long c0 = ci * Double.BYTES;
        long c1 = c0 + (long) ldc * Double.BYTES;
        long c2 = c1 + (long) ldc * Double.BYTES;
        long c3 = c2 + (long) ldc * Double.BYTES;
        long c4 = c3 + (long) ldc * Double.BYTES;
        long c5 = c4 + (long) ldc * Double.BYTES;
        DoubleVector s00 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s01 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        DoubleVector s10 = DoubleVector.fromMemorySegment(S, c, c1, NO);
        DoubleVector s11 = DoubleVector.fromMemorySegment(S, c, c1 + VB, NO);
        DoubleVector s20 = DoubleVector.fromMemorySegment(S, c, c2, NO);
        DoubleVector s21 = DoubleVector.fromMemorySegment(S, c, c2 + VB, NO);
        DoubleVector s30 = DoubleVector.fromMemorySegment(S, c, c3, NO);
        DoubleVector s31 = DoubleVector.fromMemorySegment(S, c, c3 + VB, NO);
        DoubleVector s40 = DoubleVector.fromMemorySegment(S, c, c4, NO);
        DoubleVector s41 = DoubleVector.fromMemorySegment(S, c, c4 + VB, NO);
        DoubleVector s50 = DoubleVector.fromMemorySegment(S, c, c5, NO);
        DoubleVector s51 = DoubleVector.fromMemorySegment(S, c, c5 + VB, NO);
        long a0 = ai;
        long a1 = a0 + lda;
        long a2 = a1 + lda;
        long a3 = a2 + lda;
        long a4 = a3 + lda;
        long a5 = a4 + lda;
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, bp, NO);
            DoubleVector b1 = DoubleVector.fromMemorySegment(S, b, bp + VB, NO);
            DoubleVector x0 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a0 + p));
            s00 = x0.fma(b0, s00);
            s01 = x0.fma(b1, s01);
            DoubleVector x1 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a1 + p));
            s10 = x1.fma(b0, s10);
            s11 = x1.fma(b1, s11);
            DoubleVector x2 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a2 + p));
            s20 = x2.fma(b0, s20);
            s21 = x2.fma(b1, s21);
            DoubleVector x3 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a3 + p));
            s30 = x3.fma(b0, s30);
            s31 = x3.fma(b1, s31);
            DoubleVector x4 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a4 + p));
            s40 = x4.fma(b0, s40);
            s41 = x4.fma(b1, s41);
            DoubleVector x5 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a5 + p));
            s50 = x5.fma(b0, s50);
            s51 = x5.fma(b1, s51);
        }
        s00.intoMemorySegment(c, c0, NO);
        s01.intoMemorySegment(c, c0 + VB, NO);
        s10.intoMemorySegment(c, c1, NO);
        s11.intoMemorySegment(c, c1 + VB, NO);
        s20.intoMemorySegment(c, c2, NO);
        s21.intoMemorySegment(c, c2 + VB, NO);
        s30.intoMemorySegment(c, c3, NO);
        s31.intoMemorySegment(c, c3 + VB, NO);
        s40.intoMemorySegment(c, c4, NO);
        s41.intoMemorySegment(c, c4 + VB, NO);
        s50.intoMemorySegment(c, c5, NO);
        s51.intoMemorySegment(c, c5 + VB, NO);
    }

    /** 6 rows x 1 vector. */
    private static void tile6x1(int k, MemorySegment a, long ai, int lda, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci, int ldc) {
        long c0 = ci * Double.BYTES;
        long c1 = c0 + (long) ldc * Double.BYTES;
        long c2 = c1 + (long) ldc * Double.BYTES;
        long c3 = c2 + (long) ldc * Double.BYTES;
        long c4 = c3 + (long) ldc * Double.BYTES;
        long c5 = c4 + (long) ldc * Double.BYTES;
        DoubleVector s00 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s10 = DoubleVector.fromMemorySegment(S, c, c1, NO);
        DoubleVector s20 = DoubleVector.fromMemorySegment(S, c, c2, NO);
        DoubleVector s30 = DoubleVector.fromMemorySegment(S, c, c3, NO);
        DoubleVector s40 = DoubleVector.fromMemorySegment(S, c, c4, NO);
        DoubleVector s50 = DoubleVector.fromMemorySegment(S, c, c5, NO);
        long a0 = ai;
        long a1 = a0 + lda;
        long a2 = a1 + lda;
        long a3 = a2 + lda;
        long a4 = a3 + lda;
        long a5 = a4 + lda;
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, bp, NO);
            DoubleVector x0 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a0 + p));
            s00 = x0.fma(b0, s00);
            DoubleVector x1 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a1 + p));
            s10 = x1.fma(b0, s10);
            DoubleVector x2 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a2 + p));
            s20 = x2.fma(b0, s20);
            DoubleVector x3 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a3 + p));
            s30 = x3.fma(b0, s30);
            DoubleVector x4 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a4 + p));
            s40 = x4.fma(b0, s40);
            DoubleVector x5 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a5 + p));
            s50 = x5.fma(b0, s50);
        }
        s00.intoMemorySegment(c, c0, NO);
        s10.intoMemorySegment(c, c1, NO);
        s20.intoMemorySegment(c, c2, NO);
        s30.intoMemorySegment(c, c3, NO);
        s40.intoMemorySegment(c, c4, NO);
        s50.intoMemorySegment(c, c5, NO);
    }

    /** 1 row x 10 vectors: enough independent chains to hide the latency of the fused multiply-add (200 = 5 x 40). */
    private static void tile1x10(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb,
                                 MemorySegment c, long ci) {
        long c0 = ci * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        DoubleVector s2 = DoubleVector.fromMemorySegment(S, c, c0 + 2 * VB, NO);
        DoubleVector s3 = DoubleVector.fromMemorySegment(S, c, c0 + 3 * VB, NO);
        DoubleVector s4 = DoubleVector.fromMemorySegment(S, c, c0 + 4 * VB, NO);
        DoubleVector s5 = DoubleVector.fromMemorySegment(S, c, c0 + 5 * VB, NO);
        DoubleVector s6 = DoubleVector.fromMemorySegment(S, c, c0 + 6 * VB, NO);
        DoubleVector s7 = DoubleVector.fromMemorySegment(S, c, c0 + 7 * VB, NO);
        DoubleVector s8 = DoubleVector.fromMemorySegment(S, c, c0 + 8 * VB, NO);
        DoubleVector s9 = DoubleVector.fromMemorySegment(S, c, c0 + 9 * VB, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, ai + p));
            s0 = x.fma(DoubleVector.fromMemorySegment(S, b, bp, NO), s0);
            s1 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + VB, NO), s1);
            s2 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 2 * VB, NO), s2);
            s3 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 3 * VB, NO), s3);
            s4 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 4 * VB, NO), s4);
            s5 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 5 * VB, NO), s5);
            s6 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 6 * VB, NO), s6);
            s7 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 7 * VB, NO), s7);
            s8 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 8 * VB, NO), s8);
            s9 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 9 * VB, NO), s9);
        }
        s0.intoMemorySegment(c, c0, NO);
        s1.intoMemorySegment(c, c0 + VB, NO);
        s2.intoMemorySegment(c, c0 + 2 * VB, NO);
        s3.intoMemorySegment(c, c0 + 3 * VB, NO);
        s4.intoMemorySegment(c, c0 + 4 * VB, NO);
        s5.intoMemorySegment(c, c0 + 5 * VB, NO);
        s6.intoMemorySegment(c, c0 + 6 * VB, NO);
        s7.intoMemorySegment(c, c0 + 7 * VB, NO);
        s8.intoMemorySegment(c, c0 + 8 * VB, NO);
        s9.intoMemorySegment(c, c0 + 9 * VB, NO);
    }

    /** 1 row x 5 vectors (the rest of a row of 200 = 25 vectors after two 1 x 10 tiles). */
    private static void tile1x5(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci) {
        long c0 = ci * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        DoubleVector s2 = DoubleVector.fromMemorySegment(S, c, c0 + 2 * VB, NO);
        DoubleVector s3 = DoubleVector.fromMemorySegment(S, c, c0 + 3 * VB, NO);
        DoubleVector s4 = DoubleVector.fromMemorySegment(S, c, c0 + 4 * VB, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, ai + p));
            s0 = x.fma(DoubleVector.fromMemorySegment(S, b, bp, NO), s0);
            s1 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + VB, NO), s1);
            s2 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 2 * VB, NO), s2);
            s3 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 3 * VB, NO), s3);
            s4 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 4 * VB, NO), s4);
        }
        s0.intoMemorySegment(c, c0, NO);
        s1.intoMemorySegment(c, c0 + VB, NO);
        s2.intoMemorySegment(c, c0 + 2 * VB, NO);
        s3.intoMemorySegment(c, c0 + 3 * VB, NO);
        s4.intoMemorySegment(c, c0 + 4 * VB, NO);
    }

    /** 1 row x 4 vectors. */
    private static void tile1x4(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci) {
        long c0 = ci * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        DoubleVector s2 = DoubleVector.fromMemorySegment(S, c, c0 + 2 * VB, NO);
        DoubleVector s3 = DoubleVector.fromMemorySegment(S, c, c0 + 3 * VB, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, ai + p));
            s0 = x.fma(DoubleVector.fromMemorySegment(S, b, bp, NO), s0);
            s1 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + VB, NO), s1);
            s2 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 2 * VB, NO), s2);
            s3 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + 3 * VB, NO), s3);
        }
        s0.intoMemorySegment(c, c0, NO);
        s1.intoMemorySegment(c, c0 + VB, NO);
        s2.intoMemorySegment(c, c0 + 2 * VB, NO);
        s3.intoMemorySegment(c, c0 + 3 * VB, NO);
    }

    /** 1 row x 2 vectors. */
    private static void tile1x2(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb,
                                 MemorySegment c, long ci) {
        long c0 = ci * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, ai + p));
            s0 = x.fma(DoubleVector.fromMemorySegment(S, b, bp, NO), s0);
            s1 = x.fma(DoubleVector.fromMemorySegment(S, b, bp + VB, NO), s1);
        }
        s0.intoMemorySegment(c, c0, NO);
        s1.intoMemorySegment(c, c0 + VB, NO);
    }

    /** 1 row x 1 vector. */
    private static void tile1x1(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb,
                                 MemorySegment c, long ci) {
        long c0 = ci * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, ai + p));
            s0 = x.fma(DoubleVector.fromMemorySegment(S, b, bp, NO), s0);
        }
        s0.intoMemorySegment(c, c0, NO);
    }

    /** 2 rows (A1, A2) x 5 vectors: 10 accumulators, each load of B shared by the two rows. */
    private static void tile2x5(int k, MemorySegment a1, long a1i, MemorySegment a2, long a2i, MemorySegment b, long bj,
                                 int ldb, MemorySegment c1, long c1i, MemorySegment c2, long c2i) {
        long x0 = c1i * Double.BYTES, y0 = c2i * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c1, x0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c1, x0 + VB, NO);
        DoubleVector s2 = DoubleVector.fromMemorySegment(S, c1, x0 + 2 * VB, NO);
        DoubleVector s3 = DoubleVector.fromMemorySegment(S, c1, x0 + 3 * VB, NO);
        DoubleVector s4 = DoubleVector.fromMemorySegment(S, c1, x0 + 4 * VB, NO);
        DoubleVector t0 = DoubleVector.fromMemorySegment(S, c2, y0, NO);
        DoubleVector t1 = DoubleVector.fromMemorySegment(S, c2, y0 + VB, NO);
        DoubleVector t2 = DoubleVector.fromMemorySegment(S, c2, y0 + 2 * VB, NO);
        DoubleVector t3 = DoubleVector.fromMemorySegment(S, c2, y0 + 3 * VB, NO);
        DoubleVector t4 = DoubleVector.fromMemorySegment(S, c2, y0 + 4 * VB, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a1.getAtIndex(JAVA_DOUBLE, a1i + p));
            DoubleVector y = DoubleVector.broadcast(S, a2.getAtIndex(JAVA_DOUBLE, a2i + p));
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, bp, NO);
            s0 = x.fma(b0, s0);
            t0 = y.fma(b0, t0);
            DoubleVector b1 = DoubleVector.fromMemorySegment(S, b, bp + VB, NO);
            s1 = x.fma(b1, s1);
            t1 = y.fma(b1, t1);
            DoubleVector b2 = DoubleVector.fromMemorySegment(S, b, bp + 2 * VB, NO);
            s2 = x.fma(b2, s2);
            t2 = y.fma(b2, t2);
            DoubleVector b3 = DoubleVector.fromMemorySegment(S, b, bp + 3 * VB, NO);
            s3 = x.fma(b3, s3);
            t3 = y.fma(b3, t3);
            DoubleVector b4 = DoubleVector.fromMemorySegment(S, b, bp + 4 * VB, NO);
            s4 = x.fma(b4, s4);
            t4 = y.fma(b4, t4);
        }
        s0.intoMemorySegment(c1, x0, NO);
        s1.intoMemorySegment(c1, x0 + VB, NO);
        s2.intoMemorySegment(c1, x0 + 2 * VB, NO);
        s3.intoMemorySegment(c1, x0 + 3 * VB, NO);
        s4.intoMemorySegment(c1, x0 + 4 * VB, NO);
        t0.intoMemorySegment(c2, y0, NO);
        t1.intoMemorySegment(c2, y0 + VB, NO);
        t2.intoMemorySegment(c2, y0 + 2 * VB, NO);
        t3.intoMemorySegment(c2, y0 + 3 * VB, NO);
        t4.intoMemorySegment(c2, y0 + 4 * VB, NO);
    }

    /** 2 rows (A1, A2) x 4 vectors: 8 accumulators, each load of B shared by the two rows. */
    private static void tile2x4(int k, MemorySegment a1, long a1i, MemorySegment a2, long a2i, MemorySegment b, long bj,
                                 int ldb, MemorySegment c1, long c1i, MemorySegment c2, long c2i) {
        long x0 = c1i * Double.BYTES, y0 = c2i * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c1, x0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c1, x0 + VB, NO);
        DoubleVector s2 = DoubleVector.fromMemorySegment(S, c1, x0 + 2 * VB, NO);
        DoubleVector s3 = DoubleVector.fromMemorySegment(S, c1, x0 + 3 * VB, NO);
        DoubleVector t0 = DoubleVector.fromMemorySegment(S, c2, y0, NO);
        DoubleVector t1 = DoubleVector.fromMemorySegment(S, c2, y0 + VB, NO);
        DoubleVector t2 = DoubleVector.fromMemorySegment(S, c2, y0 + 2 * VB, NO);
        DoubleVector t3 = DoubleVector.fromMemorySegment(S, c2, y0 + 3 * VB, NO);
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector x = DoubleVector.broadcast(S, a1.getAtIndex(JAVA_DOUBLE, a1i + p));
            DoubleVector y = DoubleVector.broadcast(S, a2.getAtIndex(JAVA_DOUBLE, a2i + p));
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, bp, NO);
            s0 = x.fma(b0, s0);
            t0 = y.fma(b0, t0);
            DoubleVector b1 = DoubleVector.fromMemorySegment(S, b, bp + VB, NO);
            s1 = x.fma(b1, s1);
            t1 = y.fma(b1, t1);
            DoubleVector b2 = DoubleVector.fromMemorySegment(S, b, bp + 2 * VB, NO);
            s2 = x.fma(b2, s2);
            t2 = y.fma(b2, t2);
            DoubleVector b3 = DoubleVector.fromMemorySegment(S, b, bp + 3 * VB, NO);
            s3 = x.fma(b3, s3);
            t3 = y.fma(b3, t3);
        }
        s0.intoMemorySegment(c1, x0, NO);
        s1.intoMemorySegment(c1, x0 + VB, NO);
        s2.intoMemorySegment(c1, x0 + 2 * VB, NO);
        s3.intoMemorySegment(c1, x0 + 3 * VB, NO);
        t0.intoMemorySegment(c2, y0, NO);
        t1.intoMemorySegment(c2, y0 + VB, NO);
        t2.intoMemorySegment(c2, y0 + 2 * VB, NO);
        t3.intoMemorySegment(c2, y0 + 3 * VB, NO);
    }

    // The columns beyond the last whole vector (all of them when n < L, e.g. the d columns of grad V = delta W_1): scalar
    // chains, several interleaved so that the fused multiply-add's latency is hidden (one chain alone runs at a quarter
    // of the rate).

    /** One column of 6 rows: 6 chains. */
    private static void column6(int k, MemorySegment a, long ai, int lda, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long cj, int ldc) {
        double s0 = c.getAtIndex(JAVA_DOUBLE, cj), s1 = c.getAtIndex(JAVA_DOUBLE, cj + ldc),
                s2 = c.getAtIndex(JAVA_DOUBLE, cj + 2L * ldc), s3 = c.getAtIndex(JAVA_DOUBLE, cj + 3L * ldc),
                s4 = c.getAtIndex(JAVA_DOUBLE, cj + 4L * ldc), s5 = c.getAtIndex(JAVA_DOUBLE, cj + 5L * ldc);
        for (int p = 0; p < k; p++) {
            double bp = b.getAtIndex(JAVA_DOUBLE, bj + (long) p * ldb);
            s0 = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + p), bp, s0);
            s1 = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + lda + p), bp, s1);
            s2 = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + 2L * lda + p), bp, s2);
            s3 = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + 3L * lda + p), bp, s3);
            s4 = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + 4L * lda + p), bp, s4);
            s5 = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + 5L * lda + p), bp, s5);
        }
        c.setAtIndex(JAVA_DOUBLE, cj, s0);
        c.setAtIndex(JAVA_DOUBLE, cj + ldc, s1);
        c.setAtIndex(JAVA_DOUBLE, cj + 2L * ldc, s2);
        c.setAtIndex(JAVA_DOUBLE, cj + 3L * ldc, s3);
        c.setAtIndex(JAVA_DOUBLE, cj + 4L * ldc, s4);
        c.setAtIndex(JAVA_DOUBLE, cj + 5L * ldc, s5);
    }

    /** Four columns of one row: 4 chains. */
    private static void columns4(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb,
                                 MemorySegment c, long cj) {
        double s0 = c.getAtIndex(JAVA_DOUBLE, cj), s1 = c.getAtIndex(JAVA_DOUBLE, cj + 1),
                s2 = c.getAtIndex(JAVA_DOUBLE, cj + 2), s3 = c.getAtIndex(JAVA_DOUBLE, cj + 3);
        for (int p = 0; p < k; p++) {
            double x = a.getAtIndex(JAVA_DOUBLE, ai + p);
            long bp = bj + (long) p * ldb;
            s0 = Math.fma(x, b.getAtIndex(JAVA_DOUBLE, bp), s0);
            s1 = Math.fma(x, b.getAtIndex(JAVA_DOUBLE, bp + 1), s1);
            s2 = Math.fma(x, b.getAtIndex(JAVA_DOUBLE, bp + 2), s2);
            s3 = Math.fma(x, b.getAtIndex(JAVA_DOUBLE, bp + 3), s3);
        }
        c.setAtIndex(JAVA_DOUBLE, cj, s0);
        c.setAtIndex(JAVA_DOUBLE, cj + 1, s1);
        c.setAtIndex(JAVA_DOUBLE, cj + 2, s2);
        c.setAtIndex(JAVA_DOUBLE, cj + 3, s3);
    }

    /** One column of one row: 1 chain. */
    private static void column(int k, MemorySegment a, long ai, MemorySegment b, long bj, int ldb, MemorySegment c,
                               long cj) {
        double s = c.getAtIndex(JAVA_DOUBLE, cj);
        for (int p = 0; p < k; p++) s = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + p), b.getAtIndex(JAVA_DOUBLE, bj + (long) p * ldb), s);
        c.setAtIndex(JAVA_DOUBLE, cj, s);
    }

    /** C = A B^T + beta C for a B^T that is not a cached weight (not used by rollouts): the same chains, strided. */
    private static void stridedProduct(int m, int n, int k, MemorySegment a, long aOff, int lda, MemorySegment b,
                                       long bOff, int ldb, boolean accumulate, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            for (int j = 0; j < n; j++) {
                long bj = bOff + (long) j * ldb;
                double s = accumulate ? c.getAtIndex(JAVA_DOUBLE, ci + j) : 0;
                for (int p = 0; p < k; p++) s = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + p), b.getAtIndex(JAVA_DOUBLE, bj + p), s);
                c.setAtIndex(JAVA_DOUBLE, ci + j, s);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ dgemv
    /**
     * y = A x for non-transposed A with unit strides, alpha 1 and beta 0 (V = tanh(a_L) w of a forward pass): each y_i
     * one fused multiply-add chain over j, four rows interleaved. Anything else is delegated.
     */
    @Override
    public void dgemv(boolean transA, int m, int n, double alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, int incx, double beta, MemorySegment y, long yOff, int incy) {
        if (transA || alpha != 1.0 || beta != 0.0 || incx != 1 || incy != 1) {
            delegate.dgemv(transA, m, n, alpha, a, aOff, lda, x, xOff, incx, beta, y, yOff, incy);
            return;
        }
        if (m < 0 || n < 0 || lda < Math.max(1, n)) {
            throw new IllegalArgumentException("dgemv: m = " + m + ", n = " + n + ", lda = " + lda);
        }
        if (m == 0) return;
        checkRange("dgemv", "a", a, aOff, (long) (m - 1) * lda + n);
        checkRange("dgemv", "x", x, xOff, n);
        checkRange("dgemv", "y", y, yOff, m);
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

    // ------------------------------------------------------------------------------------------------ checks
    private static void checkDgemm(boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda,
                                   MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (m < 0 || n < 0 || k < 0 || lda < Math.max(1, k) || ldb < Math.max(1, bCols) || ldc < Math.max(1, n)) {
            throw new IllegalArgumentException("dgemm: m = " + m + ", n = " + n + ", k = " + k + ", lda = " + lda
                    + ", ldb = " + ldb + ", ldc = " + ldc);
        }
        if (m == 0 || n == 0) return;
        if (k > 0) {
            checkRange("dgemm", "a", a, aOff, (long) (m - 1) * lda + k);
            checkRange("dgemm", "b", b, bOff, (long) (bRows - 1) * ldb + bCols);
        }
        checkRange("dgemm", "c", c, cOff, (long) (m - 1) * ldc + n);
    }

    private static void checkRange(String routine, String name, MemorySegment s, long off, long elements) {
        if (off < 0 || (off + elements) * Double.BYTES > s.byteSize()) {
            throw new IllegalArgumentException(routine + ": " + name + " needs elements " + off + " .. " + (off + elements)
                    + " of a segment of " + s.byteSize() / Double.BYTES + " doubles");
        }
    }

    // ------------------------------------------------------------------------------------------------ delegated
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
        return "row-exact products in Java (rollouts), else " + delegate.config();
    }
}
