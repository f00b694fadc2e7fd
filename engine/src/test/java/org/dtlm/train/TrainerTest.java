package org.dtlm.train;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import org.dtlm.blas.Blas;
import org.dtlm.data.Dataset;
import org.dtlm.data.Generator;
import org.dtlm.data.Task;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer (SPEC §4-6): learning, reproducibility, resumption, minibatch draws, data checks, allocation. */
class TrainerTest {
    static final MlpShape SMALL = MlpShape.of(1, 16, 16);

    // ------------------------------------------------------------------------------------------ learning
    /**
     * Mass-spring training for the learning test: noise-free, 5 of SPEC §6's 25 trajectories, of 40 points (2.6
     * periods) instead of 100, widths 16 instead of 200 and 1000 steps at lr 1e-2 instead of 2000 at 1e-3, to keep it
     * to seconds.
     */
    static final int LEARN_TRAJECTORIES = 5, LEARN_POINTS = 40, LEARN_STEPS = 1000, LEARN_WIDTH = 16;
    static final double LEARN_LR = 1e-2;
    /**
     * From exact samples of q'' = -4q (omega = 2) the proposed loss is zero for the linear force M^{-1} grad V = c q with
     * c = kappa / (1 - kappa dt^2 / 4), kappa = 4 sin^2(omega dt / 2) / dt^2 (for V = c q^2 / 2, DG(x, y) = c (x + y) / 2,
     * so Eq. (1) reads a (1 + c dt^2 / 4) = -c q): the scheme's own O(dt^2) bias, c = 4.111 at dt = 20/99.
     * The small, briefly trained net must reach that line within FIT_TOL of the force scale 4 max|q| everywhere on the
     * data range (measured: 1.35 %, largest at the ends of the range, where samples are sparse).
     */
    static final double FIT_TOL = 0.02;
    /** So the learned force matches the true 4q within the scheme's bias, 0.111 / 4 = 2.8 %, plus FIT_TOL. */
    static final double TRUE_TOL = 0.05;

    @Test
    void theProposedSchemeLearnsTheMassSpringForce() throws IOException {
        Dataset ds = Generator.generate(Task.MASS_SPRING, 0, LEARN_TRAJECTORIES, 1, LEARN_POINTS, 0);
        TrainingData data = new TrainingData(ds.trainPositions(), ds.trainTrajectories(), ds.points(), 1, ds.dt(), "mass-spring");
        double qMax = 0;
        for (double q : ds.trainPositions()) qMax = Math.max(qMax, Math.abs(q));
        double dt = ds.dt(), kappa = 4 * Math.pow(Math.sin(dt), 2) / (dt * dt), c = kappa / (1 - kappa * dt * dt / 4);
        Trainer.Options o = new Trainer.Options(Scheme.PROPOSED, LEARN_STEPS, Trainer.FULL_BATCH, LEARN_LR, 0, 0, 0);
        try (Model m = Model.create(MlpShape.of(1, LEARN_WIDTH, LEARN_WIDTH), MassMatrix.Kind.IDENTITY, 0, Blas.get());
             Trainer t = new Trainer(m, data, o)) {
            double first = t.step();
            t.train((s, l) -> { }, null);
            assertTrue(t.lastLoss() < 1e-3 * first, "loss " + first + " -> " + t.lastLoss());
            int n = 41;
            double[] q = new double[n], force = force(m, q, qMax);
            double scale = 4 * qMax;
            for (int i = 0; i < n; i++) {
                assertEquals(c * q[i], force[i], FIT_TOL * scale, "M^-1 grad V(" + q[i] + ") against the scheme's " + c + " q");
                assertEquals(4 * q[i], force[i], TRUE_TOL * scale, "M^-1 grad V(" + q[i] + ") against the true 4 q");
            }
        }
    }

    /** M^{-1} grad V at n points spread evenly over [-qMax, qMax] (written into q). */
    static double[] force(Model m, double[] q, double qMax) {
        int n = q.length;
        try (Arena arena = Arena.ofConfined(); Workspace w = new Workspace(m.shape(), n, n)) {
            MemorySegment x = arena.allocate(JAVA_DOUBLE, n), g = arena.allocate(JAVA_DOUBLE, n), f = arena.allocate(JAVA_DOUBLE, n);
            for (int i = 0; i < n; i++) {
                q[i] = -qMax + 2 * qMax * i / (n - 1);
                x.setAtIndex(JAVA_DOUBLE, i, q[i]);
            }
            m.mlp().forward(w, m.parameters(), x, 0, n);
            m.mlp().gradient(w, m.parameters(), 0, n, g, 0, false);
            m.mass().applyInverse(f, 0, g, 0, n);
            return f.toArray(JAVA_DOUBLE);
        }
    }

    // ----------------------------------------------------------------------------------- reproducibility
    static TrainingData smallData(int trajectories, int points) {
        Dataset ds = Generator.generate(Task.MASS_SPRING, 3, trajectories, 1, points);
        return new TrainingData(ds.trainPositions(), trajectories, points, 1, ds.dt(), "data.npy");
    }

    static double[] train(TrainingData data, Trainer.Options o, MassMatrix.Kind kind) throws IOException {
        return train(data, o, kind, 1);
    }

    static double[] train(TrainingData data, Trainer.Options o, MassMatrix.Kind kind, int workers) throws IOException {
        try (Model m = Model.create(SMALL, kind, 7, Blas.get()); Trainer t = new Trainer(m, data, o, workers)) {
            t.train((s, l) -> { }, null);
            return m.parameters().toArray();
        }
    }

    @Test
    void theSameInputsGiveTheSameModelBitForBit() throws IOException {
        TrainingData data = smallData(4, 30);
        for (int batch : new int[]{Trainer.FULL_BATCH, 17}) {
            Trainer.Options o = new Trainer.Options(Scheme.PROPOSED, 25, batch, 1e-2, 1e-4, 5, 0);
            double[] a = train(data, o, MassMatrix.Kind.FULL), b = train(data, o, MassMatrix.Kind.FULL);
            assertArrayEquals(a, b, 0.0, "batch " + batch);
        }
    }

    /** Shards sum the same terms in another order: the first step's loss and gradient agree to rounding. */
    static final double SHARD_REL = 1e-12;

    @Test
    void shardsGiveTheLossAndGradientOfTheWholeBatch() {
        TrainingData data = smallData(5, 30);
        for (Scheme scheme : new Scheme[]{Scheme.PROPOSED, Scheme.LEAPFROG}) {
            for (int batch : new int[]{Trainer.FULL_BATCH, 41}) {
                Trainer.Options o = new Trainer.Options(scheme, 10, batch, 1e-2, 1e-4, 5, 0);
                double[] whole = firstStep(data, o, 1), split = firstStep(data, o, 3);
                for (int i = 0; i < whole.length; i++) {
                    assertEquals(whole[i], split[i], SHARD_REL * Math.abs(whole[i]) + 1e-300,
                            scheme.id() + " batch " + batch + (i == 0 ? " loss" : " dL/dtheta[" + (i - 1) + "]"));
                }
            }
        }
    }

    /** The loss and the gradient of the first step: (1 + parameters). */
    static double[] firstStep(TrainingData data, Trainer.Options o, int workers) {
        try (Model m = Model.create(SMALL, MassMatrix.Kind.FULL, 7, Blas.get()); ShardedLoss loss = new ShardedLoss(m, data, o, workers)) {
            assertEquals(workers, loss.shards());
            double l = loss.evaluate(1);
            double[] g = loss.gradient().toArray(), out = new double[g.length + 1];
            out[0] = l;
            System.arraycopy(g, 0, out, 1, g.length);
            return out;
        }
    }

    @Test
    void shardedRunsAreReproducibleAndResumable(@TempDir Path dir) throws IOException {
        TrainingData data = smallData(4, 30);
        Trainer.Options o = new Trainer.Options(Scheme.PROPOSED, 30, 13, 1e-2, 1e-4, 5, 10);
        double[] a = train(data, o, MassMatrix.Kind.DIAGONAL, 2), b = train(data, o, MassMatrix.Kind.DIAGONAL, 2);
        assertArrayEquals(a, b, 0.0);
        Path ckpt = dir.resolve("m.ckpt.npz");
        try (Model m = Model.create(SMALL, MassMatrix.Kind.DIAGONAL, 7, Blas.get()); Trainer t = new Trainer(m, data, o, 2)) {
            assertThrows(IllegalStateException.class, () -> t.train((s, l) -> {
                if (s == 25) throw new IllegalStateException("killed");
            }, ckpt));
        }
        try (Model m = Model.create(SMALL, MassMatrix.Kind.DIAGONAL, 7, Blas.get()); Trainer t = new Trainer(m, data, o, 1)) {
            String message = assertThrows(IllegalArgumentException.class, () -> Checkpoint.restore(ckpt, t)).getMessage();
            assertTrue(message.contains("--threads"), message);
        }
        try (Model m = Model.create(SMALL, MassMatrix.Kind.DIAGONAL, 7, Blas.get()); Trainer t = new Trainer(m, data, o, 2)) {
            Checkpoint.restore(ckpt, t);
            t.train((s, l) -> { }, null);
            assertArrayEquals(a, m.parameters().toArray(), 0.0);
        }
    }

    @Test
    void resumingFromACheckpointReachesTheUninterruptedModel(@TempDir Path dir) throws IOException {
        TrainingData data = smallData(4, 30);
        for (Scheme scheme : new Scheme[]{Scheme.PROPOSED, Scheme.EULER}) {
            Trainer.Options o = new Trainer.Options(scheme, 30, 13, 1e-2, 1e-4, 5, 10);
            double[] uninterrupted = train(data, o, MassMatrix.Kind.DIAGONAL);
            Path ckpt = dir.resolve(scheme.id() + ".ckpt.npz");
            try (Model m = Model.create(SMALL, MassMatrix.Kind.DIAGONAL, 7, Blas.get()); Trainer t = new Trainer(m, data, o)) {
                // a run killed at step 25: its last checkpoint is the one of step 20
                assertThrows(IllegalStateException.class, () -> t.train((s, l) -> {
                    if (s == 25) throw new IllegalStateException("killed");
                }, ckpt));
            }
            assertTrue(Files.exists(ckpt));
            try (Model m = Model.create(SMALL, MassMatrix.Kind.DIAGONAL, 7, Blas.get()); Trainer t = new Trainer(m, data, o)) {
                Checkpoint.restore(ckpt, t);
                assertEquals(20, t.completedSteps());
                t.train((s, l) -> { }, null);
                assertArrayEquals(uninterrupted, m.parameters().toArray(), 0.0, scheme.id());
            }
        }
    }

    @Test
    void aCheckpointOfOtherOptionsOrDataIsRefused(@TempDir Path dir) throws IOException {
        TrainingData data = smallData(4, 30);
        Trainer.Options o = new Trainer.Options(Scheme.LEAPFROG, 30, 13, 1e-2, 0, 5, 10);
        Path ckpt = dir.resolve("m.ckpt.npz");
        try (Model m = Model.create(SMALL, MassMatrix.Kind.IDENTITY, 7, Blas.get()); Trainer t = new Trainer(m, data, o)) {
            t.step();
            Checkpoint.save(ckpt, t);
        }
        Trainer.Options otherLr = new Trainer.Options(Scheme.LEAPFROG, 30, 13, 2e-2, 0, 5, 10);
        String message = refusal(ckpt, data, otherLr, 7);
        assertTrue(message.contains("--lr") && message.contains("0.01") && message.contains("0.02"), message);
        assertTrue(refusal(ckpt, smallData(4, 31), o, 7).contains("shape"));
        double[] q = data.positions().clone();
        q[5] += 1e-9;
        assertTrue(refusal(ckpt, new TrainingData(q, 4, 30, 1, data.dt(), "data.npy"), o, 7).contains("other data"));
        assertTrue(refusal(ckpt, data, o, 8).contains("initial model"));
    }

    static String refusal(Path ckpt, TrainingData data, Trainer.Options o, long initSeed) {
        try (Model m = Model.create(SMALL, MassMatrix.Kind.IDENTITY, initSeed, Blas.get()); Trainer t = new Trainer(m, data, o)) {
            return assertThrows(IllegalArgumentException.class, () -> Checkpoint.restore(ckpt, t)).getMessage();
        }
    }

    @Test
    void checkpointPathReplacesTheExtension() {
        assertEquals(Path.of("/x/m.ckpt.npz"), Checkpoint.pathFor(Path.of("/x/m.npz")));
        assertEquals(Path.of("model.ckpt.npz"), Checkpoint.pathFor(Path.of("model")));
    }

    // ------------------------------------------------------------------------------------ minibatch draws
    /** Counts of 200 000 draws over 50 bins: binomial sd sqrt(4000) = 63; allow 5 sd. */
    static final int DRAWS = 200_000, BINS = 50;
    static final double DRAW_SD = 5;

    @Test
    void drawsAreUniformStatelessAndDependOnSeedAndStep() {
        long[] count = new long[BINS];
        for (int i = 0; i < DRAWS; i++) {
            long s = Trainer.draw(11, 1 + i / 1000, i % 1000, BINS);
            assertTrue(s >= 0 && s < BINS);
            count[(int) s]++;
        }
        double mean = (double) DRAWS / BINS, sd = Math.sqrt(mean * (1 - 1.0 / BINS));
        for (int b = 0; b < BINS; b++) assertEquals(mean, count[b], DRAW_SD * sd, "bin " + b);
        assertEquals(Trainer.draw(11, 7, 3, 1_000_000), Trainer.draw(11, 7, 3, 1_000_000));
        assertFalse(Trainer.draw(11, 7, 3, 1L << 40) == Trainer.draw(12, 7, 3, 1L << 40));
        assertFalse(Trainer.draw(11, 7, 3, 1L << 40) == Trainer.draw(11, 8, 3, 1L << 40));
        assertFalse(Trainer.draw(11, 7, 3, 1L << 40) == Trainer.draw(11, 7, 4, 1L << 40));
    }

    // ---------------------------------------------------------------------------------------- data checks
    @Test
    void badDataIsRejectedWithItsPlace() {
        double[] q = new double[2 * 5 * 3];
        q[(1 * 5 + 4) * 3 + 2] = Double.NaN;
        String m = assertThrows(IllegalArgumentException.class, () -> new TrainingData(q, 2, 5, 3, 0.1, "data.npy")).getMessage();
        assertEquals("data.npy: trajectory 1, point 4, coordinate 2 is NaN", m);
        double[] ok = new double[2 * 3 * 1];
        assertThrows(IllegalArgumentException.class, () -> new TrainingData(ok, 2, 3, 1, 0, "d"));
        assertThrows(IllegalArgumentException.class, () -> new TrainingData(ok, 2, 3, 1, Double.POSITIVE_INFINITY, "d"));
        TrainingData three = new TrainingData(ok, 2, 3, 1, 0.1, "d");
        three.requireStencils(Scheme.PROPOSED);
        three.requireStencils(Scheme.LEAPFROG);
        String few = assertThrows(IllegalArgumentException.class, () -> three.requireStencils(Scheme.SYMPLECTIC_EULER)).getMessage();
        assertTrue(few.contains("3 points") && few.contains("at least 4"), few);
        try (Model model = Model.create(MlpShape.of(2, 4), MassMatrix.Kind.IDENTITY, 0, Blas.get())) {
            assertThrows(IllegalArgumentException.class, () -> new Trainer(model, three, Trainer.Options.defaults(Scheme.PROPOSED)));
        }
    }

    // ----------------------------------------------------------------------------------------- allocation
    /**
     * Steady state: some run of this many consecutive calls allocates nothing, within this many attempts (the JIT
     * removes the allocations of interpreted code). The whole step is measured by TrainStepBench with -prof gc.
     */
    static final int QUIET_CALLS = 50, ATTEMPTS = 400;

    @Test
    void drawingAMinibatchAndTheAdamUpdateAllocateNothing() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        TrainingData data = smallData(40, 60);
        Trainer.Options o = new Trainer.Options(Scheme.PROPOSED, Integer.MAX_VALUE, 600, 1e-3, 1e-4, 5, 0);
        try (Model m = Model.create(SMALL, MassMatrix.Kind.IDENTITY, 7, Blas.get()); Trainer t = new Trainer(m, data, o);
             Arena arena = Arena.ofConfined()) {
            Parameters grad = Parameters.allocate(m.parameters().layout(), arena);
            long allocated = -1;
            int step = 0;
            for (int attempt = 0; attempt < ATTEMPTS && allocated != 0; attempt++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < QUIET_CALLS; i++) {
                    t.drawBatch(++step);
                    t.adam().update(m.parameters(), grad);
                }
                allocated = mx.getCurrentThreadAllocatedBytes() - before;
            }
            assertEquals(0, allocated, "bytes allocated by " + QUIET_CALLS + " draws and updates");
        }
    }
}
