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
 * The BLAS of a rollout's network passes: every product in Java, each element of the result computed by a sequence of
 * operations that depends only on k (and the vector length), never on m, the other rows, the tiling or the threads,
 * so that a trajectory's bits do not depend on the batch it rides in. Two sequences ({@code RowExactBlasTest} spells
 * both out with scalar {@code Math.fma}, STYLE 4):
 * <ul>
 * <li>streaming rows of B (C = A W^T of a forward pass, from the cached W^T; or a plain A B): one fused multiply-add
 *     chain over p = 0 .. k-1, starting from 0 (beta 0) or from the element of C (beta 1);</li>
 * <li>streaming rows of B^T (C = A W of a backward chain, again from the cached W^T; or A B^T): a dot product whose
 *     vector lanes accumulate by fused multiply-adds, the lanes summed in order, the tail of k, then C added.</li>
 * </ul>
 * Both read the same cached W^T, so a step streams one copy of each weight (a 200 x 200 matrix is half of a core's L2).
 *
 * <p>Why not OpenBLAS. Its dgemm computes most rows by a chain over p, but a row left alone in the tail of a thread's
 * partition goes through another kernel and another order (measured: m = 3, row 2; m = 20 on two threads, rows 4, 9,
 * 14, 19), so a trajectory's bits would depend on the batch; and with one or two rows it spends ~45 µs packing the
 * 200 x 200 weights for ~5 µs of arithmetic (bench/README.md, ## Rollouts).
 *
 * <p>The weights W_k of the model are transposed once, here (a snapshot: the model must not change while this is in
 * use). Products with a transposed A (training only), other alphas and betas, and the level-1 routines are delegated.
 * Stateless after construction but for a per-thread scratch of a few vectors: any number of threads may share it.
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
    /** Per thread: the accumulators of a dot-product tile, stored to be summed lane by lane (12 vectors). */
    private final ThreadLocal<MemorySegment> lanes =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(12L * VB, 64));

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
        int layer = weightLayer(b, bOff, transB, n, k, ldb);
        if (transB) {
            if (layer >= 0) {
                product(m, n, k, a, aOff, lda, transposed[layer], 0, n, accumulate, c, cOff, ldc); // rows p of W^T
            } else {
                dotProduct(m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc);         // rows j of B
            }
        } else {
            if (layer >= 0) {
                dotProduct(m, n, k, a, aOff, lda, transposed[layer], 0, k, accumulate, c, cOff, ldc); // rows j of W^T
            } else {
                product(m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc);
            }
        }
    }

    /**
     * The hidden layer whose weight W_k (H_k x fanIn_k, row-major in the slab) is this B operand, as W_k^T (transB:
     * n = H_k, k = fanIn_k) or as W_k (n = fanIn_k, k = H_k), or -1. Either way the product reads only the cached
     * W_k^T, so that a step streams one copy of each weight (a 200 x 200 matrix fills half of a core's L2).
     */
    private int weightLayer(MemorySegment b, long bOff, boolean transB, int n, int k, int ldb) {
        if (b.address() != slabAddress) return -1;
        for (int layer = 0; layer < weightOffsets.length; layer++) {
            int fanIn = fanIns[layer], width = widths[layer];
            boolean shape = transB ? n == width && k == fanIn : n == fanIn && k == width;
            if (weightOffsets[layer] == bOff && shape && ldb == fanIn) return layer;
        }
        return -1;
    }

    /**
     * C = A B + beta C for row-major A (m, k), B (k, n), C (m, n), beta 0 or 1: tiles of 4 rows x 3, 2 or 1 vectors
     * of columns, then single rows in tiles of 10, 2 or 1 vectors, then scalar columns; the tile changes the schedule,
     * never an element's chain.
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
        for (; i + 4 <= m; i += 4) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            int j = 0;
            for (; j + 3 * L <= vectorEnd; j += 3 * L) tile4x3(k, a, ai, lda, b, bOff + j, ldb, c, ci + j, ldc);
            for (; j + 2 * L <= vectorEnd; j += 2 * L) tile4x2(k, a, ai, lda, b, bOff + j, ldb, c, ci + j, ldc);
            for (; j + L <= vectorEnd; j += L) tile4x1(k, a, ai, lda, b, bOff + j, ldb, c, ci + j, ldc);
            for (int r = 0; r < 4; r++) scalarColumns(vectorEnd, n, k, a, ai + (long) r * lda, b, bOff, ldb, c, ci + (long) r * ldc);
        }
        for (; i < m; i++) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            int j = 0;
            for (; j + 10 * L <= vectorEnd; j += 10 * L) tile1x10(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (; j + 2 * L <= vectorEnd; j += 2 * L) tile1x2(k, a, ai, b, bOff + j, ldb, c, ci + j);
            for (; j + L <= vectorEnd; j += L) tile1x1(k, a, ai, b, bOff + j, ldb, c, ci + j);
            scalarColumns(vectorEnd, n, k, a, ai, b, bOff, ldb, c, ci);
        }
    }

    // The tiles spell every vector operation out: a helper that takes or returns a vector, once not inlined into a
    // large caller, boxes it on the heap at every call.

    /** 4 rows x 3 vectors: 12 accumulators; per p, 3 loads of B shared by 4 broadcasts of A. */
    private static void tile4x3(int k, MemorySegment a, long ai, int lda, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci, int ldc) {
        long c0 = ci * Double.BYTES, c1 = c0 + (long) ldc * Double.BYTES, c2 = c1 + (long) ldc * Double.BYTES,
                c3 = c2 + (long) ldc * Double.BYTES;
        DoubleVector s00 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s01 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        DoubleVector s02 = DoubleVector.fromMemorySegment(S, c, c0 + 2 * VB, NO);
        DoubleVector s10 = DoubleVector.fromMemorySegment(S, c, c1, NO);
        DoubleVector s11 = DoubleVector.fromMemorySegment(S, c, c1 + VB, NO);
        DoubleVector s12 = DoubleVector.fromMemorySegment(S, c, c1 + 2 * VB, NO);
        DoubleVector s20 = DoubleVector.fromMemorySegment(S, c, c2, NO);
        DoubleVector s21 = DoubleVector.fromMemorySegment(S, c, c2 + VB, NO);
        DoubleVector s22 = DoubleVector.fromMemorySegment(S, c, c2 + 2 * VB, NO);
        DoubleVector s30 = DoubleVector.fromMemorySegment(S, c, c3, NO);
        DoubleVector s31 = DoubleVector.fromMemorySegment(S, c, c3 + VB, NO);
        DoubleVector s32 = DoubleVector.fromMemorySegment(S, c, c3 + 2 * VB, NO);
        long a0 = ai, a1 = ai + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, bp, NO);
            DoubleVector b1 = DoubleVector.fromMemorySegment(S, b, bp + VB, NO);
            DoubleVector b2 = DoubleVector.fromMemorySegment(S, b, bp + 2 * VB, NO);
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a0 + p));
            s00 = x.fma(b0, s00);
            s01 = x.fma(b1, s01);
            s02 = x.fma(b2, s02);
            x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a1 + p));
            s10 = x.fma(b0, s10);
            s11 = x.fma(b1, s11);
            s12 = x.fma(b2, s12);
            x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a2 + p));
            s20 = x.fma(b0, s20);
            s21 = x.fma(b1, s21);
            s22 = x.fma(b2, s22);
            x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a3 + p));
            s30 = x.fma(b0, s30);
            s31 = x.fma(b1, s31);
            s32 = x.fma(b2, s32);
        }
        s00.intoMemorySegment(c, c0, NO);
        s01.intoMemorySegment(c, c0 + VB, NO);
        s02.intoMemorySegment(c, c0 + 2 * VB, NO);
        s10.intoMemorySegment(c, c1, NO);
        s11.intoMemorySegment(c, c1 + VB, NO);
        s12.intoMemorySegment(c, c1 + 2 * VB, NO);
        s20.intoMemorySegment(c, c2, NO);
        s21.intoMemorySegment(c, c2 + VB, NO);
        s22.intoMemorySegment(c, c2 + 2 * VB, NO);
        s30.intoMemorySegment(c, c3, NO);
        s31.intoMemorySegment(c, c3 + VB, NO);
        s32.intoMemorySegment(c, c3 + 2 * VB, NO);
    }

    /** 4 rows x 2 vectors. */
    private static void tile4x2(int k, MemorySegment a, long ai, int lda, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci, int ldc) {
        long c0 = ci * Double.BYTES, c1 = c0 + (long) ldc * Double.BYTES, c2 = c1 + (long) ldc * Double.BYTES,
                c3 = c2 + (long) ldc * Double.BYTES;
        DoubleVector s00 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s01 = DoubleVector.fromMemorySegment(S, c, c0 + VB, NO);
        DoubleVector s10 = DoubleVector.fromMemorySegment(S, c, c1, NO);
        DoubleVector s11 = DoubleVector.fromMemorySegment(S, c, c1 + VB, NO);
        DoubleVector s20 = DoubleVector.fromMemorySegment(S, c, c2, NO);
        DoubleVector s21 = DoubleVector.fromMemorySegment(S, c, c2 + VB, NO);
        DoubleVector s30 = DoubleVector.fromMemorySegment(S, c, c3, NO);
        DoubleVector s31 = DoubleVector.fromMemorySegment(S, c, c3 + VB, NO);
        long a0 = ai, a1 = ai + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (int p = 0; p < k; p++) {
            long bp = (bj + (long) p * ldb) * Double.BYTES;
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, bp, NO);
            DoubleVector b1 = DoubleVector.fromMemorySegment(S, b, bp + VB, NO);
            DoubleVector x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a0 + p));
            s00 = x.fma(b0, s00);
            s01 = x.fma(b1, s01);
            x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a1 + p));
            s10 = x.fma(b0, s10);
            s11 = x.fma(b1, s11);
            x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a2 + p));
            s20 = x.fma(b0, s20);
            s21 = x.fma(b1, s21);
            x = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a3 + p));
            s30 = x.fma(b0, s30);
            s31 = x.fma(b1, s31);
        }
        s00.intoMemorySegment(c, c0, NO);
        s01.intoMemorySegment(c, c0 + VB, NO);
        s10.intoMemorySegment(c, c1, NO);
        s11.intoMemorySegment(c, c1 + VB, NO);
        s20.intoMemorySegment(c, c2, NO);
        s21.intoMemorySegment(c, c2 + VB, NO);
        s30.intoMemorySegment(c, c3, NO);
        s31.intoMemorySegment(c, c3 + VB, NO);
    }

    /** 4 rows x 1 vector. */
    private static void tile4x1(int k, MemorySegment a, long ai, int lda, MemorySegment b, long bj, int ldb,
                                MemorySegment c, long ci, int ldc) {
        long c0 = ci * Double.BYTES, c1 = c0 + (long) ldc * Double.BYTES, c2 = c1 + (long) ldc * Double.BYTES,
                c3 = c2 + (long) ldc * Double.BYTES;
        DoubleVector s0 = DoubleVector.fromMemorySegment(S, c, c0, NO);
        DoubleVector s1 = DoubleVector.fromMemorySegment(S, c, c1, NO);
        DoubleVector s2 = DoubleVector.fromMemorySegment(S, c, c2, NO);
        DoubleVector s3 = DoubleVector.fromMemorySegment(S, c, c3, NO);
        long a0 = ai, a1 = ai + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (int p = 0; p < k; p++) {
            DoubleVector b0 = DoubleVector.fromMemorySegment(S, b, (bj + (long) p * ldb) * Double.BYTES, NO);
            s0 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a0 + p)).fma(b0, s0);
            s1 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a1 + p)).fma(b0, s1);
            s2 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a2 + p)).fma(b0, s2);
            s3 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, a3 + p)).fma(b0, s3);
        }
        s0.intoMemorySegment(c, c0, NO);
        s1.intoMemorySegment(c, c1, NO);
        s2.intoMemorySegment(c, c2, NO);
        s3.intoMemorySegment(c, c3, NO);
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
            s0 = DoubleVector.broadcast(S, a.getAtIndex(JAVA_DOUBLE, ai + p))
                    .fma(DoubleVector.fromMemorySegment(S, b, (bj + (long) p * ldb) * Double.BYTES, NO), s0);
        }
        s0.intoMemorySegment(c, c0, NO);
    }

    /** Columns from .. n - 1 of one row, one scalar chain each. */
    private static void scalarColumns(int from, int n, int k, MemorySegment a, long ai, MemorySegment b, long bOff,
                                      int ldb, MemorySegment c, long ci) {
        for (int j = from; j < n; j++) {
            double s = c.getAtIndex(JAVA_DOUBLE, ci + j);
            for (int p = 0; p < k; p++) {
                s = Math.fma(a.getAtIndex(JAVA_DOUBLE, ai + p), b.getAtIndex(JAVA_DOUBLE, bOff + (long) p * ldb + j), s);
            }
            c.setAtIndex(JAVA_DOUBLE, ci + j, s);
        }
    }

    /**
     * C = A R^T + beta C for row-major A (m, k), R (n, k) (rows of R contiguous), C (m, n), beta 0 or 1: each element a
     * dot product whose vector lanes accumulate p = l, l + L, ... by fused multiply-adds, then the lanes are summed
     * in order, the tail p >= k - k % L follows by fused multiply-adds, and C is added last. Tiles of 4 rows x 3 or 1
     * outputs, then single rows in tiles of 8 or 1 outputs; as with {@link #product}, the tile never changes an
     * element's operations.
     */
    private void dotProduct(int m, int n, int k, MemorySegment a, long aOff, int lda, MemorySegment r, long rOff,
                            int ldr, boolean accumulate, MemorySegment c, long cOff, int ldc) {
        MemorySegment lanes = this.lanes.get();
        int kv = k - k % L;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            int j = 0;
            for (; j + 3 <= n; j += 3) dot4x3(k, kv, a, ai, lda, r, rOff + (long) j * ldr, ldr, accumulate, c, ci + j, ldc, lanes);
            for (; j < n; j++) {
                for (int row = 0; row < 4; row++) {
                    dot1x1(k, kv, a, ai + (long) row * lda, r, rOff + (long) j * ldr, accumulate, c, ci + (long) row * ldc + j,
                            lanes);
                }
            }
        }
        for (; i < m; i++) {
            long ai = aOff + (long) i * lda, ci = cOff + (long) i * ldc;
            int j = 0;
            for (; j + 8 <= n; j += 8) dot1x8(k, kv, a, ai, r, rOff + (long) j * ldr, ldr, accumulate, c, ci + j, lanes);
            for (; j < n; j++) dot1x1(k, kv, a, ai, r, rOff + (long) j * ldr, accumulate, c, ci + j, lanes);
        }
    }

    /**
     * The end of {@code count} elements of {@link #dotProduct} whose accumulators were stored in {@code lanes}
     * (L values each, in order): the lanes summed in lane order, the tail of k, then C. Element t is row
     * {@code ai + (t / per) lda} of A, row {@code rj + (t % per) ldr} of R, at {@code ci + (t / per) ldc + t % per}.
     */
    private static void finishDots(MemorySegment lanes, int count, int per, int k, int kv, MemorySegment a, long ai,
                                   int lda, MemorySegment r, long rj, int ldr, boolean accumulate, MemorySegment c,
                                   long ci, int ldc) {
        for (int t = 0; t < count; t++) {
            double s = lanes.getAtIndex(JAVA_DOUBLE, (long) t * L);
            for (int l = 1; l < L; l++) s += lanes.getAtIndex(JAVA_DOUBLE, (long) t * L + l);
            long at = ai + (long) (t / per) * lda, rt = rj + (long) (t % per) * ldr;
            for (int p = kv; p < k; p++) s = Math.fma(a.getAtIndex(JAVA_DOUBLE, at + p), r.getAtIndex(JAVA_DOUBLE, rt + p), s);
            long cij = ci + (long) (t / per) * ldc + t % per;
            c.setAtIndex(JAVA_DOUBLE, cij, accumulate ? c.getAtIndex(JAVA_DOUBLE, cij) + s : s);
        }
    }

    /** 4 rows x 3 outputs: 12 accumulators; per chunk of L values of p, 4 loads of A and 3 of R. */
    private static void dot4x3(int k, int kv, MemorySegment a, long ai, int lda, MemorySegment r, long rj, int ldr,
                               boolean accumulate, MemorySegment c, long ci, int ldc, MemorySegment lanes) {
        DoubleVector s00 = DoubleVector.zero(S), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00,
                s20 = s00, s21 = s00, s22 = s00, s30 = s00, s31 = s00, s32 = s00;
        long a0 = ai * Double.BYTES, a1 = a0 + (long) lda * Double.BYTES, a2 = a1 + (long) lda * Double.BYTES,
                a3 = a2 + (long) lda * Double.BYTES;
        long r0 = rj * Double.BYTES, r1 = r0 + (long) ldr * Double.BYTES, r2 = r1 + (long) ldr * Double.BYTES;
        for (int p = 0; p < kv; p += L) {
            long o = (long) p * Double.BYTES;
            DoubleVector w0 = DoubleVector.fromMemorySegment(S, r, r0 + o, NO);
            DoubleVector w1 = DoubleVector.fromMemorySegment(S, r, r1 + o, NO);
            DoubleVector w2 = DoubleVector.fromMemorySegment(S, r, r2 + o, NO);
            DoubleVector x = DoubleVector.fromMemorySegment(S, a, a0 + o, NO);
            s00 = x.fma(w0, s00);
            s01 = x.fma(w1, s01);
            s02 = x.fma(w2, s02);
            x = DoubleVector.fromMemorySegment(S, a, a1 + o, NO);
            s10 = x.fma(w0, s10);
            s11 = x.fma(w1, s11);
            s12 = x.fma(w2, s12);
            x = DoubleVector.fromMemorySegment(S, a, a2 + o, NO);
            s20 = x.fma(w0, s20);
            s21 = x.fma(w1, s21);
            s22 = x.fma(w2, s22);
            x = DoubleVector.fromMemorySegment(S, a, a3 + o, NO);
            s30 = x.fma(w0, s30);
            s31 = x.fma(w1, s31);
            s32 = x.fma(w2, s32);
        }
        s00.intoMemorySegment(lanes, 0, NO);
        s01.intoMemorySegment(lanes, VB, NO);
        s02.intoMemorySegment(lanes, 2 * VB, NO);
        s10.intoMemorySegment(lanes, 3 * VB, NO);
        s11.intoMemorySegment(lanes, 4 * VB, NO);
        s12.intoMemorySegment(lanes, 5 * VB, NO);
        s20.intoMemorySegment(lanes, 6 * VB, NO);
        s21.intoMemorySegment(lanes, 7 * VB, NO);
        s22.intoMemorySegment(lanes, 8 * VB, NO);
        s30.intoMemorySegment(lanes, 9 * VB, NO);
        s31.intoMemorySegment(lanes, 10 * VB, NO);
        s32.intoMemorySegment(lanes, 11 * VB, NO);
        finishDots(lanes, 12, 3, k, kv, a, ai, lda, r, rj, ldr, accumulate, c, ci, ldc);
    }

    /** 1 row x 8 outputs: 8 independent chains hide the latency of the fused multiply-add. */
    private static void dot1x8(int k, int kv, MemorySegment a, long ai, MemorySegment r, long rj, int ldr,
                               boolean accumulate, MemorySegment c, long ci, MemorySegment lanes) {
        DoubleVector s0 = DoubleVector.zero(S), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        long a0 = ai * Double.BYTES, stride = (long) ldr * Double.BYTES, r0 = rj * Double.BYTES;
        for (int p = 0; p < kv; p += L) {
            long o = (long) p * Double.BYTES, q = r0 + o;
            DoubleVector x = DoubleVector.fromMemorySegment(S, a, a0 + o, NO);
            s0 = x.fma(DoubleVector.fromMemorySegment(S, r, q, NO), s0);
            s1 = x.fma(DoubleVector.fromMemorySegment(S, r, q + stride, NO), s1);
            s2 = x.fma(DoubleVector.fromMemorySegment(S, r, q + 2 * stride, NO), s2);
            s3 = x.fma(DoubleVector.fromMemorySegment(S, r, q + 3 * stride, NO), s3);
            s4 = x.fma(DoubleVector.fromMemorySegment(S, r, q + 4 * stride, NO), s4);
            s5 = x.fma(DoubleVector.fromMemorySegment(S, r, q + 5 * stride, NO), s5);
            s6 = x.fma(DoubleVector.fromMemorySegment(S, r, q + 6 * stride, NO), s6);
            s7 = x.fma(DoubleVector.fromMemorySegment(S, r, q + 7 * stride, NO), s7);
        }
        s0.intoMemorySegment(lanes, 0, NO);
        s1.intoMemorySegment(lanes, VB, NO);
        s2.intoMemorySegment(lanes, 2 * VB, NO);
        s3.intoMemorySegment(lanes, 3 * VB, NO);
        s4.intoMemorySegment(lanes, 4 * VB, NO);
        s5.intoMemorySegment(lanes, 5 * VB, NO);
        s6.intoMemorySegment(lanes, 6 * VB, NO);
        s7.intoMemorySegment(lanes, 7 * VB, NO);
        finishDots(lanes, 8, 8, k, kv, a, ai, 0, r, rj, ldr, accumulate, c, ci, 0);
    }

    /** 1 row x 1 output. */
    private static void dot1x1(int k, int kv, MemorySegment a, long ai, MemorySegment r, long rj,
                               boolean accumulate, MemorySegment c, long cij, MemorySegment lanes) {
        DoubleVector s0 = DoubleVector.zero(S);
        for (int p = 0; p < kv; p += L) {
            long o = (long) p * Double.BYTES;
            s0 = DoubleVector.fromMemorySegment(S, a, ai * Double.BYTES + o, NO)
                    .fma(DoubleVector.fromMemorySegment(S, r, rj * Double.BYTES + o, NO), s0);
        }
        s0.intoMemorySegment(lanes, 0, NO);
        finishDots(lanes, 1, 1, k, kv, a, ai, 0, r, rj, 0, accumulate, c, cij, 0);
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
