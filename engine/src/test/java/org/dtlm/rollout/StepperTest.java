package org.dtlm.rollout;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.dtlm.io.NdArray;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.dtlm.solve.NewtonKrylovOptions;
import org.dtlm.solve.SolveStatus;
import org.junit.jupiter.api.Test;

/** The schemes' rollouts (SPEC §3, §5): closed forms, the PyTorch yardstick, energy conservation, residuals, batching. */
class StepperTest {
    private static final double EPS = Math.ulp(1.0);
    /** The quadratic network is quadratic to ~1e-10 relative (TestModels.quadratic): closed forms hold to this. */
    private static final double QUADRATIC_TOLERANCE = 1e-8;
    /** Rollouts of the yardstick agree to rounding, amplified by the dynamics over 60 points. */
    private static final double YARDSTICK_TOLERANCE = 1e-10;
    /** SPEC §3: relative variance of the modeled energy of Eq. (1) over a bounded orbit. */
    private static final double ENERGY_RELATIVE_VARIANCE = 1e-24;
    /**
     * On a runaway orbit, rounding of the growing positions sets the floor sum_n (eps |q^n| |M v^n| / dt)^2 (relative
     * to E^2): a position error of eps |q| moves E by about eps |q| |M v| / dt. The solver may leave up to
     * ftolRel x (the four position terms of Eq. (1)) ~ 16 eps |q|; this factor allows for it.
     */
    private static final double FLOOR_FACTOR = 16;

    // ------------------------------------------------------------------------------------------- closed forms
    @Test
    void leapfrogOnAQuadraticPotentialMatchesItsClosedForm() {
        double[] k = {1.0, 3.0}, minv = {0.5, 2.0};
        double dt = 0.1;
        int d = 2, points = 400;
        double[] start = {0.7, -0.2, 0.72, -0.1, 0, 0};
        try (Model model = TestModels.quadratic(k, minv);
             Stepper s = new Stepper(model, Scheme.LEAPFROG, 1, StepperOptions.of(dt))) {
            s.start(start);
            double[] q = new double[points * d], v = new double[points * d], e = new double[points];
            record(s, points, q, v, e);
            for (int i = 0; i < d; i++) {
                // q^{n+1} = (2 - dt^2 w^2) q^n - q^{n-1}: q^n = A cos(n theta) + B sin(n theta), cos theta = 1 - dt^2 w^2 / 2
                double theta = Math.acos(1 - dt * dt * k[i] * minv[i] / 2);
                double a = start[i], b = (start[d + i] - a * Math.cos(theta)) / Math.sin(theta);
                double amplitude = Math.hypot(a, b);
                for (int n = 0; n < points; n++) {
                    double want = a * Math.cos(n * theta) + b * Math.sin(n * theta);
                    assertEquals(want, q[n * d + i], QUADRATIC_TOLERANCE * amplitude, "q^" + n + "_" + i);
                    if (n == 0) {
                        assertTrue(Double.isNaN(v[i]), "leapfrog has no v^0");
                        continue;
                    }
                    double vWant = (a * (Math.cos((n + 1) * theta) - Math.cos((n - 1) * theta))
                            + b * (Math.sin((n + 1) * theta) - Math.sin((n - 1) * theta))) / (2 * dt);
                    assertEquals(vWant, v[n * d + i], QUADRATIC_TOLERANCE * amplitude / dt, "v^" + n + "_" + i);
                }
            }
            assertTrue(Double.isNaN(e[0]));
            double[] vFirst = {v[d], v[d + 1]}, qFirst = {q[d], q[d + 1]};
            double kinetic = 0.5 * (vFirst[0] * vFirst[0] / minv[0] + vFirst[1] * vFirst[1] / minv[1]);
            assertEquals(kinetic + potential(model, qFirst), e[1], 1e-6 * Math.abs(e[1]), "E^1 = 1/2 v M v + V(q^1)");
        }
    }

    @Test
    void velocitySchemesFollowTheirRecursionsFromTheCentralDifference() {
        double[] k = {2.0}, minv = {1.5};
        double dt = 0.05;
        int points = 200;
        double[] start = {0.3, 0.35, 0.38};
        for (Scheme scheme : new Scheme[]{Scheme.EULER, Scheme.SYMPLECTIC_EULER}) {
            try (Model model = TestModels.quadratic(k, minv);
                 Stepper s = new Stepper(model, scheme, 1, StepperOptions.of(dt))) {
                s.start(start);
                double[] q = new double[points], v = new double[points], e = new double[points];
                record(s, points, q, v, e);
                assertEquals(start[0], q[0], 0.0, "point 0 holds q^0");
                assertTrue(Double.isNaN(v[0]) && Double.isNaN(e[0]), "point 0 has no velocity or energy");
                double qn = start[1], vn = (start[2] - start[0]) / (2 * dt);
                for (int n = 1; n < points; n++) {
                    assertEquals(qn, q[n], QUADRATIC_TOLERANCE, scheme.id() + " q^" + n);
                    assertEquals(vn, v[n], QUADRATIC_TOLERANCE, scheme.id() + " v^" + n);
                    double vNext = vn - dt * minv[0] * k[0] * qn;
                    qn += dt * (scheme == Scheme.SYMPLECTIC_EULER ? vNext : vn);
                    vn = vNext;
                }
                double kinetic = 0.5 * v[5] * v[5] / minv[0];
                assertEquals(kinetic + potential(model, new double[]{q[5]}), e[5], 1e-6 * Math.abs(e[5]));
            }
        }
    }

    // ------------------------------------------------------------------------------------------- the yardstick
    @Test
    void everySchemeAgreesWithThePyTorchYardstick() throws IOException {
        for (String name : new String[]{"mass_spring", "two_body"}) {
            Map<String, NdArray> want = TestModels.expected(name);
            double[] start = want.get("start").data();
            int trajectories = want.get("start").dim(0);
            try (Model model = TestModels.trained(name)) {
                int d = model.dimension();
                for (Scheme scheme : Scheme.values()) {
                    String key = scheme.id().replace('-', '_');
                    NdArray qWant = want.get("q_" + key);
                    int points = qWant.dim(1);
                    RolloutResult r = Rollouts.run(model, scheme, start, points, StepperOptions.of(model.dt()));
                    assertClose(qWant.data(), r.q(), name + " " + key + " q");
                    if (scheme == Scheme.PROPOSED) {
                        assertClose(want.get("v_proposed").data(), r.v(), name + " v");
                        assertClose(want.get("E_proposed").data(), r.energy(), name + " E");
                    } else if (scheme.usesVelocity()) {
                        assertClose(want.get("v_" + key).data(), r.v(), name + " " + key + " v");
                    }
                    assertEquals(List.of(), r.failures());
                    assertEquals(trajectories * d * points, r.q().length);
                }
            }
        }
    }

    /** Equal within YARDSTICK_TOLERANCE of the largest magnitude, NaN where the other has NaN. */
    private static void assertClose(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double scale = 0;
        for (double w : want) if (Double.isFinite(w)) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i])) {
                assertTrue(Double.isNaN(got[i]), what + "[" + i + "]: expected NaN, got " + got[i]);
            } else {
                assertEquals(want[i], got[i], YARDSTICK_TOLERANCE * scale, what + "[" + i + "]");
            }
        }
    }

    // ------------------------------------------------------------------------------------------- energy, residual
    @Test
    void proposedConservesTheModeledEnergyOnBoundedOrbits() throws IOException {
        try (Model massSpring = TestModels.trained("mass_spring")) {
            double[] start = TestModels.expected("mass_spring").get("start").data();
            EnergyRecord r = energyRecord(massSpring, start, 3, 10_000);
            for (int b = 0; b < 3; b++) {
                assertTrue(r.maxPosition[b] < 2, "mass-spring orbit " + b + " is bounded: max |q| " + r.maxPosition[b]);
                assertTrue(r.relativeVariance(b) <= ENERGY_RELATIVE_VARIANCE,
                        "d = 1, trajectory " + b + ": relative variance " + r.relativeVariance(b));
            }
        }
        try (Model bowl = TestModels.bowl(4, 7)) {
            EnergyRecord r = energyRecord(bowl, TestModels.bowlStarts(3, 4, 11), 3, 10_000);
            for (int b = 0; b < 3; b++) {
                assertTrue(r.maxPosition[b] < 2, "bowl orbit " + b + " is bounded: max |q| " + r.maxPosition[b]);
                assertTrue(r.relativeVariance(b) <= ENERGY_RELATIVE_VARIANCE,
                        "d = 4, trajectory " + b + ": relative variance " + r.relativeVariance(b));
            }
        }
    }

    @Test
    void onRunawayOrbitsTheEnergyVarianceStaysAtTheRoundingFloor() throws IOException {
        try (Model twoBody = TestModels.trained("two_body"); Model random = TestModels.random(4, 3)) {
            double[] starts = TestModels.expected("two_body").get("start").data();
            for (Model model : new Model[]{twoBody, random}) {
                EnergyRecord r = energyRecord(model, starts, 3, 10_000);
                for (int b = 0; b < 3; b++) {
                    double bound = Math.max(ENERGY_RELATIVE_VARIANCE, FLOOR_FACTOR * r.floor(b));
                    assertTrue(r.relativeVariance(b) <= bound, "trajectory " + b + ": relative variance "
                            + r.relativeVariance(b) + " > " + bound + " (max |q| " + r.maxPosition[b] + ")");
                }
            }
        }
    }

    /** Per trajectory: sums of E - E^0 and its square, the rounding floor, and the largest |q|. */
    private record EnergyRecord(long points, double[] e0, double[] sum, double[] sum2, double[] floorSum,
                                double[] maxPosition) {
        double relativeVariance(int b) {
            double mean = sum[b] / points, e = e0[b] + mean;
            return (sum2[b] / points - mean * mean) / (e * e);
        }

        double floor(int b) {
            double e = e0[b] + sum[b] / points;
            return floorSum[b] / (e * e);
        }
    }

    private static EnergyRecord energyRecord(Model model, double[] starts, int trajectories, long steps) {
        int d = model.dimension();
        double dt = model.dt();
        double[] mass = model.mass().matrix();
        try (Stepper s = new Stepper(model, Scheme.PROPOSED, trajectories, StepperOptions.of(dt))) {
            s.start(starts);
            EnergyRecord r = new EnergyRecord(steps + 1, s.energies().clone(), new double[trajectories],
                    new double[trajectories], new double[trajectories], new double[trajectories]);
            PointObserver add = (n, q, v, e) -> {
                for (int b = 0; b < trajectories; b++) {
                    double x = e[b] - r.e0[b];
                    r.sum[b] += x;
                    r.sum2[b] += x * x;
                    double q2 = 0, mv2 = 0;
                    for (int i = 0; i < d; i++) {
                        q2 += q[b * d + i] * q[b * d + i];
                        double mv = 0;
                        for (int j = 0; j < d; j++) mv += mass[i * d + j] * v[b * d + j];
                        mv2 += mv * mv;
                    }
                    double floor = EPS * Math.sqrt(q2) * Math.sqrt(mv2) / dt;
                    r.floorSum[b] += floor * floor;
                    r.maxPosition[b] = Math.max(r.maxPosition[b], Math.sqrt(q2));
                }
            };
            s.observe(add);
            s.advance(steps, add);
            assertEquals(List.of(), s.failures());
            return r;
        }
    }

    @Test
    void everyStepSolvesEquationOneWithinTheSolverTolerance() throws IOException {
        NewtonKrylovOptions options = StepperOptions.SOLVER_DEFAULTS;
        try (Model model = TestModels.trained("two_body")) {
            double[] starts = TestModels.expected("two_body").get("start").data();
            int d = model.dimension(), points = 300;
            RolloutResult r = Rollouts.run(model, Scheme.PROPOSED, starts, points + 1,
                    StepperOptions.of(model.dt()).withSolver(options));
            double worst = 0;
            for (int b = 0; b < 3; b++) {
                for (int n = 1; n < points; n++) {
                    double relative = residual(model, r.q(), b, n, points + 1, d) ;
                    worst = Math.max(worst, relative);
                }
            }
            assertTrue(worst <= options.ftolRel() + RESIDUAL_EVALUATION_SLACK * EPS,
                    "largest |F|/scale of Eq. (1) " + worst + " > ftolRel " + options.ftolRel());
        }
    }

    /**
     * The residual of the rollout's Eq. (1), evaluated independently here (the model's own network passes, another
     * BLAS path), may differ from the solver's by a few roundings of the scale.
     */
    private static final double RESIDUAL_EVALUATION_SLACK = 4;

    /** |F(q^{n+1})| / scale of Eq. (1) at step n of trajectory b of q (B, T, d), M^{-1}-premultiplied and times dt^2. */
    private static double residual(Model model, double[] q, int b, int n, int points, int d) {
        double dt = model.dt(), c = 0.5 * dt * dt;
        double[] minv = model.mass().inverse();
        int next = (b * points + n + 1) * d, current = next - d, previous = current - d;
        double[] g0 = discreteGradient(model, q, next, current), g1 = discreteGradient(model, q, current, previous);
        double f2 = 0, s2 = 0;
        for (int i = 0; i < d; i++) {
            double xi = q[next + i], qi = q[current + i], pi = q[previous + i];
            double force = 0, forceScale = 0;
            for (int j = 0; j < d; j++) {
                force += minv[i * d + j] * (g0[j] + g1[j]);
                forceScale += Math.abs(minv[i * d + j]) * (Math.abs(g0[j]) + Math.abs(g1[j]));
            }
            double f = (xi - 2 * qi + pi) + c * force;
            double s = Math.abs(xi) + 2 * Math.abs(qi) + Math.abs(pi) + c * forceScale;
            f2 += f * f;
            s2 += s * s;
        }
        return Math.sqrt(f2 / s2);
    }

    /**
     * The momenta against the formulas of SPEC §3 evaluated here with the model's own passes (another BLAS path): a few
     * roundings of the largest term, amplified by the divided differences of DG.
     */
    private static final double MOMENTUM_TOLERANCE = 1e-12;

    @Test
    void theMomentaAreThoseOfSpecSectionThree() throws IOException {
        try (Model model = TestModels.trained("two_body")) {
            double[] starts = TestModels.expected("two_body").get("start").data();
            int d = model.dimension(), points = 40;
            double dt = model.dt();
            double[] mass = model.mass().matrix();
            for (Scheme scheme : Scheme.values()) {
                RolloutResult r = Rollouts.run(model, scheme, starts, points, StepperOptions.of(dt));
                for (int b = 0; b < r.trajectories(); b++) {
                    for (int n = 0; n + 1 < points; n++) {
                        int at = (b * points + n) * d;
                        // proposed: M (q^{n+1} - q^n)/dt + (dt/2) DG(q^{n+1}, q^n); the others: M v^n
                        double[] g = scheme == Scheme.PROPOSED ? discreteGradient(model, r.q(), at + d, at) : new double[d];
                        for (int i = 0; i < d; i++) {
                            double want = 0.5 * dt * g[i], size = Math.abs(want);
                            for (int j = 0; j < d; j++) {
                                double u = scheme == Scheme.PROPOSED ? (r.q()[at + d + j] - r.q()[at + j]) / dt : r.v()[at + j];
                                want += mass[i * d + j] * u;
                                size += Math.abs(mass[i * d + j] * u);
                            }
                            double got = r.p()[at + i];
                            String what = scheme.id() + " p_" + i + " of trajectory " + b + " at point " + n;
                            if (Double.isNaN(want)) {
                                assertTrue(Double.isNaN(got), what + " = " + got + " where v is NaN");
                            } else {
                                assertEquals(want, got, MOMENTUM_TOLERANCE * size, what);
                            }
                        }
                    }
                }
            }
        }
    }

    /** DG(x, y) of the points at elements x and y of q, by the model's own passes. */
    private static double[] discreteGradient(Model model, double[] q, int x, int y) {
        int d = model.dimension();
        try (Arena arena = Arena.ofConfined(); Workspace w = new Workspace(model.shape(), 2, 1)) {
            MemorySegment points = arena.allocate(JAVA_DOUBLE, 2L * d), g = arena.allocate(JAVA_DOUBLE, d);
            for (int i = 0; i < d; i++) {
                points.setAtIndex(JAVA_DOUBLE, i, q[x + i]);
                points.setAtIndex(JAVA_DOUBLE, d + i, q[y + i]);
            }
            model.mlp().forward(w, model.parameters(), points, 0, 2);
            model.mlp().discreteGradient(w, model.parameters(), 0, 1, 1, g, 0, false);
            return g.toArray(JAVA_DOUBLE);
        }
    }

    // ------------------------------------------------------------------------------------------- batching
    @Test
    void batchedRolloutsEqualOneByOneRolloutsBitForBit() {
        int d = 4, trajectories = 9, points = 25; // tiles of 4 rows and single rows
        double[] starts = TestModels.bowlStarts(trajectories, d, 5);
        try (Model model = TestModels.bowl(d, 3)) {
            for (Scheme scheme : Scheme.values()) {
                StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
                RolloutResult batch = Rollouts.run(model, scheme, starts, points, options);
                RolloutResult three = Rollouts.run(model, scheme, java.util.Arrays.copyOf(starts, 3 * 3 * d), points, options);
                for (int b = 0; b < trajectories; b++) {
                    RolloutResult one = Rollouts.run(model, scheme, TestModels.one(starts, b, d), points, options);
                    assertBitEqual(one, 0, batch, b, scheme.id() + " trajectory " + b + " alone vs in 9");
                    if (b < 3) assertBitEqual(one, 0, three, b, scheme.id() + " trajectory " + b + " alone vs in 3");
                    if (scheme == Scheme.PROPOSED) {
                        assertEquals(one.statistics().newtonIterations(0), batch.statistics().newtonIterations(b));
                        assertEquals(one.statistics().krylovIterations(0), batch.statistics().krylovIterations(b));
                    }
                }
            }
        }
    }

    @Test
    void theBitsDoNotDependOnTheThreadsSharingTheBatch() {
        int d = 4, trajectories = 70, points = 10; // 70 rows: 1 shard, or 2 of 35
        double[] starts = TestModels.bowlStarts(trajectories, d, 8);
        try (Model model = TestModels.bowl(d, 3)) {
            StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
            RolloutResult one = Rollouts.run(model, Scheme.PROPOSED, starts, points, options.withThreads(1));
            RolloutResult two = Rollouts.run(model, Scheme.PROPOSED, starts, points, options.withThreads(2));
            for (int b = 0; b < trajectories; b++) assertBitEqual(one, b, two, b, "trajectory " + b + ", 1 vs 2 threads");
        }
    }

    @Test
    void atDimensionOneTheJacobianProductsComputedInTheResidualsPassesAreThoseComputedApart() {
        // d = 1: J v = v T, T the tangent of the unit direction; with fewer than 64 trajectories T comes out of every
        // residual's own passes (two rows a product), with more out of a tangent pass when GMRES asks: the same bits
        int trajectories = 70, points = 30;
        double[] starts = TestModels.bowlStarts(trajectories, 1, 12);
        try (Model model = TestModels.bowl(1, 6)) {
            StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
            RolloutResult batch = Rollouts.run(model, Scheme.PROPOSED, starts, points, options);
            for (int b = 0; b < 3; b++) {
                RolloutResult one = Rollouts.run(model, Scheme.PROPOSED, TestModels.one(starts, b, 1), points, options);
                assertBitEqual(one, 0, batch, b, "trajectory " + b + " alone (fused) vs in 70 (apart)");
                assertEquals(one.statistics().krylovIterations(0), batch.statistics().krylovIterations(b));
            }
        }
    }

    @Test
    void theBitsDoNotDependOnTheThreadsSharingTheColumns() {
        // 3 rows: one thread alone, or 2 or 3 threads each computing its columns of every layer (200 = 96 + 104,
        // = 64 + 64 + 72) in one workspace, with barriers between the layers; over 120 points (more than 600 passes)
        // the network also runs windows of passes on the caller alone, whichever is timed faster
        int trajectories = 3, points = 120;
        for (int d : new int[]{1, 4}) {
            double[] starts = TestModels.bowlStarts(trajectories, d, 9);
            try (Model model = TestModels.bowl(d, 4)) {
                for (Scheme scheme : Scheme.values()) {
                    StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
                    RolloutResult alone = Rollouts.run(model, scheme, starts, points, options.withThreads(1));
                    for (int threads = 2; threads <= 3; threads++) {
                        RolloutResult shared = Rollouts.run(model, scheme, starts, points, options.withThreads(threads));
                        for (int b = 0; b < trajectories; b++) {
                            assertBitEqual(alone, b, shared, b,
                                    "d = " + d + ", " + scheme.id() + " trajectory " + b + ", 1 vs " + threads + " threads");
                        }
                    }
                }
            }
        }
    }

    private static void assertBitEqual(RolloutResult x, int bx, RolloutResult y, int by, String what) {
        int d = x.dimension(), points = x.points();
        for (int n = 0; n < points; n++) {
            for (int i = 0; i < d; i++) {
                int ix = (bx * points + n) * d + i, iy = (by * points + n) * d + i;
                assertEquals(Double.doubleToRawLongBits(x.q()[ix]), Double.doubleToRawLongBits(y.q()[iy]), what + ": q^" + n);
                assertEquals(Double.doubleToRawLongBits(x.v()[ix]), Double.doubleToRawLongBits(y.v()[iy]), what + ": v^" + n);
                assertEquals(Double.doubleToRawLongBits(x.p()[ix]), Double.doubleToRawLongBits(y.p()[iy]), what + ": p^" + n);
            }
            assertEquals(Double.doubleToRawLongBits(x.energy()[bx * points + n]),
                    Double.doubleToRawLongBits(y.energy()[by * points + n]), what + ": E^" + n);
        }
    }

    @Test
    void aSolveStalledAtAFoldIsRetriedFromTheLeapfrogAndForceFreeSteps() {
        // V = q^2/2 - 0.2 tanh(200 (q - 0.3)), dt = 0.1: each crossing of the step folds Eq. (1) beside its root, and
        // from some extrapolated guesses the line search stalls at a local minimum of |F| (as on learned pendulum
        // potentials with steep features); the retries find the root and the orbit goes on conserving its energy.
        double dt = 0.1;
        int steps = 300;
        double[] starts = {0.5, 0.5, 0.5, -0.5, -0.5, -0.5};
        try (Model model = TestModels.foldingStep(-0.2, 200, 0.3);
             Stepper s = new Stepper(model, Scheme.PROPOSED, 2, StepperOptions.of(dt))) {
            s.start(starts);
            double[] e0 = s.energies().clone(), worst = new double[2];
            s.advance(steps, (n, q, v, e) -> {
                for (int b = 0; b < 2; b++) worst[b] = Math.max(worst[b], Math.abs(e[b] - e0[b]) / Math.abs(e0[b]));
            });
            assertEquals(List.of(), s.failures());
            assertTrue(s.statistics().solves() > steps, "some steps were solved again: " + s.statistics().solves()
                    + " solves for " + steps + " steps");
            for (int b = 0; b < 2; b++) {
                assertTrue(worst[b] < FOLD_ENERGY_DRIFT, "trajectory " + b + ": relative energy drift " + worst[b]);
            }
        }
    }

    /** Largest relative drift of the modeled energy on the folding step (|V| ~ 0.1, its terms up to ~1e10: see
     *  {@link TestModels#quadratic}, whose O(1/eps) terms cancel to ~1e-11). */
    static final double FOLD_ENERGY_DRIFT = 1e-8;

    @Test
    void aFailingTrajectoryIsReportedAndDoesNotDisturbTheOthers() {
        int d = 4, points = 30;
        double[] starts = TestModels.bowlStarts(4, d, 9);
        double[] poisoned = starts.clone();
        // trajectory 2: 2 q^1 overflows in Eq. (1), so its very first solve sees a non-finite residual
        for (int i = 0; i < d; i++) poisoned[(2 * 3 + 1) * d + i] = Double.MAX_VALUE;
        try (Model model = TestModels.bowl(d, 3)) {
            StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
            RolloutResult clean = Rollouts.run(model, Scheme.PROPOSED, starts, points, options);
            RolloutResult r = Rollouts.run(model, Scheme.PROPOSED, poisoned, points, options);
            assertEquals(1, r.failures().size(), r.failures().toString());
            Failure f = r.failures().getFirst();
            assertEquals(2, f.trajectory());
            assertEquals(2, f.point(), "q^2 is the first position it could not compute");
            assertEquals(SolveStatus.NON_FINITE, f.status());
            for (int b : new int[]{0, 1, 3}) assertBitEqual(clean, b, r, b, "trajectory " + b);
            for (int n = 1; n < points; n++) {
                assertTrue(Double.isNaN(r.energy()[2 * points + n]), "E^" + n + " of the failed trajectory is NaN");
                if (n >= 2) assertTrue(Double.isNaN(r.q()[(2 * points + n) * d]), "q^" + n + " of the failed one is NaN");
            }
            assertEquals(Double.MAX_VALUE, r.q()[(2 * points + 1) * d], 0.0, "q^1 is still known");
        }
    }

    // ------------------------------------------------------------------------------------------- API contracts
    @Test
    void startRejectsBadInputNamingIt() {
        try (Model model = TestModels.bowl(2, 1); Stepper s = new Stepper(model, Scheme.EULER, 2, StepperOptions.of(0.1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.start(new double[8]));
            assertTrue(e.getMessage().contains("(2, 3, 2)"), e.getMessage());
            double[] start = new double[12];
            start[7] = Double.NaN;
            e = assertThrows(IllegalArgumentException.class, () -> s.start(start));
            assertEquals("start: trajectory 1, point 0, coordinate 1 is NaN", e.getMessage());
            assertThrows(IllegalStateException.class, s::advance, "not started");
        }
        assertThrows(IllegalArgumentException.class, () -> StepperOptions.of(-0.1));
    }

    @Test
    void anObserverThatAdvancesTheStepperIsRejected() {
        try (Model model = TestModels.bowl(1, 1); Stepper s = new Stepper(model, Scheme.PROPOSED, 1, StepperOptions.of(0.1))) {
            s.start(new double[]{0.1, 0.12, 0.14});
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> s.advance(3, (n, q, v, energy) -> s.advance()));
            assertTrue(e.getMessage().contains("re-entered"), e.getMessage());
            s.advance(); // the guard was released
            assertEquals(2, s.point());
        }
    }

    @Test
    void steppersSharingAModelRunConcurrently() throws Exception {
        int d = 4, points = 200, threads = 4;
        double[] starts = TestModels.bowlStarts(threads, d, 21);
        try (Model model = TestModels.bowl(d, 3)) {
            StepperOptions options = StepperOptions.of(TestModels.BOWL_DT);
            List<RolloutResult> alone = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                alone.add(Rollouts.run(model, Scheme.PROPOSED, TestModels.one(starts, t, d), points, options));
            }
            RolloutResult[] together = new RolloutResult[threads];
            List<Thread> running = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int at = t;
                running.add(Thread.ofPlatform().start(() -> together[at] =
                        Rollouts.run(model, Scheme.PROPOSED, TestModels.one(starts, at, d), points, options)));
            }
            for (Thread thread : running) thread.join();
            for (int t = 0; t < threads; t++) assertBitEqual(alone.get(t), 0, together[t], 0, "thread " + t);
        }
    }

    @Test
    void aSteadyStateStepAllocatesNothing() {
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        for (Scheme scheme : Scheme.values()) {
            for (int trajectories : new int[]{1, 8}) {
                try (Model model = TestModels.bowl(4, 3);
                     Stepper s = new Stepper(model, scheme, trajectories, StepperOptions.of(TestModels.BOWL_DT))) {
                    s.start(TestModels.bowlStarts(trajectories, 4, 2));
                    PointObserver none = (n, q, v, e) -> { };
                    long fewest = Long.MAX_VALUE;
                    // the JIT needs a while before escape analysis removes every temporary (C2 may also recompile
                    // after an uncommon trap, longer on a loaded machine): ask for one clean run before a deadline
                    long deadline = System.nanoTime() + ALLOCATION_PATIENCE_NANOS;
                    while (fewest > 0 && System.nanoTime() < deadline) {
                        long before = bean.getCurrentThreadAllocatedBytes();
                        s.advance(ALLOCATION_STEPS, none);
                        fewest = Math.min(fewest, bean.getCurrentThreadAllocatedBytes() - before);
                    }
                    assertEquals(0, fewest, scheme.id() + ", B = " + trajectories + ": bytes allocated by "
                            + ALLOCATION_STEPS + " steps");
                }
            }
        }
    }

    private static final int ALLOCATION_STEPS = 50;
    private static final long ALLOCATION_PATIENCE_NANOS = 60_000_000_000L;

    // ------------------------------------------------------------------------------------------- helpers
    /** Copies the points 0 .. points-1 of a one-trajectory stepper into q, v (points, d) and e (points). */
    private static void record(Stepper s, int points, double[] q, double[] v, double[] e) {
        int d = s.dimension();
        PointObserver keep = (n, qn, vn, en) -> {
            System.arraycopy(qn, 0, q, (int) n * d, d);
            System.arraycopy(vn, 0, v, (int) n * d, d);
            e[(int) n] = en[0];
        };
        s.observe(keep);
        s.advance(points - 1, keep);
    }

    /** V(q) of one point by the model's own network. */
    private static double potential(Model model, double[] q) {
        try (Arena arena = Arena.ofConfined(); Workspace w = new Workspace(model.shape(), 1, 1)) {
            MemorySegment x = arena.allocate(JAVA_DOUBLE, q.length);
            MemorySegment.copy(q, 0, x, JAVA_DOUBLE, 0, q.length);
            model.mlp().forward(w, model.parameters(), x, 0, 1);
            return w.value().getAtIndex(JAVA_DOUBLE, 0);
        }
    }
}
