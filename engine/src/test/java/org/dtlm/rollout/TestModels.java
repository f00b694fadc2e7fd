package org.dtlm.rollout;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.random.RandomGenerator;

import org.dtlm.blas.Blas;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npz;
import org.dtlm.nn.Init;
import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;

/** Models and starts for the rollout tests: the trained fixtures of data/fixtures and potentials built by hand. */
final class TestModels {

    private TestModels() {
    }

    /** Surefire runs in the module directory, engine/. */
    static Path fixture(String name) {
        Path path = Path.of("..", "data", "fixtures", name);
        assertTrue(Files.isRegularFile(path), "fixture missing: " + path.toAbsolutePath());
        return path;
    }

    /** rollout_NAME.npz of make_rollout_fixture.py: a model trained by the PyTorch yardstick. */
    static Model trained(String name) throws IOException {
        return ModelFile.load(fixture("rollout_" + name + ".npz"), Blas.get());
    }

    /** rollout_NAME_expected.npz: starts (B, 3, d) and the yardstick's rollouts of every scheme. */
    static Map<String, NdArray> expected(String name) throws IOException {
        return Npz.read(fixture("rollout_" + name + "_expected.npz"));
    }

    /**
     * V(q) = sum_i w [tanh(beta + eps q_i) + tanh(beta - eps q_i)] = const + sum_i 1/2 k_i q_i^2 + O(eps^2 q^4) relative:
     * a one-hidden-layer network (2d units) that is quadratic to ~1e-10 relative for |q| ~ 1, with a fixed mass.
     * The O(1/eps) terms of grad V cancel to ~1e-11 relative.
     */
    static Model quadratic(double[] k, double[] minvDiagonal) {
        int d = k.length;
        MlpShape shape = MlpShape.of(d, 2 * d);
        ParameterLayout layout = new ParameterLayout(shape, 0);
        double[] p = new double[(int) layout.potentialSize()];
        putQuadratic(layout, p, k);
        double[] minv = new double[d * d];
        for (int i = 0; i < d; i++) minv[i * d + i] = minvDiagonal[i];
        return Model.of(shape, MassMatrix.Kind.FIXED, p, minv, null, Blas.get());
    }

    /** The units 0 .. 2d - 1 of a one-hidden-layer network's parameters p that make {@link #quadratic}'s V. */
    private static void putQuadratic(ParameterLayout layout, double[] p, double[] k) {
        int d = k.length;
        double t = Math.tanh(QUADRATIC_BETA);
        double t2 = -2 * t * (1 - t * t); // tanh''(beta)
        for (int i = 0; i < d; i++) {
            for (int s = 0; s < 2; s++) {
                int unit = 2 * i + s;
                p[(int) layout.weight(0) + unit * d + i] = s == 0 ? QUADRATIC_EPS : -QUADRATIC_EPS;
                p[(int) layout.bias(0) + unit] = QUADRATIC_BETA;
                // w tanh''(beta) eps^2 q^2 = 1/2 k q^2
                p[(int) layout.output() + unit] = k[i] / (2 * t2 * QUADRATIC_EPS * QUADRATIC_EPS);
            }
        }
    }

    /**
     * V(q) = q^2/2 + a tanh(s (q - q0)), d = 1, with a fixed unit mass: the quadratic network of {@link #quadratic}
     * and one more unit, a steep step. With a &lt; 0 and |a| s large against 2/dt^2, the Jacobian of Eq. (1),
     * 1 + dt^2/2 dDG(x, q^n)/dx, changes sign as an orbit crosses the step: F has a fold beside its root.
     */
    static Model foldingStep(double a, double s, double q0) {
        MlpShape shape = MlpShape.of(1, 3);
        ParameterLayout layout = new ParameterLayout(shape, 0);
        double[] p = new double[(int) layout.potentialSize()];
        putQuadratic(layout, p, new double[]{1});
        p[(int) layout.weight(0) + 2] = s;
        p[(int) layout.bias(0) + 2] = -s * q0;
        p[(int) layout.output() + 2] = a;
        return Model.of(shape, MassMatrix.Kind.FIXED, p, new double[]{1}, null, Blas.get());
    }

    static final double QUADRATIC_EPS = 1e-5;
    static final double QUADRATIC_BETA = -0.5;

    /**
     * A bowl: V(q) = -sum_k w_k tanh(gamma sum_i c_ki f(q_i) + b_k) with f(x) = tanh(x + 1) + tanh(1 - x), which is
     * even, largest at 0 and decreasing in |x|; with w, c > 0, V grows in every |q_i| from its minimum at 0 towards
     * a finite rim, so orbits of low energy are bounded. Default widths (200, 200), identity mass; the first layer
     * uses 2d units, the second mixes the coordinates through random c, so the dynamics are coupled and anharmonic.
     */
    static Model bowl(int d, long seed) {
        MlpShape shape = MlpShape.of(d, 200, 200);
        ParameterLayout layout = new ParameterLayout(shape, 0);
        double[] p = new double[(int) layout.potentialSize()];
        RandomGenerator rng = Init.random(seed);
        for (int i = 0; i < d; i++) {
            p[(int) layout.weight(0) + (2 * i) * d + i] = 1;
            p[(int) layout.weight(0) + (2 * i + 1) * d + i] = -1;
            p[(int) layout.bias(0) + 2 * i] = 1;
            p[(int) layout.bias(0) + 2 * i + 1] = 1;
        }
        int h1 = shape.width(0), h2 = shape.width(1);
        double gamma = 1.0 / d;
        for (int k = 0; k < h2; k++) {
            for (int i = 0; i < d; i++) {
                double c = gamma * (0.5 + rng.nextDouble());
                p[(int) layout.weight(1) + k * h1 + 2 * i] = c;
                p[(int) layout.weight(1) + k * h1 + 2 * i + 1] = c;
            }
            p[(int) layout.bias(1) + k] = rng.nextDouble() - 0.5;
            p[(int) layout.output() + k] = -(0.5 + rng.nextDouble()) * 10.0 / h2;
        }
        double[] eye = new double[d * d];
        for (int i = 0; i < d; i++) eye[i * d + i] = 1;
        Model model = Model.of(shape, MassMatrix.Kind.IDENTITY, p, eye, null, Blas.get());
        model.setTraining(BOWL_DT, "proposed");
        return model;
    }

    static final double BOWL_DT = 0.1;

    /** Starts (B, 3, d) of the bowl: q^0 uniform in [-0.4, 0.4]^d, constant velocity up to 0.4 per coordinate. */
    static double[] bowlStarts(int trajectories, int d, long seed) {
        RandomGenerator rng = Init.random(seed);
        double[] s = new double[trajectories * 3 * d];
        for (int b = 0; b < trajectories; b++) {
            for (int i = 0; i < d; i++) {
                double q = 0.8 * rng.nextDouble() - 0.4, v = 0.8 * rng.nextDouble() - 0.4;
                for (int n = 0; n < 3; n++) s[(b * 3 + n) * d + i] = q + n * BOWL_DT * v;
            }
        }
        return s;
    }

    /** A fresh (orthogonally initialised) network: its orbits may run away. */
    static Model random(int d, long seed) {
        Model model = Model.create(MlpShape.of(d, 200, 200), MassMatrix.Kind.IDENTITY, seed, Blas.get());
        model.setTraining(0.05, null);
        return model;
    }

    /** Trajectory b of a (B, 3, d) start array, as (1, 3, d). */
    static double[] one(double[] starts, int b, int d) {
        double[] s = new double[3 * d];
        System.arraycopy(starts, b * 3 * d, s, 0, 3 * d);
        return s;
    }
}
