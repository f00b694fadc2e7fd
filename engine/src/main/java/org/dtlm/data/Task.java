package org.dtlm.data;

import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * The three benchmark systems of SPEC §6 with their ground truth and protocol settings.
 *
 * <p>Every true system has a scalar mass, M_true = m·I_d, so H_true(q, p) = |p|²/(2m) + V_true(q) and
 * q̇ = p/m. Positions, momenta and velocities are passed as a d-vector at an offset of a flat array,
 * so callers can walk a C-order (trajectories, points, d) buffer without copying.
 */
public enum Task {

    /** d = 1, M = ½, V = q² (H = q² + p²); (q, p) = r·(cos φ, sin φ), φ ~ U(0, 2π), r ~ U(0.1, 1). */
    MASS_SPRING("mass-spring", 1, 0.5, 20.0 / 99, 100, 25, 25, 0.1, "mass-spring: H = q^2 + p^2") {
        @Override
        public double potential(double[] q, int qOffset) {
            double x = q[qOffset];
            return x * x;
        }

        @Override
        public void potentialGradient(double[] out, int outOffset, double[] q, int qOffset) {
            out[outOffset] = 2.0 * q[qOffset];
        }

        @Override
        void sampleInitialState(RandomGenerator rng, double[] state) {
            sampleOnCircle(rng, 0.1, 1.0, state);
        }
    },

    /** d = 1, M = ½, V = 3(1 − cos q) (H = 3(1 − cos q) + p²); (q, p) on a circle of radius r ~ U(1.3, 2.3). */
    PENDULUM("pendulum", 1, 0.5, 20.0 / 99, 100, 25, 25, 0.1, "pendulum: H = 3(1 - cos q) + p^2") {
        @Override
        public double potential(double[] q, int qOffset) {
            return 3.0 * (1.0 - Math.cos(q[qOffset]));
        }

        @Override
        public void potentialGradient(double[] out, int outOffset, double[] q, int qOffset) {
            out[outOffset] = 3.0 * Math.sin(q[qOffset]);
        }

        @Override
        void sampleInitialState(RandomGenerator rng, double[] state) {
            sampleOnCircle(rng, 1.3, 2.3, state);
        }
    },

    /**
     * d = 4, q = (x₁, y₁, x₂, y₂), unit masses, G = 1, M = I, V = −1/|q₁ − q₂|. Body 1 at x ~ U(0.5, 1.5)²,
     * velocity perpendicular (counter-clockwise) with speed 1/(2√r)·(1 + 0.05·N(0, 1)), r = |x|, which is
     * the circular-orbit speed about the common centre; body 2 mirrored: q₂ = −q₁, p₂ = −p₁.
     */
    TWO_BODY("two-body", 4, 1.0, 25.0 / 499, 500, 800, 200, 0.0,
            "two-body: H = (|p1|^2 + |p2|^2)/2 - 1/|q1 - q2|") {
        /** Relative spread of the initial speed about the circular-orbit speed (SPEC §6). */
        private static final double ORBIT_SPEED_SPREAD = 0.05;

        @Override
        public double potential(double[] q, int qOffset) {
            double dx = q[qOffset] - q[qOffset + 2];
            double dy = q[qOffset + 1] - q[qOffset + 3];
            return -1.0 / Math.sqrt(dx * dx + dy * dy);
        }

        @Override
        public void potentialGradient(double[] out, int outOffset, double[] q, int qOffset) {
            // ∂V/∂q₁ = (q₁ − q₂)/s³, ∂V/∂q₂ = −∂V/∂q₁, s = |q₁ − q₂|.
            double dx = q[qOffset] - q[qOffset + 2];
            double dy = q[qOffset + 1] - q[qOffset + 3];
            double s2 = dx * dx + dy * dy;
            double inverseCube = 1.0 / (s2 * Math.sqrt(s2));
            out[outOffset] = dx * inverseCube;
            out[outOffset + 1] = dy * inverseCube;
            out[outOffset + 2] = -dx * inverseCube;
            out[outOffset + 3] = -dy * inverseCube;
        }

        @Override
        void sampleInitialState(RandomGenerator rng, double[] state) {
            double x = rng.nextDouble(0.5, 1.5);
            double y = rng.nextDouble(0.5, 1.5);
            double r = Math.hypot(x, y);
            double speed = 1.0 / (2.0 * Math.sqrt(r)) * (1.0 + ORBIT_SPEED_SPREAD * rng.nextGaussian());
            double vx = -y / r * speed;
            double vy = x / r * speed;
            // state = (q, p) = (x₁, y₁, x₂, y₂, p₁ₓ, p₁ᵧ, p₂ₓ, p₂ᵧ); p = M v = v.
            state[0] = x;
            state[1] = y;
            state[2] = -x;
            state[3] = -y;
            state[4] = vx;
            state[5] = vy;
            state[6] = -vx;
            state[7] = -vy;
        }
    };

    private final String id;
    private final int dimension;
    private final double mass;
    private final double dt;
    private final int points;
    private final int trainTrajectories;
    private final int testTrajectories;
    private final double noiseStd;
    private final String energyName;

    Task(String id, int dimension, double mass, double dt, int points, int trainTrajectories,
            int testTrajectories, double noiseStd, String energyName) {
        this.id = id;
        this.dimension = dimension;
        this.mass = mass;
        this.dt = dt;
        this.points = points;
        this.trainTrajectories = trainTrajectories;
        this.testTrajectories = testTrajectories;
        this.noiseStd = noiseStd;
        this.energyName = energyName;
    }

    /**
     * The task named {@code name}: its id ("mass-spring", "pendulum", "two-body"), the alias "2-body" of
     * SPEC §6, or the constant name; case-insensitive, surrounding blanks ignored.
     */
    public static Task parse(String name) {
        if (name == null) {
            throw new IllegalArgumentException("task: null; expected one of mass-spring, pendulum, two-body");
        }
        String key = name.strip().toLowerCase(Locale.ROOT).replace('_', '-');
        if (key.equals("2-body")) {
            return TWO_BODY;
        }
        for (Task task : values()) {
            if (task.id.equals(key)) {
                return task;
            }
        }
        throw new IllegalArgumentException(
                "task: '" + name + "' is not one of mass-spring, pendulum, two-body (alias 2-body)");
    }

    /** The task's name on the command line and in files, e.g. "mass-spring". */
    public String id() {
        return id;
    }

    /** Number of position coordinates d. */
    public int dimension() {
        return dimension;
    }

    /** The scalar m of M_true = m·I_d (½ for the one-dof tasks, 1 for two-body). */
    public double mass() {
        return mass;
    }

    /** M_true as a fresh (d, d) row-major array. */
    public double[] trueMass() {
        double[] m = new double[dimension * dimension];
        for (int i = 0; i < dimension; i++) {
            m[i * dimension + i] = mass;
        }
        return m;
    }

    /** Sampling step Δt of SPEC §6: 20/99 (one-dof tasks) or 25/499 (two-body). */
    public double dt() {
        return dt;
    }

    /** Points per trajectory T of SPEC §6 (samples at t_k = k·Δt, k = 0 … T−1). */
    public int points() {
        return points;
    }

    /** Training trajectories of SPEC §6 (25, or 800 = 80 % of 1000 for two-body). */
    public int trainTrajectories() {
        return trainTrajectories;
    }

    /** Test trajectories of SPEC §6 (25, or 200 = 20 % of 1000 for two-body). */
    public int testTrajectories() {
        return testTrajectories;
    }

    /** Standard deviation of the Gaussian noise added to the training positions (0 for two-body). */
    public double noiseStd() {
        return noiseStd;
    }

    /** Human-readable true energy, e.g. "mass-spring: H = q^2 + p^2". */
    public String energyName() {
        return energyName;
    }

    /** V_true(q); q: (d) at {@code qOffset}, not modified. */
    public abstract double potential(double[] q, int qOffset);

    /** ∇V_true(q); out: (d) at {@code outOffset}, overwritten; q: (d) at {@code qOffset}, not modified. */
    public abstract void potentialGradient(double[] out, int outOffset, double[] q, int qOffset);

    /** H_true(q, p) = ½ pᵀ M⁻¹ p + V(q); q, p: (d) at their offsets, not modified. */
    public double energy(double[] q, int qOffset, double[] p, int pOffset) {
        double pp = 0.0;
        for (int i = 0; i < dimension; i++) {
            double pi = p[pOffset + i];
            pp += pi * pi;
        }
        return 0.5 * pp / mass + potential(q, qOffset);
    }

    /** H_true(q, M_true v) = ½ m |v|² + V(q), the energy of a position and a velocity q̇ (SPEC §6 evaluation). */
    public double energyFromVelocity(double[] q, int qOffset, double[] v, int vOffset) {
        double vv = 0.0;
        for (int i = 0; i < dimension; i++) {
            double vi = v[vOffset + i];
            vv += vi * vi;
        }
        return 0.5 * mass * vv + potential(q, qOffset);
    }

    /**
     * H_true(q, M_true v) at every point of flat C-order buffers; positions, velocities: (n, d), not modified;
     * returns (n).
     */
    public double[] energiesFromVelocities(double[] positions, double[] velocities) {
        if (positions.length != velocities.length || positions.length % dimension != 0) {
            throw new IllegalArgumentException("positions/velocities: lengths " + positions.length + " and "
                    + velocities.length + " are not equal multiples of d = " + dimension + " (" + id + ")");
        }
        double[] h = new double[positions.length / dimension];
        for (int n = 0; n < h.length; n++) {
            h[n] = energyFromVelocity(positions, n * dimension, velocities, n * dimension);
        }
        return h;
    }

    /** Draws one initial state (q, p) from the SPEC §6 distribution; state: (2d) overwritten. */
    abstract void sampleInitialState(RandomGenerator rng, double[] state);

    /** (q, p) = r·(cos φ, sin φ), φ ~ U(0, 2π), r ~ U(rMin, rMax): the one-dof initial states of SPEC §6. */
    private static void sampleOnCircle(RandomGenerator rng, double rMin, double rMax, double[] state) {
        double angle = rng.nextDouble(0.0, 2.0 * Math.PI);
        double r = rng.nextDouble(rMin, rMax);
        state[0] = r * Math.cos(angle);
        state[1] = r * Math.sin(angle);
    }
}
