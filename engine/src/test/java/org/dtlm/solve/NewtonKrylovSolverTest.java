package org.dtlm.solve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.dtlm.solve.NewtonKrylovOptions.Forcing;
import org.dtlm.solve.NewtonKrylovOptions.JacobianProduct;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NewtonKrylovSolverTest {

    private static final double EPS = NewtonKrylovOptions.EPSILON;
    /** Linear blocks (condition numbers ≲ 1e2): max-norm relative error against Gaussian elimination. */
    private static final double LINEAR_TOL = 1e-13;
    /**
     * Bratu, n = 100: agreement with the direct Newton reference. Both carry rounding errors of about cond(J)·ε
     * (cond ≈ 4·10³ here); measured ≈ 3e-12.
     */
    private static final double BRATU_REFERENCE_TOL = 1e-11;
    /** Bratu, n = 100: discrete against continuous solution, an O(h²) discretisation error (measured 9.9e-6 ≈ 0.1 h²). */
    private static final double BRATU_DISCRETISATION_TOL = 2e-5;
    /** Bound on ‖F_{k+1}‖/‖F_k‖² with a constant η = 1e-12 (measured ≤ 0.1). */
    private static final double QUADRATIC_CONSTANT = 1.0;
    /** Residual norms below this multiple of ε·scale are rounding noise and excluded from the quadratic ratios. */
    private static final double NOISE_FLOOR_EPS = 100;
    /** Bratu with finite-difference against exact Jacobian-vector products (measured ≈ 2e-12). */
    private static final double FD_AGREEMENT_TOL = 1e-11;
    /** Badly scaled block, solved with scaling: per-component relative error of x. */
    private static final double BADLY_SCALED_TOL = 1e-13;
    /** Allocation test: this many consecutive solves must allocate nothing, within this many solves. */
    private static final int ALLOCATION_FREE_RUN = 20;
    private static final int MAX_WARMUP_SOLVES = 5000;
    private static final double BRATU_LAMBDA = 1.0;
    private static final int BRATU_N = 100;

    private static SolverStats solve(NonlinearSystem system, NewtonKrylovOptions options, double[] x) {
        SolverStats stats = new SolverStats(system.blocks());
        new NewtonKrylovSolver(system, options).solve(MemorySegment.ofArray(x), stats);
        return stats;
    }

    private static double[] row(double[] x, int b, int n) {
        return Arrays.copyOfRange(x, b * n, (b + 1) * n);
    }

    @Test
    void linearBlocksOfVeryDifferentMagnitudesConvergeInOneBatch() {
        SplittableRandom random = new SplittableRandom(21);
        int n = 5;
        double[] magnitudes = {1e-6, 1, 1e6};
        List<PerBlockSystem.Block> blocks = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (double magnitude : magnitudes) {
            for (boolean spd : new boolean[] {true, false}) {
                double[] a = spd ? DenseLinearAlgebra.randomSpd(random, n, magnitude)
                        : DenseLinearAlgebra.randomMatrix(random, n, 3, magnitude);
                double[] c = DenseLinearAlgebra.randomVector(random, n, 1 / magnitude);
                blocks.add(TestProblems.linear(a, c));
                expected.add(DenseLinearAlgebra.solve(a, c));
            }
        }
        PerBlockSystem system = new PerBlockSystem(n, blocks.toArray(PerBlockSystem.Block[]::new));
        double[] x = new double[blocks.size() * n];
        SolverStats stats = solve(new ContractCheckingSystem(system), NewtonKrylovOptions.DEFAULTS, x);
        for (int b = 0; b < blocks.size(); b++) {
            assertEquals(SolveStatus.CONVERGED, stats.status(b), "block " + b);
            double err = DenseLinearAlgebra.relativeMaxError(row(x, b, n), expected.get(b));
            assertTrue(err < LINEAR_TOL, "block " + b + " error " + err);
            assertEquals(system.evaluations[b], stats.residualEvaluations(b), "block " + b);
        }
    }

    @Test
    void scalarLinearBlockNeedsOneKrylovIterationPerNewtonStep() {
        PerBlockSystem system = new PerBlockSystem(1,
                TestProblems.linear(new double[] {-4.5e3}, new double[] {2.0}),
                TestProblems.linear(new double[] {7e-5}, new double[] {-3.0}));
        double[] x = {0, 0};
        SolverStats stats = solve(system, NewtonKrylovOptions.DEFAULTS, x);
        for (int b = 0; b < 2; b++) {
            assertEquals(SolveStatus.CONVERGED, stats.status(b));
            assertEquals(1, stats.newtonIterations(b), "from 0 one Newton step gives the rounded quotient");
            assertEquals(1, stats.krylovIterations(b), "block " + b);
        }
        assertEquals(2.0 / -4.5e3, x[0], Math.ulp(x[0]));
        assertEquals(-3.0 / 7e-5, x[1], Math.ulp(x[1]));

        x = new double[] {1, 1}; // x0 + δ cancels (1 − 1.00044...): the next step refines it
        stats = solve(system, NewtonKrylovOptions.DEFAULTS, x);
        for (int b = 0; b < 2; b++) {
            assertEquals(SolveStatus.CONVERGED, stats.status(b));
            assertTrue(stats.newtonIterations(b) <= 2, "block " + b + ": " + stats.newtonIterations(b));
            assertEquals(stats.newtonIterations(b), stats.krylovIterations(b), "n = 1: one Arnoldi step per Newton step");
        }
        assertEquals(2.0 / -4.5e3, x[0], Math.ulp(x[0]));
        assertEquals(-3.0 / 7e-5, x[1], Math.ulp(x[1]));
    }

    /** θ = √(2λ) cosh(θ/4) (lower branch) of the continuous Bratu solution u(x) = −2 ln(cosh((x−½)θ/2)/cosh(θ/4)). */
    private static double[] bratuContinuous(int n, double lambda) {
        double theta = 1;
        for (int k = 0; k < 200; k++) {
            theta = Math.sqrt(2 * lambda) * Math.cosh(theta / 4);
        }
        double[] u = new double[n];
        for (int i = 0; i < n; i++) {
            double t = (i + 1.0) / (n + 1.0);
            u[i] = -2 * Math.log(Math.cosh((t - 0.5) * theta / 2) / Math.cosh(theta / 4));
        }
        return u;
    }

    @Test
    void bratuMatchesDirectNewtonReference() {
        PerBlockSystem system = new PerBlockSystem(BRATU_N, TestProblems.bratu(BRATU_N, BRATU_LAMBDA));
        double[] u = new double[BRATU_N];
        NewtonKrylovOptions options = NewtonKrylovOptions.DEFAULTS.withKrylov(BRATU_N, 1000);
        SolverStats stats = solve(new ContractCheckingSystem(system), options, u);
        assertEquals(SolveStatus.CONVERGED, stats.status(0), stats.toString());
        assertTrue(stats.residualNorm(0) <= options.ftolRel() * system.residualScale(0));
        double err = DenseLinearAlgebra.relativeMaxError(u, TestProblems.bratuReference(BRATU_N, BRATU_LAMBDA));
        assertTrue(err < BRATU_REFERENCE_TOL, "error against the direct reference " + err);
        double discretisation = DenseLinearAlgebra.relativeMaxError(u, bratuContinuous(BRATU_N, BRATU_LAMBDA));
        assertTrue(discretisation < BRATU_DISCRETISATION_TOL, "lower branch: error " + discretisation);
        assertTrue(stats.newtonIterations(0) <= 6, stats.toString());
    }

    @Test
    void theSolverExpectsTheLastPointOfAConvergingSolve() {
        // Default options: Bratu ends by the residual test, which the quadratic rate predicts at the last point; with
        // no residual test (ftol 0) it ends by the step test. Either way the end point, and no other, is expected to
        // be last, and no product is asked there.
        NewtonKrylovOptions defaults = NewtonKrylovOptions.DEFAULTS.withKrylov(BRATU_N, 1000);
        for (NewtonKrylovOptions options : List.of(defaults, defaults.withTolerances(defaults.xtol(), 0, 0))) {
            PerBlockSystem system = new PerBlockSystem(BRATU_N, TestProblems.bratu(BRATU_N, BRATU_LAMBDA));
            ContractCheckingSystem checked = new ContractCheckingSystem(system);
            double[] u = new double[BRATU_N];
            SolverStats stats = solve(checked, options, u);
            assertEquals(SolveStatus.CONVERGED, stats.status(0), stats.toString());
            assertEquals(1, checked.expectedLast(), stats.toString());
            assertEquals(0, checked.productsAtExpectedLast(), stats.toString());
            double err = DenseLinearAlgebra.relativeMaxError(u, TestProblems.bratuReference(BRATU_N, BRATU_LAMBDA));
            assertTrue(err < BRATU_REFERENCE_TOL, "error " + err);
        }
    }

    @Test
    void bratuWithDefaultOptionsConverges() {
        PerBlockSystem system = new PerBlockSystem(BRATU_N, TestProblems.bratu(BRATU_N, BRATU_LAMBDA));
        double[] u = new double[BRATU_N];
        SolverStats stats = solve(system, NewtonKrylovOptions.DEFAULTS, u);
        assertEquals(SolveStatus.CONVERGED, stats.status(0), stats.toString());
        double err = DenseLinearAlgebra.relativeMaxError(u, TestProblems.bratuReference(BRATU_N, BRATU_LAMBDA));
        assertTrue(err < BRATU_REFERENCE_TOL, "error " + err);
    }

    @Test
    void bratuConvergesQuadraticallyWithTightConstantForcing() {
        PerBlockSystem system = new PerBlockSystem(BRATU_N, TestProblems.bratu(BRATU_N, BRATU_LAMBDA));
        double[] u = new double[BRATU_N];
        NewtonKrylovOptions options = NewtonKrylovOptions.DEFAULTS.withKrylov(BRATU_N, 1000)
                .withForcing(Forcing.CONSTANT, 1e-12);
        SolverStats stats = solve(system, options, u);
        assertEquals(SolveStatus.CONVERGED, stats.status(0), stats.toString());
        assertEquals(0, stats.backtracks(0), "full Newton steps");
        // Exact products and no backtracking: every residual evaluation is at a Newton iterate.
        assertEquals(stats.newtonIterations(0) + 1, system.historyLength);
        double noise = NOISE_FLOOR_EPS * EPS * system.residualScale(0);
        int ratios = 0;
        for (int k = 0; k + 1 < system.historyLength; k++) {
            double current = system.history[k];
            double next = system.history[k + 1];
            if (next > noise) {
                double ratio = next / (current * current);
                assertTrue(ratio <= QUADRATIC_CONSTANT, "‖F_" + (k + 1) + "‖/‖F_" + k + "‖² = " + ratio);
                ratios++;
            }
        }
        assertTrue(ratios >= 2, "at least two quadratic steps above the noise, got " + ratios);
    }

    @Test
    void bratuFiniteDifferenceProductsAgreeWithExactOnes() {
        double[] exact = new double[BRATU_N];
        NewtonKrylovOptions options = NewtonKrylovOptions.DEFAULTS.withKrylov(BRATU_N, 1000);
        assertEquals(SolveStatus.CONVERGED, solve(new PerBlockSystem(BRATU_N, TestProblems.bratu(BRATU_N,
                BRATU_LAMBDA)), options, exact).status(0));
        double[] fd = new double[BRATU_N];
        PerBlockSystem.Block bratu = TestProblems.bratu(BRATU_N, BRATU_LAMBDA);
        PerBlockSystem.Block residualOnly = new PerBlockSystem.Block() { // jacobianTimes throws
            @Override
            public void residual(double[] f, double[] x) {
                bratu.residual(f, x);
            }

            @Override
            public double scale(double[] x) {
                return bratu.scale(x);
            }
        };
        SolverStats stats = solve(new PerBlockSystem(BRATU_N, residualOnly),
                options.withJacobianProduct(JacobianProduct.FINITE_DIFFERENCE), fd);
        assertEquals(SolveStatus.CONVERGED, stats.status(0), stats.toString());
        assertEquals(0, stats.jacobianCalls());
        assertEquals(stats.residualEvaluations(0) - stats.newtonIterations(0) - 1, stats.jacobianProducts(0),
                "one residual evaluation per product, plus one per Newton iterate");
        double err = DenseLinearAlgebra.relativeMaxError(fd, exact);
        assertTrue(err < FD_AGREEMENT_TOL, "finite-difference against exact products " + err);
    }

    /**
     * Unknowns x_i = s_i y_i with s spanning 1e-8..1e8 and equations F_i = r_i G_i(y) with r spanning 1e-8..1e8, G
     * a well-conditioned cubic block: solved with d_u = 1/s, d_f = 1/r, every component to full relative accuracy.
     */
    @Test
    void badlyScaledBlockIsSolvedWithScaling() {
        SplittableRandom random = new SplittableRandom(22);
        int n = 4;
        double[] s = {1e-8, 1e-3, 1e3, 1e8};
        double[] r = {1e8, 1e-8, 1e4, 1e-4};
        double[] a = DenseLinearAlgebra.randomMatrix(random, n, 3, 1);
        double[] c = DenseLinearAlgebra.randomVector(random, n, 1);
        PerBlockSystem.Block inner = TestProblems.cubic(a, c);
        double[] y = new double[n];
        double[] g = new double[n];
        double[] v = new double[n];
        PerBlockSystem.Block scaled = new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                for (int i = 0; i < n; i++) {
                    y[i] = x[i] / s[i];
                }
                inner.residual(g, y);
                for (int i = 0; i < n; i++) {
                    f[i] = r[i] * g[i];
                }
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] dx) {
                for (int i = 0; i < n; i++) {
                    y[i] = x[i] / s[i];
                    v[i] = dx[i] / s[i];
                }
                inner.jacobianTimes(g, y, v);
                for (int i = 0; i < n; i++) {
                    jv[i] = r[i] * g[i];
                }
            }

            @Override
            public double scale(double[] x) { // in the equation-scaled norm, i.e. that of G
                for (int i = 0; i < n; i++) {
                    y[i] = x[i] / s[i];
                }
                return inner.scale(y);
            }
        };
        double[] reference = new double[n];
        assertEquals(SolveStatus.CONVERGED,
                solve(new PerBlockSystem(n, inner), NewtonKrylovOptions.DEFAULTS, reference).status(0));
        for (int i = 0; i < n; i++) {
            reference[i] *= s[i];
        }
        double[] unknownScale = new double[n];
        double[] equationScale = new double[n];
        for (int i = 0; i < n; i++) {
            unknownScale[i] = 1 / s[i];
            equationScale[i] = 1 / r[i];
        }
        for (JacobianProduct product : JacobianProduct.values()) {
            PerBlockSystem system = new PerBlockSystem(n, scaled);
            NewtonKrylovSolver solver = new NewtonKrylovSolver(system,
                    NewtonKrylovOptions.DEFAULTS.withJacobianProduct(product));
            solver.setScaling(unknownScale, equationScale);
            double[] x = new double[n];
            SolverStats stats = new SolverStats(1);
            assertTrue(solver.solve(MemorySegment.ofArray(x), stats), product + " " + stats);
            for (int i = 0; i < n; i++) {
                double err = Math.abs(x[i] - reference[i]) / Math.abs(reference[i]);
                assertTrue(err < BADLY_SCALED_TOL, product + " component " + i + ": " + x[i] + " vs "
                        + reference[i] + ", relative error " + err);
            }
        }
    }

    /** Six blocks of n = 6 exercising restarts (m = 3), forcing, backtracking and both stopping tests. */
    private static PerBlockSystem mixedBatch() {
        SplittableRandom random = new SplittableRandom(23);
        int n = 6;
        return new PerBlockSystem(n,
                TestProblems.cubic(DenseLinearAlgebra.randomMatrix(random, n, 3, 1),
                        DenseLinearAlgebra.randomVector(random, n, 5)),
                TestProblems.linear(DenseLinearAlgebra.randomSpd(random, n, 1e-5),
                        DenseLinearAlgebra.randomVector(random, n, 1)),
                TestProblems.arctan(0.3),
                TestProblems.cubic(DenseLinearAlgebra.randomMatrix(random, n, 2, 1e3),
                        DenseLinearAlgebra.randomVector(random, n, 1e4)),
                TestProblems.linear(DenseLinearAlgebra.randomMatrix(random, n, 4, 1e5),
                        DenseLinearAlgebra.randomVector(random, n, 1e-3)),
                TestProblems.arctan(-2.0));
    }

    private static double[] mixedStart(int blocks, int n) {
        double[] x0 = new double[blocks * n];
        SplittableRandom random = new SplittableRandom(24);
        for (int i = 0; i < x0.length; i++) {
            x0[i] = 8 * random.nextGaussian(); // far enough for the arctan blocks to need the line search
        }
        return x0;
    }

    @ParameterizedTest
    @EnumSource(JacobianProduct.class)
    void batchEqualsBlocksAloneBitForBit(JacobianProduct product) {
        PerBlockSystem batch = mixedBatch();
        int blocks = batch.blocks();
        int n = batch.blockSize();
        NewtonKrylovOptions options = NewtonKrylovOptions.DEFAULTS.withKrylov(3, 60).withJacobianProduct(product);
        double[] x = mixedStart(blocks, n);
        double[] x0 = x.clone();
        SolverStats stats = solve(new ContractCheckingSystem(batch), options, x);
        long backtracks = 0;
        for (int b = 0; b < blocks; b++) {
            assertEquals(SolveStatus.CONVERGED, stats.status(b), "block " + b + " " + stats);
            assertEquals(batch.evaluations[b], stats.residualEvaluations(b), "frozen blocks are not re-evaluated");
            PerBlockSystem alone = batch.block(b);
            double[] xb = row(x0, b, n);
            SolverStats statsAlone = solve(new ContractCheckingSystem(alone), options, xb);
            assertArrayEquals(xb, row(x, b, n), 0.0, "block " + b);
            for (int i = 0; i < n; i++) {
                assertEquals(Double.doubleToRawLongBits(xb[i]), Double.doubleToRawLongBits(x[b * n + i]));
            }
            assertEquals(statsAlone.status(0), stats.status(b));
            assertEquals(Double.doubleToRawLongBits(statsAlone.residualNorm(0)),
                    Double.doubleToRawLongBits(stats.residualNorm(b)), "block " + b);
            assertEquals(statsAlone.newtonIterations(0), stats.newtonIterations(b), "block " + b);
            assertEquals(statsAlone.krylovIterations(0), stats.krylovIterations(b), "block " + b);
            assertEquals(statsAlone.residualEvaluations(0), stats.residualEvaluations(b), "block " + b);
            assertEquals(statsAlone.jacobianProducts(0), stats.jacobianProducts(b), "block " + b);
            assertEquals(statsAlone.backtracks(0), stats.backtracks(b), "block " + b);
            backtracks += stats.backtracks(b);
        }
        assertTrue(backtracks > 0, "the batch exercises the line search");
        assertTrue(stats.residualCalls() < stats.totalResidualEvaluations(), "residual calls are shared by blocks");
    }

    @Test
    void blockWhoseResidualTurnsNaNIsReportedWhileOthersConverge() {
        int n = 3;
        SplittableRandom random = new SplittableRandom(25);
        PerBlockSystem.Block turnsNaN = new PerBlockSystem.Block() {
            private int calls;

            @Override
            public void residual(double[] f, double[] x) {
                for (int i = 0; i < n; i++) {
                    f[i] = calls == 0 ? x[i] - 5 : Double.NaN;
                }
                calls++;
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] v) {
                System.arraycopy(v, 0, jv, 0, n);
            }
        };
        PerBlockSystem.Block first = TestProblems.cubic(DenseLinearAlgebra.randomMatrix(random, n, 3, 1),
                DenseLinearAlgebra.randomVector(random, n, 2));
        PerBlockSystem.Block last = TestProblems.arctan(1.5);
        PerBlockSystem system = new PerBlockSystem(n, first, turnsNaN, last);
        double[] x = {0.1, 0.2, 0.3, 1, 2, 3, 4, 4, 4};
        double[] x0 = x.clone();
        SolverStats stats = solve(system, NewtonKrylovOptions.DEFAULTS, x);
        assertEquals(1, stats.firstFailedBlock());
        assertEquals(SolveStatus.NON_FINITE, stats.status(1));
        assertArrayEquals(row(x0, 1, n), row(x, 1, n), 0.0, "the failed block keeps its last finite iterate");
        for (int b : new int[] {0, 2}) {
            assertEquals(SolveStatus.CONVERGED, stats.status(b));
            double[] xb = row(x0, b, n);
            SolverStats alone = solve(system.block(b), NewtonKrylovOptions.DEFAULTS, xb);
            assertArrayEquals(xb, row(x, b, n), 0.0, "block " + b + " is not disturbed by block 1");
            assertEquals(alone.residualEvaluations(0), stats.residualEvaluations(b));
        }
    }

    @Test
    void nonFiniteInitialGuessIsReportedWithoutEvaluation() {
        PerBlockSystem system = new PerBlockSystem(2, TestProblems.arctan(1), TestProblems.arctan(1));
        double[] x = {0, Double.POSITIVE_INFINITY, 0, 0};
        SolverStats stats = solve(system, NewtonKrylovOptions.DEFAULTS, x);
        assertEquals(SolveStatus.NON_FINITE, stats.status(0));
        assertEquals(0, system.evaluations[0]);
        assertEquals(Double.POSITIVE_INFINITY, x[1], "left as given");
        assertEquals(SolveStatus.CONVERGED, stats.status(1));
    }

    @Test
    void systemWithoutRootEndsUnconvergedWithFiniteIterate() {
        PerBlockSystem.Block noRoot = new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                f[0] = x[0] * x[0] + 1;
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] v) {
                jv[0] = 2 * x[0] * v[0];
            }

            @Override
            public double scale(double[] x) {
                return x[0] * x[0] + 1;
            }
        };
        double[] starts = {1.0, 0.7, 3.0, -2.5, 1e-3};
        PerBlockSystem.Block[] blocks = new PerBlockSystem.Block[starts.length];
        Arrays.fill(blocks, noRoot);
        for (JacobianProduct product : JacobianProduct.values()) {
            double[] x = starts.clone();
            SolverStats stats = solve(new PerBlockSystem(1, blocks),
                    NewtonKrylovOptions.DEFAULTS.withJacobianProduct(product), x);
            for (int b = 0; b < starts.length; b++) {
                assertNotEquals(SolveStatus.CONVERGED, stats.status(b), product + " start " + starts[b]);
                assertTrue(Double.isFinite(x[b]), product + " start " + starts[b] + " ended at " + x[b]);
                assertTrue(stats.residualNorm(b) >= 1, "|F| = " + stats.residualNorm(b));
            }
        }
    }

    @Test
    void stepBelowRoundingConvergesByTheStepTestOrStagnates() {
        // F(x) = (x − 1) − 1e-17 has its root between 1 and the next double; from x = 1 the Newton step rounds away.
        PerBlockSystem.Block belowUlp = new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                f[0] = (x[0] - 1) - 1e-17;
            }

            @Override
            public void jacobianTimes(double[] jv, double[] x, double[] v) {
                jv[0] = v[0];
            }
        };
        double[] x = {1};
        SolverStats stats = solve(new PerBlockSystem(1, belowUlp), NewtonKrylovOptions.DEFAULTS, x);
        assertEquals(SolveStatus.CONVERGED, stats.status(0), "‖δ‖ = 1e-17 passes the step test");
        assertEquals(1.0, x[0]);
        assertEquals(1, stats.residualEvaluations(0));
        x[0] = 1;
        stats = solve(new PerBlockSystem(1, belowUlp), NewtonKrylovOptions.DEFAULTS.withTolerances(0, 0, 0), x);
        assertEquals(SolveStatus.LINE_SEARCH_STAGNATED, stats.status(0), "no test can pass");
        assertEquals(1.0, x[0]);
    }

    @Test
    void iterationLimitIsReported() {
        PerBlockSystem system = new PerBlockSystem(BRATU_N, TestProblems.bratu(BRATU_N, BRATU_LAMBDA));
        double[] u = new double[BRATU_N];
        SolverStats stats = solve(system, NewtonKrylovOptions.DEFAULTS.withMaxNewtonIterations(1), u);
        assertEquals(SolveStatus.MAX_ITERATIONS, stats.status(0));
        assertEquals(1, stats.newtonIterations(0));
        assertTrue(Arrays.stream(u).allMatch(Double::isFinite));
        assertTrue(stats.residualNorm(0) > 0);
    }

    @Test
    void disabledBlocksAreSkippedAndUntouched() {
        PerBlockSystem system = new PerBlockSystem(1, TestProblems.arctan(1), TestProblems.arctan(2),
                TestProblems.arctan(3));
        double[] x = {0, 0, 0};
        SolverStats stats = new SolverStats(3);
        NewtonKrylovSolver solver = new NewtonKrylovSolver(system, NewtonKrylovOptions.DEFAULTS);
        assertTrue(solver.solve(MemorySegment.ofArray(x), new boolean[] {true, false, true}, stats));
        assertEquals(SolveStatus.SKIPPED, stats.status(1));
        assertEquals(0, system.evaluations[1]);
        assertEquals(0.0, x[1]);
        assertEquals(1.0, x[0], 4 * EPS);
        assertEquals(3.0, x[2], 4 * 3 * EPS);
        assertEquals(-1, stats.firstFailedBlock());
    }

    @Test
    void statsAccumulateOverSolves() {
        PerBlockSystem system = new PerBlockSystem(1, TestProblems.arctan(1), TestProblems.arctan(2));
        NewtonKrylovSolver solver = new NewtonKrylovSolver(system, NewtonKrylovOptions.DEFAULTS);
        SolverStats one = new SolverStats(2);
        SolverStats rollout = new SolverStats(2);
        double[] x = {0, 0};
        solver.solve(MemorySegment.ofArray(x), one);
        rollout.accumulate(one);
        int newton = one.newtonIterations(1);
        x[1] = 5;
        solver.solve(MemorySegment.ofArray(x), new boolean[] {false, true}, one);
        rollout.accumulate(one);
        assertEquals(2, rollout.solves());
        assertEquals(newton + one.newtonIterations(1), rollout.newtonIterations(1));
        assertEquals(SolveStatus.CONVERGED, rollout.status(0), "a skipped block keeps its last status");
        assertEquals(system.evaluations[0] + system.evaluations[1], rollout.totalResidualEvaluations());
    }

    @ParameterizedTest
    @EnumSource(JacobianProduct.class)
    void steadyStateSolveAllocatesNothing(JacobianProduct product) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        PerBlockSystem system = mixedBatch();
        NewtonKrylovSolver solver = new NewtonKrylovSolver(system,
                NewtonKrylovOptions.DEFAULTS.withKrylov(3, 60).withJacobianProduct(product));
        double[] x0 = mixedStart(system.blocks(), system.blockSize());
        double[] x = new double[x0.length];
        MemorySegment segment = MemorySegment.ofArray(x);
        SolverStats stats = new SolverStats(system.blocks());
        // A warmed-up solve allocates nothing; JIT transitions (deoptimisation re-materialising scalar-replaced
        // objects) may allocate a few bytes now and then, so ask for a run of consecutive allocation-free solves.
        int consecutive = 0;
        for (int round = 0; round < MAX_WARMUP_SOLVES && consecutive < ALLOCATION_FREE_RUN; round++) {
            System.arraycopy(x0, 0, x, 0, x.length);
            long before = threads.getCurrentThreadAllocatedBytes();
            solver.solve(segment, stats);
            long after = threads.getCurrentThreadAllocatedBytes();
            long probe = threads.getCurrentThreadAllocatedBytes() - after; // the probe's own cost
            consecutive = after - before - probe == 0 ? consecutive + 1 : 0;
        }
        assertEquals(ALLOCATION_FREE_RUN, consecutive, "consecutive solves that allocated nothing");
        assertEquals(-1, stats.firstFailedBlock());
    }

    @Test
    void badArgumentsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NewtonKrylovOptions.DEFAULTS.withForcing(Forcing.CONSTANT, 1.5));
        assertTrue(e.getMessage().contains("eta0 must be in [0, 1), got 1.5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NewtonKrylovOptions.DEFAULTS.withTolerances(Double.NaN, 0, 0));
        assertTrue(e.getMessage().contains("xtol must be finite and >= 0, got NaN"), e.getMessage());

        PerBlockSystem system = new PerBlockSystem(2, TestProblems.arctan(1), TestProblems.arctan(2));
        NewtonKrylovSolver solver = new NewtonKrylovSolver(system, NewtonKrylovOptions.DEFAULTS);
        e = assertThrows(IllegalArgumentException.class,
                () -> solver.solve(MemorySegment.ofArray(new double[3]), new SolverStats(2)));
        assertTrue(e.getMessage().contains("x0 has 24 bytes, expected 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> solver.solve(MemorySegment.ofArray(new double[4]), new SolverStats(3)));
        assertTrue(e.getMessage().contains("stats has 3 blocks, expected 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> solver.setScaling(new double[] {1, 1, -2, 1}, null));
        assertTrue(e.getMessage().contains("unknownScale: block 1, component 0 must be positive and finite, got -2"),
                e.getMessage());

        NewtonKrylovSolver negativeScale = new NewtonKrylovSolver(new PerBlockSystem(1, new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                f[0] = x[0];
            }

            @Override
            public double scale(double[] x) {
                return -1;
            }
        }), NewtonKrylovOptions.DEFAULTS);
        IllegalStateException s = assertThrows(IllegalStateException.class,
                () -> negativeScale.solve(MemorySegment.ofArray(new double[] {1}), new SolverStats(1)));
        assertTrue(s.getMessage().contains("residualScale(0) must be finite and >= 0, got -1.0"), s.getMessage());
    }

    @Test
    void exactProductsWithoutImplementationFailLoudly() {
        NewtonKrylovSolver solver = new NewtonKrylovSolver(new PerBlockSystem(1, new PerBlockSystem.Block() {
            @Override
            public void residual(double[] f, double[] x) {
                f[0] = x[0] - 1;
            }
        }), NewtonKrylovOptions.DEFAULTS);
        assertThrows(UnsupportedOperationException.class,
                () -> solver.solve(MemorySegment.ofArray(new double[] {3}), new SolverStats(1)));
    }
}
