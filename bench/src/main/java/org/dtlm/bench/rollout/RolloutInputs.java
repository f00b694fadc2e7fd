package org.dtlm.bench.rollout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.dtlm.blas.Blas;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npz;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;

/**
 * The models and initial conditions of the rollout benchmarks: those that ../shared/bench/torch_bench.py saved
 * (model_d{1,4}.npz in its torch layout, ics_d{1,4}.npz with q0, q1 (256, d) and dt) in the directory named by the
 * system property {@code dtlm.bench.inputs}, so that both sides time the identical computation; without it, a fresh
 * network (orthogonal weights, seed 1) and starts drawn with seed 2, Δt = 0.05.
 */
final class RolloutInputs {
    static final String PROPERTY = "dtlm.bench.inputs";
    static final int MAX_TRAJECTORIES = 256;

    final Model model;
    final double dt;
    /** (256, 3, d): q^0, q^1 and q^2 = 2 q^1 - q^0 (the velocity schemes' third point). */
    final double[] starts;

    private RolloutInputs(Model model, double dt, double[] starts) {
        this.model = model;
        this.dt = dt;
        this.starts = starts;
    }

    static RolloutInputs load(int d, Blas blas) throws IOException {
        String dir = System.getProperty(PROPERTY, "");
        if (!dir.isEmpty()) {
            Path modelFile = Path.of(dir, "model_d" + d + ".npz"), ics = Path.of(dir, "ics_d" + d + ".npz");
            if (!Files.isRegularFile(modelFile) || !Files.isRegularFile(ics)) {
                throw new IOException(dir + ": no model_d" + d + ".npz / ics_d" + d + ".npz (" + PROPERTY + ")");
            }
            Map<String, NdArray> z = Npz.read(ics);
            double[] q0 = z.get("q0").data(), q1 = z.get("q1").data();
            return new RolloutInputs(ModelFile.load(modelFile, blas), z.get("dt").data()[0], starts(q0, q1, d));
        }
        Model model = Model.create(MlpShape.of(d, 200, 200), MassMatrix.Kind.IDENTITY, 1, blas);
        var rng = Init.random(2);
        double[] q0 = new double[MAX_TRAJECTORIES * d], q1 = new double[MAX_TRAJECTORIES * d];
        double dt = 0.05;
        for (int i = 0; i < q0.length; i++) {
            q0[i] = rng.nextGaussian();
            q1[i] = q0[i] + dt * 0.5 * rng.nextGaussian();
        }
        return new RolloutInputs(model, dt, starts(q0, q1, d));
    }

    private static double[] starts(double[] q0, double[] q1, int d) {
        int b = q0.length / d;
        double[] s = new double[b * 3 * d];
        for (int t = 0; t < b; t++) {
            for (int i = 0; i < d; i++) {
                s[(t * 3) * d + i] = q0[t * d + i];
                s[(t * 3 + 1) * d + i] = q1[t * d + i];
                s[(t * 3 + 2) * d + i] = 2 * q1[t * d + i] - q0[t * d + i];
            }
        }
        return s;
    }

    /** The first {@code trajectories} starts, (trajectories, 3, d), repeated cyclically beyond the 256 there are. */
    double[] starts(int trajectories) {
        int per = 3 * model.dimension();
        double[] s = new double[trajectories * per];
        for (int b = 0; b < trajectories; b++) System.arraycopy(starts, (b % MAX_TRAJECTORIES) * per, s, b * per, per);
        return s;
    }
}
