package org.dtlm.rollout;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.random.RandomGenerator;

import org.dtlm.blas.Blas;
import org.dtlm.blas.JavaBlas;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every product of {@link RowExactBlas} is, element by element, one Math.fma chain: the oracle here (STYLE 4, 9). */
class RowExactBlasTest {
    /** Delegated products are the delegate's: checked loosely, against the Java reference BLAS. */
    private static final double DELEGATED_TOLERANCE = 1e-12;

    private final Arena arena = Arena.ofConfined();
    private final RandomGenerator rng = Init.random(17);

    @AfterEach
    void close() {
        arena.close();
    }

    private MemorySegment random(long n) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, n);
        for (long i = 0; i < n; i++) s.setAtIndex(JAVA_DOUBLE, i, rng.nextGaussian());
        return s;
    }

    private static MemorySegment copy(MemorySegment s, Arena arena) {
        MemorySegment c = arena.allocate(s.byteSize(), 8);
        c.copyFrom(s);
        return c;
    }

    /** The chain oracle: c_ij = fma chain over p of a_ip b_pj from c_ij (beta 1) or 0 (beta 0); b(p, j) via bIndex. */
    private static void reference(int m, int n, int k, MemorySegment a, int lda, java.util.function.IntBinaryOperator bIndex,
                                  MemorySegment b, boolean accumulate, MemorySegment c, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = accumulate ? c.getAtIndex(JAVA_DOUBLE, (long) i * ldc + j) : 0;
                for (int p = 0; p < k; p++) {
                    s = Math.fma(a.getAtIndex(JAVA_DOUBLE, (long) i * lda + p), b.getAtIndex(JAVA_DOUBLE, bIndex.applyAsInt(p, j)), s);
                }
                c.setAtIndex(JAVA_DOUBLE, (long) i * ldc + j, s);
            }
        }
    }

    private static void assertBitEqual(MemorySegment want, MemorySegment got, long n, String what) {
        for (long i = 0; i < n; i++) {
            assertEquals(Double.doubleToRawLongBits(want.getAtIndex(JAVA_DOUBLE, i)),
                    Double.doubleToRawLongBits(got.getAtIndex(JAVA_DOUBLE, i)), what + ": element " + i);
        }
    }

    @Test
    void everyProductOfANetworkPassIsTheFusedChainOfEachElement() {
        for (int d : new int[]{1, 4}) {
            MlpShape shape = MlpShape.of(d, 200, 200);
            ParameterLayout layout = new ParameterLayout(shape, 0);
            Parameters p = Parameters.allocate(layout, arena);
            Init.orthogonal(p, 3);
            RowExactBlas blas = new RowExactBlas(new JavaBlas(), p, arena);
            MemorySegment slab = p.slab();
            int w0 = (int) layout.weight(0), w1 = (int) layout.weight(1);
            for (int m : new int[]{1, 2, 5, 6, 7, 13, 33}) {
                for (boolean accumulate : new boolean[]{false, true}) {
                    // forward layer 1: (m, d) x W1^T; layer 2: (m, 200) x W2^T; chain: (m, 200) x W2; gradient: (m, 200) x W1
                    check(blas, "x W1^T", m, 200, d, true, slab, w0, d, (q, j) -> w0 + j * d + q, accumulate);
                    check(blas, "h W2^T", m, 200, 200, true, slab, w1, 200, (q, j) -> w1 + j * 200 + q, accumulate);
                    check(blas, "delta W2", m, 200, 200, false, slab, w1, 200, (q, j) -> w1 + q * 200 + j, accumulate);
                    check(blas, "delta W1", m, d, 200, false, slab, w0, d, (q, j) -> w0 + q * d + j, accumulate);
                    // the two shares of a column split (ColumnShare): columns 0 .. 95 and 96 .. 199
                    for (int j0 : new int[]{0, 96}) {
                        int cols = j0 == 0 ? 96 : 104, at = j0;
                        check(blas, "x W1^T, columns from " + j0, m, cols, d, true, slab, w0 + j0 * d, d,
                                (q, j) -> w0 + (at + j) * d + q, accumulate);
                        check(blas, "h W2^T, columns from " + j0, m, cols, 200, true, slab, w1 + j0 * 200, 200,
                                (q, j) -> w1 + (at + j) * 200 + q, accumulate);
                        check(blas, "delta W2, columns from " + j0, m, cols, 200, false, slab, w1 + j0, 200,
                                (q, j) -> w1 + q * 200 + at + j, accumulate);
                    }
                }
            }
        }
    }

    private void check(RowExactBlas blas, String what, int m, int n, int k, boolean transB, MemorySegment b, long bOff,
                       int ldb, java.util.function.IntBinaryOperator bIndex, boolean accumulate) {
        MemorySegment a = random((long) m * k), c = random((long) m * n);
        MemorySegment want = copy(c, arena);
        reference(m, n, k, a, k, bIndex, b, accumulate, want, n);
        blas.dgemm(false, transB, m, n, k, 1.0, a, 0, k, b, bOff, ldb, accumulate ? 1.0 : 0.0, c, 0, n);
        assertBitEqual(want, c, (long) m * n, what + ", m = " + m + (accumulate ? ", beta 1" : ", beta 0"));
    }

    @Test
    void aPairOfProductsIsTheTwoProducts() {
        for (int d : new int[]{1, 4}) {
            ParameterLayout layout = new ParameterLayout(MlpShape.of(d, 200, 200), 0);
            Parameters p = Parameters.allocate(layout, arena);
            Init.orthogonal(p, 7);
            RowExactBlas blas = new RowExactBlas(new JavaBlas(), p, arena);
            int w0 = (int) layout.weight(0), w1 = (int) layout.weight(1);
            // (transB, n, k, B offset, ldb): forward layers 1 and 2, their column shares, the chain, its d columns
            int[][] shapes = {{1, 200, d, w0, d}, {1, 200, 200, w1, 200}, {1, 104, 200, w1 + 96 * 200, 200},
                    {0, 200, 200, w1, 200}, {0, 96, 200, w1, 200}, {0, d, 200, w0, d}};
            for (int[] q : shapes) {
                boolean transB = q[0] == 1;
                int n = q[1], k = q[2];
                for (int m : new int[]{1, 3}) {
                    for (double beta : new double[]{0.0, 1.0}) {
                        MemorySegment a1 = random((long) m * k), a2 = random((long) m * k);
                        MemorySegment c1 = random((long) m * n), c2 = random((long) m * n);
                        MemorySegment want1 = copy(c1, arena), want2 = copy(c2, arena);
                        blas.dgemm(false, transB, m, n, k, 1.0, a1, 0, k, p.slab(), q[3], q[4], beta, want1, 0, n);
                        blas.dgemm(false, transB, m, n, k, 1.0, a2, 0, k, p.slab(), q[3], q[4], beta, want2, 0, n);
                        blas.dgemmPair(transB, m, n, k, a1, 0, a2, 0, k, p.slab(), q[3], q[4], beta, c1, 0, c2, 0, n);
                        String what = "d = " + d + ", transB " + transB + ", n = " + n + ", k = " + k + ", m = " + m
                                + ", beta " + beta;
                        assertBitEqual(want1, c1, (long) m * n, what + ": C1");
                        assertBitEqual(want2, c2, (long) m * n, what + ": C2");
                    }
                }
            }
        }
    }

    @Test
    void theTangentComputedInTheResidualsPassesIsTheTangentPass() {
        for (int d : new int[]{1, 4}) {
            ParameterLayout layout = new ParameterLayout(MlpShape.of(d, 200, 200), 0);
            Parameters p = Parameters.allocate(layout, arena);
            Init.orthogonal(p, 8);
            org.dtlm.nn.Mlp mlp = new org.dtlm.nn.Mlp(layout, new RowExactBlas(new JavaBlas(), p, arena));
            for (int n : new int[]{1, 3}) {
                MemorySegment y = random((long) n * d), x = random((long) n * d), xDot = random((long) n * d);
                MemorySegment g = arena.allocate(JAVA_DOUBLE, (long) n * d), gDot = arena.allocate(JAVA_DOUBLE, (long) n * d);
                MemorySegment g2 = arena.allocate(JAVA_DOUBLE, (long) n * d), gDot2 = arena.allocate(JAVA_DOUBLE, (long) n * d);
                try (org.dtlm.nn.Workspace w = new org.dtlm.nn.Workspace(layout.shape(), 2 * n, n)) {
                    // apart: forward of y (rows 0..n-1) and x (rows n..2n-1), DG with partials, then the tangent pass
                    mlp.forwardLayers(w, p, y, 0, 0, n);
                    mlp.forwardLayers(w, p, x, 0, n, n);
                    mlp.discreteGradient(w, p, n, 0, n, g, 0, true);
                    mlp.chainTangent(w, p, n, n, xDot, 0, gDot, 0);
                    // together: the forward of x with its tangent, then DG with gDot
                    mlp.forwardLayers(w, p, x, 0, n, n, xDot, 0);
                    mlp.discreteGradient(w, p, n, 0, n, g2, 0, true, gDot2, 0);
                }
                assertBitEqual(g, g2, (long) n * d, "d = " + d + ", n = " + n + ": DG");
                assertBitEqual(gDot, gDot2, (long) n * d, "d = " + d + ", n = " + n + ": its tangent");
            }
        }
    }

    @Test
    void aRowHasTheSameBitsAloneAsInABatch() {
        Parameters p = Parameters.allocate(new ParameterLayout(MlpShape.of(3, 200, 200), 0), arena);
        Init.orthogonal(p, 5);
        RowExactBlas blas = new RowExactBlas(new JavaBlas(), p, arena);
        long w = p.layout().weight(1);
        int m = 23;
        MemorySegment a = random(m * 200L), all = arena.allocate(JAVA_DOUBLE, m * 200L), one = arena.allocate(JAVA_DOUBLE, 200);
        blas.dgemm(false, true, m, 200, 200, 1.0, a, 0, 200, p.slab(), w, 200, 0.0, all, 0, 200);
        for (int i = 0; i < m; i++) {
            blas.dgemm(false, true, 1, 200, 200, 1.0, a, i * 200L, 200, p.slab(), w, 200, 0.0, one, 0, 200);
            assertBitEqual(all.asSlice(i * 200L * Double.BYTES, 200L * Double.BYTES), one, 200, "row " + i);
        }
    }

    @Test
    void aTransposedOperandOtherThanAWeightIsReadWithItsStride() {
        Parameters p = Parameters.allocate(new ParameterLayout(MlpShape.of(2, 8), 0), arena);
        RowExactBlas blas = new RowExactBlas(new JavaBlas(), p, arena);
        int m = 6, n = 9, k = 13, ldb = 15;
        MemorySegment a = random((long) m * k), b = random((long) n * ldb), c = random((long) m * n);
        MemorySegment want = copy(c, arena);
        reference(m, n, k, a, k, (q, j) -> j * ldb + q, b, true, want, n);
        blas.dgemm(false, true, m, n, k, 1.0, a, 0, k, b, 0, ldb, 1.0, c, 0, n);
        assertBitEqual(want, c, (long) m * n, "A B^T, B not a weight");
    }

    @Test
    void betaZeroDoesNotReadTheOutput() {
        Parameters p = Parameters.allocate(new ParameterLayout(MlpShape.of(2, 8), 0), arena);
        RowExactBlas blas = new RowExactBlas(new JavaBlas(), p, arena);
        MemorySegment a = random(5 * 7), b = random(7 * 9), c = arena.allocate(JAVA_DOUBLE, 5 * 9);
        c.fill((byte) 0xff); // NaN everywhere
        blas.dgemm(false, false, 5, 9, 7, 1.0, a, 0, 7, b, 0, 9, 0.0, c, 0, 9);
        for (int i = 0; i < 45; i++) assertEquals(true, Double.isFinite(c.getAtIndex(JAVA_DOUBLE, i)), "element " + i);
    }

    @Test
    void theValueProductIsTheFusedChainOfEachRowAndTheRestIsDelegated() {
        Parameters p = Parameters.allocate(new ParameterLayout(MlpShape.of(2, 8), 0), arena);
        Blas reference = new JavaBlas();
        RowExactBlas blas = new RowExactBlas(reference, p, arena);
        int m = 11, n = 37;
        MemorySegment a = random((long) m * n), x = random(n), y = arena.allocate(JAVA_DOUBLE, m);
        blas.dgemv(false, m, n, 1.0, a, 0, n, x, 0, 1, 0.0, y, 0, 1);
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) s = Math.fma(a.getAtIndex(JAVA_DOUBLE, (long) i * n + j), x.getAtIndex(JAVA_DOUBLE, j), s);
            assertEquals(Double.doubleToRawLongBits(s), Double.doubleToRawLongBits(y.getAtIndex(JAVA_DOUBLE, i)), "y_" + i);
        }
        // A^T B (training's parameter gradients) goes to the delegate
        MemorySegment b = random(m * 4L), c = arena.allocate(JAVA_DOUBLE, (long) n * 4), want = arena.allocate(JAVA_DOUBLE, (long) n * 4);
        blas.dgemm(true, false, n, 4, m, 1.0, a, 0, n, b, 0, 4, 0.0, c, 0, 4);
        reference.dgemm(true, false, n, 4, m, 1.0, a, 0, n, b, 0, 4, 0.0, want, 0, 4);
        for (int i = 0; i < n * 4; i++) {
            assertEquals(want.getAtIndex(JAVA_DOUBLE, i), c.getAtIndex(JAVA_DOUBLE, i), DELEGATED_TOLERANCE, "A^T B element " + i);
        }
    }

    @Test
    void badShapesAreRejectedNamingThem() {
        Parameters p = Parameters.allocate(new ParameterLayout(MlpShape.of(2, 8), 0), arena);
        RowExactBlas blas = new RowExactBlas(new JavaBlas(), p, arena);
        MemorySegment a = random(12), b = random(12), c = random(12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> blas.dgemm(false, false, 4, 4, 4, 1.0, a, 0, 4, b, 0, 4, 0.0, c, 0, 4));
        assertEquals("dgemm: a needs elements 0 .. 16 of a segment of 12 doubles", e.getMessage());
    }
}
