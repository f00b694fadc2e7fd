package org.dtlm.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.random.RandomGenerator;

import org.dtlm.blas.Blas;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** V, grad V, DG, the double backward and the JVP of {@link Mlp} against finite differences and SPEC §2's identities. */
class MlpTest {
    /** SPEC §2: identity (i) within this many ulps of the rounding scale S(x) + S(y) + sum |x_i - y_i| |DG|_i. */
    static final double IDENTITY_ULPS = 2;
    /** Central differences with step FD_STEP: relative error with an absolute floor. */
    static final double FD_STEP = 1e-5, FD_REL = 1e-6, FD_ABS = 1e-8;

    private final Arena arena = Arena.ofConfined();
    private final Blas blas = Blas.get();

    @AfterEach
    void close() {
        arena.close();
    }

    /** A small network with non-zero biases and weights scaled so that pre-activations range widely. */
    private Parameters params(MlpShape shape, long seed, double weightScale) {
        Parameters p = Parameters.allocate(new ParameterLayout(shape, 0), arena);
        Init.orthogonal(p, seed);
        RandomGenerator rng = Init.random(seed + 100);
        ParameterLayout l = p.layout();
        for (long i = 0; i < l.potentialSize(); i++) p.set(i, p.get(i) * weightScale);
        for (int k = 0; k < shape.layers(); k++) {
            for (int j = 0; j < shape.width(k); j++) p.set(l.bias(k) + j, 0.3 * rng.nextGaussian());
        }
        return p;
    }

    private MemorySegment seg(double[] v) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, Math.max(1, v.length));
        MemorySegment.copy(v, 0, s, JAVA_DOUBLE, 0, v.length);
        return s;
    }

    private static double[] arr(MemorySegment s, int n) {
        return s.asSlice(0, (long) n * Double.BYTES).toArray(JAVA_DOUBLE);
    }

    /** V at the rows of x (rows, d). */
    private double[] values(Mlp mlp, Parameters p, double[] x) {
        int rows = x.length / mlp.shape().inputDim();
        try (Workspace w = new Workspace(mlp.shape(), rows, rows)) {
            mlp.forward(w, p, seg(x), 0, rows);
            return arr(w.value(), rows);
        }
    }

    private double[] gradient(Mlp mlp, Parameters p, double[] x) {
        int d = mlp.shape().inputDim(), rows = x.length / d;
        try (Workspace w = new Workspace(mlp.shape(), rows, rows)) {
            mlp.forward(w, p, seg(x), 0, rows);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, x.length);
            mlp.gradient(w, p, 0, rows, g, 0, false);
            return arr(g, x.length);
        }
    }

    /** DG(x_i, y_i) for rows of x and y, through one forward pass of the stacked points [x; y]. */
    private double[] discreteGradient(Mlp mlp, Parameters p, double[] x, double[] y) {
        int d = mlp.shape().inputDim(), n = x.length / d;
        double[] xy = new double[2 * x.length];
        System.arraycopy(x, 0, xy, 0, x.length);
        System.arraycopy(y, 0, xy, x.length, y.length);
        try (Workspace w = new Workspace(mlp.shape(), 2 * n, n)) {
            mlp.forward(w, p, seg(xy), 0, 2 * n);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, x.length);
            mlp.discreteGradient(w, p, 0, n, n, g, 0, false);
            return arr(g, x.length);
        }
    }

    private static double[] gaussian(RandomGenerator rng, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = scale * rng.nextGaussian();
        return v;
    }

    @Test
    void gradientMatchesCentralDifferences() {
        Mlp mlp = new Mlp(new ParameterLayout(MlpShape.of(3, 7, 5), 0), blas);
        Parameters p = params(mlp.shape(), 1, 1.5);
        double[] x = gaussian(Init.random(2), 3 * 6, 1.0);
        double[] g = gradient(mlp, p, x);
        for (int i = 0; i < x.length; i++) {
            double[] xp = x.clone(), xm = x.clone();
            xp[i] += FD_STEP;
            xm[i] -= FD_STEP;
            int row = i / 3;
            double fd = (values(mlp, p, xp)[row] - values(mlp, p, xm)[row]) / (2 * FD_STEP);
            assertClose(fd, g[i], "dV/dx[" + i + "]");
        }
    }

    /** The rounding scale of SPEC §2 for one pair: S(x) + S(y) + sum_i |x_i - y_i| |DG|_i, by a scalar reference. */
    private static double roundingScale(Parameters p, double[] x, double[] y) {
        ParameterLayout l = p.layout();
        MlpShape shape = l.shape();
        int layers = shape.layers();
        double[][] ax = new double[layers][], ay = new double[layers][];
        double[] hx = x, hy = y;
        for (int k = 0; k < layers; k++) {
            int h = shape.width(k), f = shape.fanIn(k);
            ax[k] = new double[h];
            ay[k] = new double[h];
            double[] nx = new double[h], ny = new double[h];
            for (int j = 0; j < h; j++) {
                double sx = p.get(l.bias(k) + j), sy = sx;
                for (int i = 0; i < f; i++) {
                    sx += p.get(l.weight(k) + (long) j * f + i) * hx[i];
                    sy += p.get(l.weight(k) + (long) j * f + i) * hy[i];
                }
                ax[k][j] = sx;
                ay[k][j] = sy;
                nx[j] = Math.tanh(sx);
                ny[j] = Math.tanh(sy);
            }
            hx = nx;
            hy = ny;
        }
        double scale = 0;
        for (int j = 0; j < shape.lastWidth(); j++) {
            scale += Math.abs(p.get(l.output() + j)) * (Math.abs(hx[j]) + Math.abs(hy[j]));
        }
        // |DG| = |W_1|^T |D_1| ... |W_L|^T |D_L| |w|
        double[] delta = new double[shape.lastWidth()];
        for (int j = 0; j < delta.length; j++) {
            double a = ax[layers - 1][j], b = ay[layers - 1][j];
            delta[j] = Math.abs(p.get(l.output() + j))
                    * Math.abs(Tanh.dividedDifference(a, Math.tanh(a), Tanh.omega(a), b, Math.tanh(b), Tanh.omega(b)));
        }
        for (int k = layers - 1; k >= 0; k--) {
            int h = shape.width(k), f = shape.fanIn(k);
            double[] next = new double[f];
            for (int i = 0; i < f; i++) {
                double sum = 0;
                for (int j = 0; j < h; j++) sum += Math.abs(p.get(l.weight(k) + (long) j * f + i)) * delta[j];
                if (k > 0) {
                    double a = ax[k - 1][i], b = ay[k - 1][i];
                    sum *= Math.abs(Tanh.dividedDifference(a, Math.tanh(a), Tanh.omega(a), b, Math.tanh(b), Tanh.omega(b)));
                }
                next[i] = sum;
            }
            delta = next;
        }
        for (int i = 0; i < x.length; i++) scale += Math.abs(x[i] - y[i]) * delta[i];
        return scale;
    }

    @Test
    void discreteGradientIdentityHoldsToRoundingAtEveryDistance() {
        for (MlpShape shape : new MlpShape[]{MlpShape.of(1, 200, 200), MlpShape.of(4, 200, 200), MlpShape.of(3, 7, 5, 6)}) {
            Mlp mlp = new Mlp(new ParameterLayout(shape, 0), blas);
            int d = shape.inputDim();
            for (double weightScale : new double[]{1.0, 60.0}) { // 60: pre-activations far beyond +-400
                Parameters p = params(shape, 3, weightScale);
                RandomGenerator rng = Init.random(4);
                for (double distance : new double[]{0, -1, 1e-8, 1, 1e3}) {
                    for (int trial = 0; trial < 4; trial++) {
                        double[] x = gaussian(rng, d, trial == 3 ? 300 : 1.0);
                        double[] y = x.clone();
                        for (int i = 0; i < d; i++) {
                            y[i] = distance < 0 ? Math.nextUp(x[i]) : x[i] + distance * rng.nextGaussian();
                        }
                        double[] g = discreteGradient(mlp, p, x, y);
                        double[] v = values(mlp, p, concat(x, y));
                        double lhs = 0;
                        for (int i = 0; i < d; i++) {
                            lhs += g[i] * (x[i] - y[i]);
                            assertTrue(Double.isFinite(g[i]), "DG finite");
                        }
                        double scale = roundingScale(p, x, y);
                        double err = Math.abs(lhs - (v[0] - v[1]));
                        double tolerance = IDENTITY_ULPS * Math.ulp(scale);
                        String what = shape + " scale " + weightScale + " distance " + distance;
                        assertTrue(err <= tolerance, () -> what + ": |DG.(x-y) - (V(x)-V(y))| = " + err
                                + " > " + tolerance + " (" + err / Math.ulp(scale) + " ulps of " + scale + ")");
                    }
                }
            }
        }
    }

    private static double[] concat(double[] x, double[] y) {
        double[] xy = new double[x.length + y.length];
        System.arraycopy(x, 0, xy, 0, x.length);
        System.arraycopy(y, 0, xy, x.length, y.length);
        return xy;
    }

    @Test
    void discreteGradientOfEqualPointsIsTheGradient() {
        // One forward pass of [x; x]: grad V at the first n rows and DG(x_i, x_i) between the halves use the same
        // pre-activations, so SPEC §2 (ii) holds bit for bit (the factor of equal arguments is sech^2 itself).
        MlpShape shape = MlpShape.of(4, 200, 200);
        Mlp mlp = new Mlp(new ParameterLayout(shape, 0), blas);
        Parameters p = params(shape, 5, 2.0);
        int n = 9, d = 4;
        double[] x = gaussian(Init.random(6), n * d, 1.0);
        try (Workspace w = new Workspace(shape, 2 * n, n)) {
            mlp.forward(w, p, seg(concat(x, x)), 0, 2 * n);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, n * d), dg = arena.allocate(JAVA_DOUBLE, n * d);
            mlp.gradient(w, p, 0, n, g, 0, false);
            mlp.discreteGradient(w, p, 0, n, n, dg, 0, false);
            assertArrayEquals(arr(g, n * d), arr(dg, n * d), 0.0);
        }
    }

    /** J(theta) = sum_i c_i . G_i for G = DG of fixed pairs (pointwise = false) or grad V (pointwise = true). */
    private double objective(Mlp mlp, Parameters p, double[] x, double[] y, double[] c, boolean pointwise) {
        double[] g = pointwise ? gradient(mlp, p, x) : discreteGradient(mlp, p, x, y);
        double j = 0;
        for (int i = 0; i < g.length; i++) j += c[i] * g[i];
        return j;
    }

    @Test
    void doubleBackwardMatchesCentralDifferences() {
        for (boolean pointwise : new boolean[]{false, true}) {
            MlpShape shape = MlpShape.of(3, 6, 5);
            ParameterLayout layout = new ParameterLayout(shape, 0);
            Mlp mlp = new Mlp(layout, blas);
            Parameters p = params(shape, 8, 1.3);
            RandomGenerator rng = Init.random(9);
            int n = 5, d = 3;
            double[] x = gaussian(rng, n * d, 1), y = gaussian(rng, n * d, 1), c = gaussian(rng, n * d, 1);
            for (int i = 0; i < d; i++) y[i] = x[i];  // one pair of equal points
            Parameters grad = Parameters.allocate(layout, arena);
            try (Workspace w = new Workspace(shape, 2 * n, n)) {
                double[] xy = concat(x, y);
                MemorySegment pts = seg(xy), g = arena.allocate(JAVA_DOUBLE, n * d);
                int rows = pointwise ? n : 2 * n;
                mlp.forward(w, p, pts, 0, rows);
                mlp.zeroPreActivationGradients(w, rows);
                if (pointwise) {
                    mlp.gradient(w, p, 0, n, g, 0, true);
                } else {
                    mlp.discreteGradient(w, p, 0, n, n, g, 0, true);
                }
                mlp.chainBackward(w, p, grad, seg(c), 0, 0, pointwise ? 0 : n, n, pointwise);
                mlp.forwardBackward(w, p, grad, pts, 0, rows);
            }
            for (long i = 0; i < layout.size(); i++) {
                double keep = p.get(i);
                p.set(i, keep + FD_STEP);
                double jp = objective(mlp, p, x, y, c, pointwise);
                p.set(i, keep - FD_STEP);
                double jm = objective(mlp, p, x, y, c, pointwise);
                p.set(i, keep);
                assertClose((jp - jm) / (2 * FD_STEP), grad.get(i), (pointwise ? "grad V" : "DG") + " dJ/dtheta[" + i + "]");
            }
        }
    }

    @Test
    void tangentMatchesCentralDifferences() {
        MlpShape shape = MlpShape.of(4, 9, 7);
        Mlp mlp = new Mlp(new ParameterLayout(shape, 0), blas);
        Parameters p = params(shape, 10, 1.2);
        RandomGenerator rng = Init.random(11);
        int n = 3, d = 4;
        double[] x = gaussian(rng, n * d, 1), y = gaussian(rng, n * d, 1), xDot = gaussian(rng, n * d, 1);
        System.arraycopy(x, 0, y, 0, d); // first pair: x = y
        double[] jv;
        try (Workspace w = new Workspace(shape, 2 * n, n)) {
            mlp.forward(w, p, seg(concat(x, y)), 0, 2 * n);
            MemorySegment g = arena.allocate(JAVA_DOUBLE, n * d), gd = arena.allocate(JAVA_DOUBLE, n * d);
            mlp.discreteGradient(w, p, 0, n, n, g, 0, true);
            mlp.chainTangent(w, p, 0, n, seg(xDot), 0, gd, 0);
            jv = arr(gd, n * d);
        }
        double[] xp = x.clone(), xm = x.clone();
        for (int i = 0; i < x.length; i++) {
            xp[i] += FD_STEP * xDot[i];
            xm[i] -= FD_STEP * xDot[i];
        }
        double[] gp = discreteGradient(mlp, p, xp, y), gm = discreteGradient(mlp, p, xm, y);
        for (int i = 0; i < jv.length; i++) assertClose((gp[i] - gm[i]) / (2 * FD_STEP), jv[i], "dDG/dx.v[" + i + "]");
    }

    private static void assertClose(double want, double got, String what) {
        assertTrue(Math.abs(got - want) <= FD_REL * Math.max(Math.abs(want), Math.abs(got)) + FD_ABS,
                () -> what + " = " + got + ", central difference " + want);
    }

    @Test
    void valueIsTheNetworkOutput() {
        MlpShape shape = MlpShape.of(2, 3);
        Parameters p = Parameters.allocate(new ParameterLayout(shape, 0), arena);
        // W1 = [[1, 0], [0, 2], [1, 1]], b1 = [0.5, 0, -1], w = [1, -1, 2]
        double[] values = {1, 0, 0, 2, 1, 1, 0.5, 0, -1, 1, -1, 2};
        p.copyFrom(values);
        Mlp mlp = new Mlp(p.layout(), blas);
        double x0 = 0.25, x1 = -0.5;
        double want = Math.tanh(x0 + 0.5) - Math.tanh(2 * x1) + 2 * Math.tanh(x0 + x1 - 1);
        assertEquals(want, values(mlp, p, new double[]{x0, x1})[0], 4 * Math.ulp(want));
    }
}
