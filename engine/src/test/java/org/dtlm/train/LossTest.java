package org.dtlm.train;

import java.lang.foreign.Arena;
import java.util.random.RandomGenerator;

import org.dtlm.blas.Blas;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.ReferenceMlp;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The losses of SPEC §4-5 and their parameter gradients, for every scheme and every mass option. */
class LossTest {
    /** Loss against the per-stencil scalar evaluation: both sum the same terms in other orders. */
    static final double LOSS_REL = 1e-12;
    /**
     * Central differences with step FD_STEP: relative error FD_REL with an absolute floor of FD_ROUNDING_ULPS ulps of
     * the loss divided by the step (the rounding error of the difference quotient itself).
     */
    static final double FD_STEP = 1e-5, FD_REL = 1e-6, FD_ROUNDING_ULPS = 64;
    /** Shared against unshared pairs: the same arithmetic up to GEMM blocking. */
    static final double SHARE_REL = 1e-12;

    static final int TRAJ = 3, POINTS = 9, D = 2;
    static final double DT = 0.1;

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Scheme s : Scheme.values()) {
            for (MassMatrix.Kind k : new MassMatrix.Kind[]{MassMatrix.Kind.IDENTITY, MassMatrix.Kind.DIAGONAL, MassMatrix.Kind.FULL}) {
                out.add(Arguments.of(s, k));
            }
        }
        return out;
    }

    /** Smooth noisy trajectories (TRAJ, POINTS, D). */
    static double[] data(long seed) {
        RandomGenerator rng = Init.random(seed);
        double[] q = new double[TRAJ * POINTS * D];
        for (int b = 0; b < TRAJ; b++) {
            for (int j = 0; j < D; j++) {
                double amp = 0.5 + rng.nextDouble(), phase = 6 * rng.nextDouble(), w = 1 + rng.nextDouble();
                for (int n = 0; n < POINTS; n++) {
                    q[(b * POINTS + n) * D + j] = amp * Math.sin(w * n * DT + phase) + 0.01 * rng.nextGaussian();
                }
            }
        }
        return q;
    }

    /** A model whose mass parameters are not at their initial values, so their gradients are generic. */
    static Model model(MassMatrix.Kind kind) {
        Model m = Model.create(MlpShape.of(D, 6, 5), kind, 3, Blas.get());
        Parameters p = m.parameters();
        RandomGenerator rng = Init.random(5);
        for (long i = p.layout().mass(); i < p.layout().size(); i++) p.set(i, p.get(i) + 0.3 * rng.nextGaussian());
        for (int k = 0; k < 2; k++) {
            for (int j = 0; j < m.shape().width(k); j++) p.set(p.layout().bias(k) + j, 0.2 * rng.nextGaussian());
        }
        m.parametersChanged();
        return m;
    }

    /** Every stencil of every trajectory, as the trainer's full batch. */
    static Batch fullBatch(Scheme scheme, double[] q, boolean share) {
        int per = scheme.stencils(POINTS), n = TRAJ * per;
        int[] tr = new int[n], c = new int[n];
        for (int i = 0; i < n; i++) {
            tr[i] = i / per;
            c[i] = 1 + i % per;
        }
        Batch b = new Batch(scheme, D, n, share ? Batch.Layout.RUNS : Batch.Layout.BLOCKS);
        b.fill(q, POINTS, DT, tr, c, n);
        return b;
    }

    /** The loss term by term with the scalar reference network. */
    static double referenceLoss(Model m, Scheme scheme, double[] q) {
        Parameters p = m.parameters();
        double[] minv = m.mass().inverse();
        double sum = 0;
        int count = 0;
        for (int b = 0; b < TRAJ; b++) {
            for (int n = 1; n <= scheme.stencils(POINTS); n++) {
                double[] qm = point(q, b, n - 1), q0 = point(q, b, n), qp = point(q, b, n + 1);
                double[] f;
                if (scheme == Scheme.PROPOSED) {
                    double[] g1 = ReferenceMlp.discreteGradient(p, qp, q0), g0 = ReferenceMlp.discreteGradient(p, q0, qm);
                    f = new double[D];
                    for (int i = 0; i < D; i++) f[i] = 0.5 * (g1[i] + g0[i]);
                } else {
                    f = ReferenceMlp.gradient(p, q0);
                }
                for (int i = 0; i < D; i++) {
                    double a = scheme.usesVelocity()
                            ? ((point(q, b, n + 2)[i] - qp[i]) / (2 * DT) - 0 + 0) / DT - ((q0[i] - qm[i]) / (2 * DT)) / DT
                            : (qp[i] - 2 * q0[i] + qm[i]) / (DT * DT);
                    if (scheme.usesVelocity()) {
                        double vNext = (point(q, b, n + 2)[i] - q0[i]) / (2 * DT), vNow = (qp[i] - qm[i]) / (2 * DT);
                        a = (vNext - vNow) / DT;
                    }
                    double r = a;
                    for (int j = 0; j < D; j++) r += minv[i * D + j] * f[j];
                    sum += r * r;
                    count++;
                }
            }
        }
        return sum / count;
    }

    static double[] point(double[] q, int b, int n) {
        double[] x = new double[D];
        System.arraycopy(q, (b * POINTS + n) * D, x, 0, D);
        return x;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void lossMatchesTheTermByTermEvaluation(Scheme scheme, MassMatrix.Kind kind) {
        double[] q = data(1);
        try (Model m = model(kind); Arena arena = Arena.ofConfined(); Batch b = fullBatch(scheme, q, true);
             Loss loss = new Loss(m, scheme, b)) {
            Parameters grad = Parameters.allocate(m.parameters().layout(), arena);
            double got = loss.evaluate(b, grad), want = referenceLoss(m, scheme, q);
            assertEquals(want, got, LOSS_REL * want, scheme.id() + " / " + kind.id());
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(Scheme scheme, MassMatrix.Kind kind) {
        double[] q = data(2);
        try (Model m = model(kind); Arena arena = Arena.ofConfined(); Batch b = fullBatch(scheme, q, true);
             Loss loss = new Loss(m, scheme, b)) {
            Parameters p = m.parameters(), grad = Parameters.allocate(p.layout(), arena), scratch = Parameters.allocate(p.layout(), arena);
            double l0 = loss.evaluate(b, grad);
            double floor = FD_ROUNDING_ULPS * Math.ulp(l0) / FD_STEP;
            for (long i = 0; i < p.layout().size(); i++) {
                double keep = p.get(i);
                p.set(i, keep + FD_STEP);
                m.parametersChanged();
                double lp = loss.evaluate(b, scratch);
                p.set(i, keep - FD_STEP);
                m.parametersChanged();
                double lm = loss.evaluate(b, scratch);
                p.set(i, keep);
                m.parametersChanged();
                double fd = (lp - lm) / (2 * FD_STEP), got = grad.get(i);
                long at = i;
                assertTrue(Math.abs(got - fd) <= FD_REL * Math.max(Math.abs(fd), Math.abs(got)) + floor,
                        () -> scheme.id() + " / " + kind.id() + ": dL/dtheta[" + at + "] = " + got + ", central difference " + fd);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sharedPairsGiveTheSameLossAndGradientAsSeparateOnes(Scheme scheme, MassMatrix.Kind kind) {
        if (scheme != Scheme.PROPOSED) return;
        double[] q = data(3);
        try (Model m = model(kind); Arena arena = Arena.ofConfined(); Batch shared = fullBatch(scheme, q, true);
             Batch separate = fullBatch(scheme, q, false); Loss l1 = new Loss(m, scheme, shared);
             Loss l2 = new Loss(m, scheme, separate)) {
            assertTrue(shared.rows < separate.rows, "sharing reuses points");
            Parameters g1 = Parameters.allocate(m.parameters().layout(), arena), g2 = Parameters.allocate(m.parameters().layout(), arena);
            double a = l1.evaluate(shared, g1), b = l2.evaluate(separate, g2);
            assertEquals(b, a, SHARE_REL * b);
            for (long i = 0; i < g1.layout().size(); i++) {
                assertEquals(g2.get(i), g1.get(i), SHARE_REL * Math.abs(g2.get(i)) + 1e-15, "dL/dtheta[" + i + "]");
            }
        }
    }

    /** A minibatch with repeats and neighbouring stencils: runs and blocks give the same loss and gradient. */
    @ParameterizedTest
    @MethodSource("cases")
    void runsAndBlocksAgreeOnAMinibatchWithRepeats(Scheme scheme, MassMatrix.Kind kind) {
        if (scheme != Scheme.PROPOSED) return;
        double[] q = data(4);
        int[] tr = {2, 0, 2, 1, 2, 0, 2}, c = {3, 2, 4, 1, 3, 6, 6};   // (2, 3) twice; (2, 3) (2, 4) and (2, 6) in one run
        try (Model m = model(kind); Arena arena = Arena.ofConfined();
             Batch runs = new Batch(scheme, D, tr.length, Batch.Layout.RUNS);
             Batch blocks = new Batch(scheme, D, tr.length, Batch.Layout.BLOCKS);
             Batch cheaper = new Batch(scheme, D, tr.length, Batch.Layout.CHEAPER);
             Loss l1 = new Loss(m, scheme, runs); Loss l2 = new Loss(m, scheme, blocks)) {
            runs.fill(q, POINTS, DT, tr, c, tr.length);
            blocks.fill(q, POINTS, DT, tr, c, tr.length);
            assertEquals(3 * tr.length, blocks.rows);
            assertEquals(2 * tr.length, blocks.pairs);
            assertEquals(3 + 3 + 3 + 6, runs.rows, "runs of points (0, 1..3), (0, 5..7), (1, 0..2), (2, 2..7)");
            Parameters g1 = Parameters.allocate(m.parameters().layout(), arena), g2 = Parameters.allocate(m.parameters().layout(), arena);
            double a = l1.evaluate(runs, g1), b = l2.evaluate(blocks, g2);
            assertEquals(b, a, SHARE_REL * b);
            for (long i = 0; i < g1.layout().size(); i++) {
                assertEquals(g2.get(i), g1.get(i), SHARE_REL * Math.abs(g2.get(i)) + 1e-15, "dL/dtheta[" + i + "]");
            }
            // rows + pairs: runs 15 + 14 = 29 < blocks 21 + 14 = 35, so the cheaper layout is the runs
            cheaper.fill(q, POINTS, DT, tr, c, tr.length);
            assertEquals(runs.rows, cheaper.rows);
            cheaper.fill(q, POINTS, DT, new int[]{0, 1, 2}, new int[]{2, 4, 6}, 3);
            assertEquals(9, cheaper.rows, "three isolated stencils: blocks, 9 rows + 6 pairs < 9 rows + 8 pairs");
            assertEquals(6, cheaper.pairs);
        }
    }
}
