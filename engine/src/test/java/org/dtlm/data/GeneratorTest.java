package org.dtlm.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;

import org.hipparchus.ode.ODEState;
import org.hipparchus.ode.OrdinaryDifferentialEquation;
import org.hipparchus.ode.nonstiff.GraggBulirschStoerIntegrator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GeneratorTest {

    /**
     * Relative drift of H_true(q, M v) along a clean trajectory. DOP853 at rtol = atol = 1e-12 gave at most 3.2e-11
     * (mass-spring), 1.2e-11 (pendulum), 1.4e-11 (two-body) over 80 trajectories of each; 1e-9 leaves a margin of 30.
     */
    private static final double ENERGY_RELATIVE_TOLERANCE = 1e-9;
    /** Max |error| of mass-spring positions and velocities against the closed form over t ≤ 20 (measured 1.4e-11). */
    private static final double CLOSED_FORM_TOLERANCE = 1e-9;
    /**
     * One Δt from each clean sample by an independent integrator (Gragg–Bulirsch–Stoer at 1e-13) must land on the
     * next sample: |error| ≤ tol·(1 + |value|). Both integrators are ~1e-11 accurate over one step.
     */
    private static final double ONE_STEP_TOLERANCE = 1e-9;
    private static final double REFERENCE_INTEGRATOR_TOLERANCE = 1e-13;
    /** q₁ + q₂ and p₁ + p₂ of two-body; the mirrored equations keep them exactly 0, this only allows rounding. */
    private static final double SYMMETRY_TOLERANCE = 1e-12;
    /**
     * Noise statistics from n residuals of std σ: the sample mean has standard error σ/√n, the sample std a
     * relative standard error ≈ 1/√(2n); 5 standard errors, so a correct generator fails with probability
     * below 1e-6 (and the seeds are fixed, so the test is deterministic).
     */
    private static final double STANDARD_ERRORS = 5.0;
    /** A standard normal draw recovered as (q + σg − q)/σ, |q| ≤ 3, σ ≥ 0.1: a few ulps of 3, divided by σ. */
    private static final double DRAW_ROUNDING_TOLERANCE = 1e-13;

    private static final int SMALL_TRAIN = 4;
    private static final int SMALL_TEST = 3;

    @Test
    void defaultSizesAndStepAreThoseOfSpecSection6() {
        for (Task task : Task.values()) {
            Dataset data = Generator.generate(task, 0);
            int d = task.dimension();
            int points = task == Task.TWO_BODY ? 500 : 100;
            int train = task == Task.TWO_BODY ? 800 : 25;
            int test = task == Task.TWO_BODY ? 200 : 25;
            assertEquals(task == Task.TWO_BODY ? 25.0 / 499 : 20.0 / 99, data.dt(), task.id());
            assertArrayEquals(new int[] {train, points, d}, data.trainShape(), task.id());
            assertArrayEquals(new int[] {test, points, d}, data.testShape(), task.id());
            assertEquals(train * points * d, data.trainPositions().length);
            assertEquals(train * points * d, data.trainPositionsClean().length);
            assertEquals(train * points * d, data.trainVelocities().length);
            assertEquals(test * points * d, data.testPositions().length);
            assertEquals(test * points * d, data.testVelocities().length);
            assertArrayEquals(task.trueMass(), data.trueMass());
            assertEquals(task.noiseStd(), data.noiseStd());
            assertEquals(0L, data.seed());
            assertEquals((points - 1) * data.dt(), data.time(points - 1));
            for (double[] array : new double[][] {data.trainPositions(), data.trainVelocities(),
                    data.testPositions(), data.testVelocities()}) {
                assertTrue(Arrays.stream(array).allMatch(Double::isFinite), task.id() + ": non-finite value");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Task.class)
    void trueEnergyIsConstantAlongCleanTrajectories(Task task) {
        Dataset data = Generator.generate(task, 3, SMALL_TRAIN, SMALL_TEST, task.points());
        assertEnergyConstant(data, data.trainPositionsClean(), data.trainVelocities(), SMALL_TRAIN, "train");
        // The test positions are the clean ones: noise of 0.1 would move the energy by ~10 %.
        assertEnergyConstant(data, data.testPositions(), data.testVelocities(), SMALL_TEST, "test");
    }

    private static void assertEnergyConstant(Dataset data, double[] positions, double[] velocities, int trajectories,
            String part) {
        Task task = data.task();
        for (int n = 0; n < trajectories; n++) {
            double h0 = task.energyFromVelocity(positions, data.offset(n, 0), velocities, data.offset(n, 0));
            for (int k = 1; k < data.points(); k++) {
                double h = task.energyFromVelocity(positions, data.offset(n, k), velocities, data.offset(n, k));
                assertTrue(Math.abs(h - h0) <= ENERGY_RELATIVE_TOLERANCE * Math.abs(h0), task.id() + " " + part
                        + " trajectory " + n + " point " + k + ": H = " + h + ", H(0) = " + h0);
            }
        }
    }

    @Test
    void massSpringMatchesClosedForm() {
        // H = q² + p², q̇ = 2p, ṗ = −2q: q(t) = q₀ cos 2t + p₀ sin 2t, q̇(t) = 2(p₀ cos 2t − q₀ sin 2t), p₀ = q̇(0)/2.
        Dataset data = Generator.generate(Task.MASS_SPRING, 7, SMALL_TRAIN, SMALL_TEST, Task.MASS_SPRING.points());
        assertClosedForm(data, data.trainPositionsClean(), data.trainVelocities(), SMALL_TRAIN);
        assertClosedForm(data, data.testPositions(), data.testVelocities(), SMALL_TEST);
    }

    private static void assertClosedForm(Dataset data, double[] positions, double[] velocities, int trajectories) {
        for (int n = 0; n < trajectories; n++) {
            double q0 = positions[data.offset(n, 0)];
            double p0 = velocities[data.offset(n, 0)] / 2;
            for (int k = 0; k < data.points(); k++) {
                double t = data.time(k);
                double c = Math.cos(2 * t);
                double s = Math.sin(2 * t);
                int j = data.offset(n, k);
                assertEquals(q0 * c + p0 * s, positions[j], CLOSED_FORM_TOLERANCE, "q, trajectory " + n + " point " + k);
                assertEquals(2 * (p0 * c - q0 * s), velocities[j], CLOSED_FORM_TOLERANCE,
                        "q̇, trajectory " + n + " point " + k);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Task.class)
    void cleanSamplesFollowTheirOdeOverEachStep(Task task) {
        int points = Math.min(task.points(), 60);
        Dataset data = Generator.generate(task, 9, SMALL_TRAIN, SMALL_TEST, points);
        assertOneStepConsistent(data, data.trainPositionsClean(), data.trainVelocities(), SMALL_TRAIN);
        assertOneStepConsistent(data, data.testPositions(), data.testVelocities(), SMALL_TEST);
    }

    /** From (q_k, M v_k), integrate Δt with an independent method and right-hand side; compare with sample k+1. */
    private static void assertOneStepConsistent(Dataset data, double[] positions, double[] velocities,
            int trajectories) {
        Task task = data.task();
        int d = task.dimension();
        double m = task.mass();
        OrdinaryDifferentialEquation equations = referenceEquations(task);
        for (int n = 0; n < trajectories; n++) {
            for (int k = 0; k + 1 < data.points(); k++) {
                double[] y = new double[2 * d];
                for (int i = 0; i < d; i++) {
                    y[i] = positions[data.offset(n, k) + i];
                    y[d + i] = m * velocities[data.offset(n, k) + i];
                }
                GraggBulirschStoerIntegrator reference = new GraggBulirschStoerIntegrator(0.0, data.dt(),
                        REFERENCE_INTEGRATOR_TOLERANCE, REFERENCE_INTEGRATOR_TOLERANCE);
                double[] next = reference.integrate(equations, new ODEState(data.time(k), y), data.time(k + 1))
                        .getPrimaryState();
                for (int i = 0; i < d; i++) {
                    double q = positions[data.offset(n, k + 1) + i];
                    double v = velocities[data.offset(n, k + 1) + i];
                    String where = task.id() + " trajectory " + n + " step " + k + " coordinate " + i;
                    assertEquals(next[i], q, ONE_STEP_TOLERANCE * (1 + Math.abs(q)), "q, " + where);
                    assertEquals(next[d + i] / m, v, ONE_STEP_TOLERANCE * (1 + Math.abs(v)), "q̇, " + where);
                }
            }
        }
    }

    /** The SPEC §6 equations of motion in (q, p), written out here independently of {@link Task}. */
    private static OrdinaryDifferentialEquation referenceEquations(Task task) {
        return new OrdinaryDifferentialEquation() {
            @Override
            public int getDimension() {
                return 2 * task.dimension();
            }

            @Override
            public double[] computeDerivatives(double t, double[] y) {
                return switch (task) {
                    case MASS_SPRING -> new double[] {2 * y[1], -2 * y[0]};
                    case PENDULUM -> new double[] {2 * y[1], -3 * Math.sin(y[0])};
                    case TWO_BODY -> {
                        double dx = y[2] - y[0];
                        double dy = y[3] - y[1];
                        double r3 = Math.pow(dx * dx + dy * dy, 1.5);
                        yield new double[] {y[4], y[5], y[6], y[7], dx / r3, dy / r3, -dx / r3, -dy / r3};
                    }
                };
            }
        };
    }

    @Test
    void sameSeedIsBitIdenticalAndDifferentSeedsDiffer() {
        for (Task task : Task.values()) {
            Dataset a = Generator.generate(task, 42, SMALL_TRAIN, SMALL_TEST, 30);
            Dataset b = Generator.generate(task, 42, SMALL_TRAIN, SMALL_TEST, 30);
            Dataset c = Generator.generate(task, 43, SMALL_TRAIN, SMALL_TEST, 30);
            // assertArrayEquals on double[] compares bit patterns (doubleToLongBits).
            assertArrayEquals(a.trainPositions(), b.trainPositions());
            assertArrayEquals(a.trainPositionsClean(), b.trainPositionsClean());
            assertArrayEquals(a.trainVelocities(), b.trainVelocities());
            assertArrayEquals(a.testPositions(), b.testPositions());
            assertArrayEquals(a.testVelocities(), b.testVelocities());
            assertFalse(Arrays.equals(a.trainPositions(), c.trainPositions()), task.id());
            assertFalse(Arrays.equals(a.testPositions(), c.testPositions()), task.id());
        }
    }

    @Test
    void resultDoesNotDependOnTheThreadCount() throws Exception {
        Dataset parallel = Generator.generate(Task.TWO_BODY, 5, 6, 2, 50);
        ForkJoinPool single = new ForkJoinPool(1);
        try {
            Dataset serial = single.submit(() -> Generator.generate(Task.TWO_BODY, 5, 6, 2, 50)).get();
            assertArrayEquals(parallel.trainPositions(), serial.trainPositions());
            assertArrayEquals(parallel.testVelocities(), serial.testVelocities());
        } finally {
            single.shutdown();
        }
    }

    @Test
    void streamsAreGoldenForSeedZero() {
        // Version 1 of the data streams (L64X128MixRandom split into initial states, then noise; draw order of
        // Task.sampleInitialState). A change here changes the data of every trial: change it only on purpose.
        Dataset massSpring = Generator.generate(Task.MASS_SPRING, 0, 1, 1, 1);
        assertEquals(0.07495178961598965, massSpring.trainPositionsClean()[0]);
        assertEquals(0.2990625740252813, massSpring.trainVelocities()[0]);
        assertEquals(0.1102243753202352, massSpring.trainPositions()[0]);
        Dataset twoBody = Generator.generate(Task.TWO_BODY, 0, 1, 1, 1);
        assertEquals(0.6760497691108918, twoBody.trainPositions()[0]);
        assertEquals(0.5747382124404243, twoBody.trainPositions()[1]);
        assertEquals(-0.3347709167970044, twoBody.trainVelocities()[0]);
    }

    @Test
    void trainNoiseHasTheStatedStdAndTestIsClean() {
        for (Task task : new Task[] {Task.MASS_SPRING, Task.PENDULUM}) {
            Dataset data = Generator.generate(task, 1);
            double[] noisy = data.trainPositions();
            double[] clean = data.trainPositionsClean();
            int n = noisy.length;
            double sum = 0;
            double sumSquares = 0;
            for (int j = 0; j < n; j++) {
                double r = noisy[j] - clean[j];
                sum += r;
                sumSquares += r * r;
            }
            double mean = sum / n;
            double std = Math.sqrt((sumSquares - n * mean * mean) / (n - 1));
            double sigma = task.noiseStd();
            assertTrue(Math.abs(mean) <= STANDARD_ERRORS * sigma / Math.sqrt(n), task.id() + ": noise mean " + mean);
            assertTrue(Math.abs(std / sigma - 1) <= STANDARD_ERRORS / Math.sqrt(2.0 * n),
                    task.id() + ": noise std " + std + ", expected " + sigma);
        }
        Dataset twoBody = Generator.generate(Task.TWO_BODY, 1, SMALL_TRAIN, SMALL_TEST, 20);
        assertArrayEquals(twoBody.trainPositionsClean(), twoBody.trainPositions());
    }

    @Test
    void noiseLevelChangesNeitherTrajectoriesNorDraws() {
        Task task = Task.PENDULUM;
        Dataset low = Generator.generate(task, 4, SMALL_TRAIN, SMALL_TEST, 40, 0.1);
        Dataset none = Generator.generate(task, 4, SMALL_TRAIN, SMALL_TEST, 40, 0.0);
        Dataset high = Generator.generate(task, 4, SMALL_TRAIN, SMALL_TEST, 40, 0.3);
        assertArrayEquals(low.trainPositionsClean(), none.trainPositionsClean());
        assertArrayEquals(low.trainPositionsClean(), high.trainPositionsClean());
        assertArrayEquals(low.testPositions(), high.testPositions());
        assertArrayEquals(none.trainPositionsClean(), none.trainPositions());
        assertEquals(0.3, high.noiseStd());
        // The same standard normal draws, scaled: (high − clean)/0.3 = (low − clean)/0.1 up to rounding.
        for (int j = 0; j < low.trainPositions().length; j++) {
            double clean = low.trainPositionsClean()[j];
            assertEquals((low.trainPositions()[j] - clean) / 0.1, (high.trainPositions()[j] - clean) / 0.3,
                    DRAW_ROUNDING_TOLERANCE, "draw " + j);
        }
    }

    @Test
    void oneDofInitialStatesFollowTheirDistribution() {
        // points = 1: the initial states alone, no integration. (q, p) = r(cos φ, sin φ), p = q̇/2.
        int n = 4000;
        for (Task task : new Task[] {Task.MASS_SPRING, Task.PENDULUM}) {
            double rMin = task == Task.MASS_SPRING ? 0.1 : 1.3;
            double rMax = task == Task.MASS_SPRING ? 1.0 : 2.3;
            Dataset data = Generator.generate(task, 2, n / 2, n / 2, 1);
            double sumR = 0;
            double sumCos = 0;
            double sumSin = 0;
            for (int i = 0; i < n; i++) {
                double[] q = i < n / 2 ? data.trainPositionsClean() : data.testPositions();
                double[] v = i < n / 2 ? data.trainVelocities() : data.testVelocities();
                int j = i % (n / 2);
                double p = task.mass() * v[j];
                double r = Math.hypot(q[j], p);
                assertTrue(r >= rMin && r <= rMax, task.id() + ": radius " + r + " of trajectory " + i);
                sumR += r;
                sumCos += q[j] / r;
                sumSin += p / r;
            }
            // U(a, b) has std (b − a)/√12; cos φ and sin φ of a uniform angle have mean 0 and std 1/√2.
            assertEquals((rMin + rMax) / 2, sumR / n, STANDARD_ERRORS * (rMax - rMin) / Math.sqrt(12.0 * n));
            assertEquals(0.0, sumCos / n, STANDARD_ERRORS / Math.sqrt(2.0 * n));
            assertEquals(0.0, sumSin / n, STANDARD_ERRORS / Math.sqrt(2.0 * n));
        }
    }

    @Test
    void twoBodyInitialStatesFollowTheirDistribution() {
        int n = 4000;
        Dataset data = Generator.generate(Task.TWO_BODY, 2, n / 2, n / 2, 1);
        double sumX = 0;
        double sumFactor = 0;
        double sumFactorSquares = 0;
        for (int i = 0; i < n; i++) {
            double[] q = i < n / 2 ? data.trainPositionsClean() : data.testPositions();
            double[] v = i < n / 2 ? data.trainVelocities() : data.testVelocities();
            int j = (i % (n / 2)) * 4;
            double x = q[j];
            double y = q[j + 1];
            assertTrue(x >= 0.5 && x <= 1.5 && y >= 0.5 && y <= 1.5, "body 1 at (" + x + ", " + y + ")");
            double r = Math.hypot(x, y);
            double speed = Math.hypot(v[j], v[j + 1]);
            // Perpendicular and counter-clockwise: x × v = |x||v|, x · v = 0.
            assertEquals(r * speed, x * v[j + 1] - y * v[j], SYMMETRY_TOLERANCE, "cross product, trajectory " + i);
            assertEquals(0.0, x * v[j] + y * v[j + 1], SYMMETRY_TOLERANCE, "dot product, trajectory " + i);
            double factor = speed * 2 * Math.sqrt(r);
            sumX += x + y;
            sumFactor += factor;
            sumFactorSquares += factor * factor;
        }
        assertEquals(1.0, sumX / (2 * n), STANDARD_ERRORS / Math.sqrt(12.0 * 2 * n));
        double meanFactor = sumFactor / n;
        double stdFactor = Math.sqrt(sumFactorSquares / n - meanFactor * meanFactor);
        assertEquals(1.0, meanFactor, STANDARD_ERRORS * 0.05 / Math.sqrt(n));
        assertEquals(0.05, stdFactor, STANDARD_ERRORS * 0.05 / Math.sqrt(2.0 * n));
    }

    @Test
    void twoBodyMomentumIsZeroAndCentreOfMassStaysAtOrigin() {
        Dataset data = Generator.generate(Task.TWO_BODY, 8, SMALL_TRAIN, SMALL_TEST, Task.TWO_BODY.points());
        double[][] positions = {data.trainPositionsClean(), data.testPositions()};
        double[][] velocities = {data.trainVelocities(), data.testVelocities()};
        for (int part = 0; part < 2; part++) {
            double[] q = positions[part];
            double[] v = velocities[part];
            for (int j = 0; j < q.length; j += 4) {
                // Unit masses: total momentum v₁ + v₂, centre of mass (q₁ + q₂)/2.
                assertEquals(0.0, v[j] + v[j + 2], SYMMETRY_TOLERANCE, "momentum x at " + j);
                assertEquals(0.0, v[j + 1] + v[j + 3], SYMMETRY_TOLERANCE, "momentum y at " + j);
                assertEquals(0.0, q[j] + q[j + 2], SYMMETRY_TOLERANCE, "centre of mass x at " + j);
                assertEquals(0.0, q[j + 1] + q[j + 3], SYMMETRY_TOLERANCE, "centre of mass y at " + j);
            }
        }
    }

    @Test
    void rejectsBadSizesAndNoiseNamingTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Generator.generate(Task.PENDULUM, 0, 0, 3, 10));
        assertTrue(e.getMessage().contains("0/3/10"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Generator.generate(Task.PENDULUM, 0, 2, 2, 10, -0.1));
        assertTrue(e.getMessage().contains("-0.1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Generator.generate(null, 0));
    }
}
