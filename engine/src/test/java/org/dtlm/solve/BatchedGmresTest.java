package org.dtlm.solve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BatchedGmresTest {

    /** Relative error of a full-space GMRES solve of a well-conditioned system against Gaussian elimination. */
    private static final double DIRECT_SOLVE_TOL = 1e-13;
    /** Relative error allowed for n = 1 (one division and one multiplication by a norm). */
    private static final double SCALAR_TOL = 4 * NewtonKrylovOptions.EPSILON;

    /** Block b applies the dense matrix a[b] (n x n). */
    private static BlockLinearOperator dense(double[][] a, int n) {
        double[] in = new double[n];
        double[] out = new double[n];
        return (o, v, active) -> {
            for (int b = 0; b < a.length; b++) {
                if (active[b]) {
                    System.arraycopy(v, b * n, in, 0, n);
                    DenseLinearAlgebra.multiply(out, a[b], in);
                    System.arraycopy(out, 0, o, b * n, n);
                }
            }
        };
    }

    @Test
    void scalarSystemTakesOneIteration() {
        double[][] a = {{-3.7e5}, {2.5e-4}};
        BatchedGmres gmres = new BatchedGmres(2, 1, 30);
        double[] z = new double[2];
        double[] rhs = {1.3, -7.9e2};
        gmres.solve(z, rhs, new double[] {0, 0}, 50, dense(a, 1), new boolean[] {true, true});
        for (int b = 0; b < 2; b++) {
            assertEquals(1, gmres.iterations(b), "block " + b);
            double exact = rhs[b] / a[b][0];
            assertEquals(exact, z[b], SCALAR_TOL * Math.abs(exact), "block " + b);
        }
    }

    @Test
    void fullSpaceSolveMatchesGaussianElimination() {
        SplittableRandom random = new SplittableRandom(11);
        int n = 12;
        double[][] a = {DenseLinearAlgebra.randomMatrix(random, n, 3, 1), DenseLinearAlgebra.randomSpd(random, n, 1e4)};
        double[] rhs = new double[2 * n];
        for (int i = 0; i < rhs.length; i++) {
            rhs[i] = random.nextGaussian();
        }
        BatchedGmres gmres = new BatchedGmres(2, n, 30);
        assertEquals(n, gmres.restart());
        double[] z = new double[2 * n];
        gmres.solve(z, rhs, new double[] {0, 0}, 1000, dense(a, n), new boolean[] {true, true});
        for (int b = 0; b < 2; b++) {
            double[] expected = DenseLinearAlgebra.solve(a[b], Arrays.copyOfRange(rhs, b * n, (b + 1) * n));
            double err = DenseLinearAlgebra.relativeMaxError(Arrays.copyOfRange(z, b * n, (b + 1) * n), expected);
            assertTrue(err < DIRECT_SOLVE_TOL, "block " + b + " error " + err);
            assertTrue(gmres.iterations(b) <= n, "no restart when m >= n, block " + b);
        }
    }

    @Test
    void restartedSolveReachesTolerance() {
        SplittableRandom random = new SplittableRandom(12);
        int n = 40;
        double[][] a = {DenseLinearAlgebra.randomMatrix(random, n, 4, 1)};
        double[] rhs = DenseLinearAlgebra.randomVector(random, n, 1);
        double tolerance = 1e-10 * BlockVectors.norm2(rhs, 0, n);
        BatchedGmres gmres = new BatchedGmres(1, n, 5);
        double[] z = new double[n];
        gmres.solve(z, rhs, new double[] {tolerance}, 500, dense(a, n), new boolean[] {true});
        assertTrue(gmres.iterations(0) > 5, "needs restarts: " + gmres.iterations(0));
        assertTrue(gmres.products(0) > gmres.iterations(0), "restart residuals are products");
        double[] az = new double[n];
        DenseLinearAlgebra.multiply(az, a[0], z);
        for (int i = 0; i < n; i++) {
            az[i] -= rhs[i];
        }
        double trueResidual = BlockVectors.norm2(az, 0, n);
        assertTrue(gmres.residualNorm(0) <= tolerance, "estimate " + gmres.residualNorm(0));
        assertTrue(trueResidual <= 1.01 * tolerance, "true residual " + trueResidual + " vs " + tolerance);
    }

    @Test
    void batchEqualsBlocksAloneBitForBit() {
        SplittableRandom random = new SplittableRandom(13);
        int n = 9;
        int blocks = 4;
        double[][] a = new double[blocks][];
        double[] rhs = new double[blocks * n];
        double[] tolerance = new double[blocks];
        for (int b = 0; b < blocks; b++) {
            a[b] = DenseLinearAlgebra.randomMatrix(random, n, 2 + b, Math.pow(10, 3 * b - 4));
            for (int i = 0; i < n; i++) {
                rhs[b * n + i] = random.nextGaussian();
            }
            tolerance[b] = b == 2 ? 0 : 1e-6 * BlockVectors.norm2(rhs, b * n, n);
        }
        boolean[] all = new boolean[blocks];
        Arrays.fill(all, true);
        BatchedGmres batch = new BatchedGmres(blocks, n, 4);
        double[] z = new double[blocks * n];
        batch.solve(z, rhs, tolerance, 60, dense(a, n), all);
        for (int b = 0; b < blocks; b++) {
            BatchedGmres alone = new BatchedGmres(1, n, 4);
            double[] zb = new double[n];
            alone.solve(zb, Arrays.copyOfRange(rhs, b * n, (b + 1) * n), new double[] {tolerance[b]}, 60,
                    dense(new double[][] {a[b]}, n), new boolean[] {true});
            assertArrayEquals(zb, Arrays.copyOfRange(z, b * n, (b + 1) * n), 0.0, "block " + b);
            assertEquals(alone.iterations(0), batch.iterations(b), "block " + b);
            assertEquals(alone.products(0), batch.products(b), "block " + b);
            assertEquals(Double.doubleToRawLongBits(alone.residualNorm(0)),
                    Double.doubleToRawLongBits(batch.residualNorm(b)), "block " + b);
        }
    }

    @Test
    void zeroOperatorGivesNoProgressAndInactiveBlocksAreUntouched() {
        int n = 3;
        double[][] a = {new double[n * n], DenseLinearAlgebra.randomSpd(new SplittableRandom(14), n, 1)};
        double[] rhs = {1, 2, 3, 4, 5, 6};
        double[] z = {9, 9, 9, 9, 9, 9};
        BatchedGmres gmres = new BatchedGmres(2, n, 30);
        gmres.solve(z, rhs, new double[] {0, 0}, 10, dense(a, n), new boolean[] {true, false});
        assertArrayEquals(new double[] {0, 0, 0, 9, 9, 9}, z, 0.0);
        assertEquals(BlockVectors.norm2(rhs, 0, n), gmres.residualNorm(0), 0.0);
        assertEquals(1, gmres.iterations(0));
    }

    @Test
    void nonFiniteOperatorIsReportedAsNaNResidual() {
        BatchedGmres gmres = new BatchedGmres(1, 2, 30);
        double[] z = new double[2];
        gmres.solve(z, new double[] {1, 1}, new double[] {0}, 10,
                (o, v, active) -> Arrays.fill(o, Double.NaN), new boolean[] {true});
        assertTrue(Double.isNaN(gmres.residualNorm(0)));
    }

    @Test
    void badArgumentsAreNamed() {
        BatchedGmres gmres = new BatchedGmres(2, 3, 30);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gmres.solve(new double[5],
                new double[6], new double[2], 10, (o, v, a) -> { }, new boolean[2]));
        assertTrue(e.getMessage().contains("z has length 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BatchedGmres(1, 0, 3));
        assertTrue(e.getMessage().contains("n must be >= 1, got 0"), e.getMessage());
    }
}
