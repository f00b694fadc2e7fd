package org.dtlm.data;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.random.RandomGenerator.SplittableGenerator;
import java.util.random.RandomGeneratorFactory;
import java.util.stream.IntStream;

import org.hipparchus.ode.ODEState;
import org.hipparchus.ode.ODEStateAndDerivative;
import org.hipparchus.ode.OrdinaryDifferentialEquation;
import org.hipparchus.ode.nonstiff.DormandPrince853Integrator;
import org.hipparchus.ode.sampling.ODEStateInterpolator;
import org.hipparchus.ode.sampling.ODEStepHandler;

/**
 * Ground-truth data of SPEC §6: Hamilton's equations q̇ = M⁻¹p, ṗ = −∇V(q) of the true system, integrated by
 * Dormand–Prince 8(5,3) (Hipparchus) at relative and absolute tolerance {@value #TOLERANCE} and sampled at
 * t_k = k·Δt by the integrator's 7th-order dense output. Dense output, one integration per trajectory, was
 * chosen over restarting the integrator at every t_k: on mass-spring against the closed form it is as clean
 * (max error 1.4e-11 against 7.7e-12 over t ≤ 20, both far below the 1e-9 the tests ask) and faster.
 *
 * <p>Randomness: one {@value #RANDOM_ALGORITHM} generator seeded with the data seed is split into two
 * independent streams, one for the initial states (train trajectories first, then test) and one for the
 * observation noise, so the noise level never changes the trajectories. The algorithm is named, not the JDK
 * default, so a seed gives the same data on every JDK (the bounded-double and Gaussian draws are the
 * {@link RandomGenerator} defaults, unchanged since JDK 17; a golden test pins them). Trajectories are integrated in parallel; each is
 * a deterministic function of its initial state, so the result does not depend on the thread schedule.
 */
public final class Generator {

    /** Relative and absolute tolerance of the ground-truth integration (SPEC §6 asks for ≤ 1e-10). */
    public static final double TOLERANCE = 1e-12;

    /** The named random algorithm of every data stream. */
    public static final String RANDOM_ALGORITHM = "L64X128MixRandom";

    private Generator() {
    }

    /** The SPEC §6 data set of {@code task} for seed {@code seed}: default sizes, Δt and noise. */
    public static Dataset generate(Task task, long seed) {
        if (task == null) {
            throw new IllegalArgumentException("task: null");
        }
        return generate(task, seed, task.trainTrajectories(), task.testTrajectories(), task.points());
    }

    /**
     * A data set of {@code task} with the SPEC §6 Δt, initial-state distribution and noise but other sizes
     * (small tests): the time span is (points − 1)·Δt.
     */
    public static Dataset generate(Task task, long seed, int trainTrajectories, int testTrajectories, int points) {
        if (task == null) {
            throw new IllegalArgumentException("task: null");
        }
        return generate(task, seed, trainTrajectories, testTrajectories, points, task.noiseStd());
    }

    /**
     * As {@link #generate(Task, long, int, int, int)} with training noise N(0, noiseStd²) instead of the task's;
     * the trajectories (clean train, test) are the same for every noise level.
     */
    public static Dataset generate(Task task, long seed, int trainTrajectories, int testTrajectories, int points,
            double noiseStd) {
        if (task == null) {
            throw new IllegalArgumentException("task: null");
        }
        if (trainTrajectories < 1 || testTrajectories < 1 || points < 1) {
            throw new IllegalArgumentException("trainTrajectories/testTrajectories/points: " + trainTrajectories
                    + "/" + testTrajectories + "/" + points + " must all be >= 1");
        }
        if (!(noiseStd >= 0.0) || !Double.isFinite(noiseStd)) {
            throw new IllegalArgumentException("noiseStd: " + noiseStd + " is not a finite value >= 0");
        }
        if (((long) trainTrajectories + testTrajectories) * points * task.dimension() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("trainTrajectories/testTrajectories/points: " + trainTrajectories
                    + "/" + testTrajectories + "/" + points + " exceed the length of a Java array");
        }
        int d = task.dimension();
        int trajectories = trainTrajectories + testTrajectories;
        SplittableGenerator root = (SplittableGenerator) RandomGeneratorFactory.of(RANDOM_ALGORITHM).create(seed);
        RandomGenerator initialStream = root.split();
        RandomGenerator noiseStream = root.split();

        // initialStates: (trajectories, 2d) = (q, p) per trajectory, drawn in order.
        double[] initialStates = new double[trajectories * 2 * d];
        double[] state = new double[2 * d];
        for (int i = 0; i < trajectories; i++) {
            task.sampleInitialState(initialStream, state);
            System.arraycopy(state, 0, initialStates, i * 2 * d, 2 * d);
        }

        // positions, velocities: (trajectories, points, d); train rows first.
        double[] positions = new double[trajectories * points * d];
        double[] velocities = new double[trajectories * points * d];
        double dt = task.dt();
        IntStream.range(0, trajectories).parallel().forEach(i -> integrate(task, initialStates, i * 2 * d, dt,
                points, positions, velocities, i * points * d));

        int trainLength = trainTrajectories * points * d;
        double[] trainClean = Arrays.copyOfRange(positions, 0, trainLength);
        double[] trainNoisy = trainClean.clone();
        if (noiseStd > 0.0) {
            for (int j = 0; j < trainLength; j++) {
                trainNoisy[j] += noiseStd * noiseStream.nextGaussian();
            }
        }
        return new Dataset(task, seed, dt, points, trainTrajectories, testTrajectories, trainNoisy, trainClean,
                Arrays.copyOfRange(velocities, 0, trainLength),
                Arrays.copyOfRange(positions, trainLength, positions.length),
                Arrays.copyOfRange(velocities, trainLength, velocities.length),
                task.trueMass(), noiseStd);
    }

    /**
     * Integrates one trajectory from (q, p) at t = 0 and writes q(t_k) and q̇(t_k) = M⁻¹p(t_k), t_k = k·dt.
     * initial: (2d) at {@code initialOffset}, not modified; positions, velocities: (points, d) at
     * {@code outOffset}, overwritten.
     */
    static void integrate(Task task, double[] initial, int initialOffset, double dt, int points,
            double[] positions, double[] velocities, int outOffset) {
        int d = task.dimension();
        double inverseMass = 1.0 / task.mass();
        double[] y0 = Arrays.copyOfRange(initial, initialOffset, initialOffset + 2 * d);
        writeSample(y0, d, inverseMass, positions, velocities, outOffset);
        if (points == 1) {
            return;
        }
        double finalTime = (points - 1) * dt;
        DormandPrince853Integrator integrator = new DormandPrince853Integrator(0.0, finalTime, TOLERANCE, TOLERANCE);
        integrator.addStepHandler(new Sampler(dt, points, d, inverseMass, positions, velocities, outOffset));
        integrator.integrate(new Hamiltonian(task), new ODEState(0.0, y0), finalTime);
    }

    /** Writes q and M⁻¹p of y = (q, p): (2d) into positions and velocities at {@code offset}. */
    private static void writeSample(double[] y, int d, double inverseMass, double[] positions,
            double[] velocities, int offset) {
        for (int i = 0; i < d; i++) {
            positions[offset + i] = y[i];
            velocities[offset + i] = y[d + i] * inverseMass;
        }
    }

    /** Hamilton's equations of the true system on y = (q, p): ẏ = (M⁻¹p, −∇V(q)). */
    private record Hamiltonian(Task task) implements OrdinaryDifferentialEquation {
        @Override
        public int getDimension() {
            return 2 * task.dimension();
        }

        @Override
        public double[] computeDerivatives(double t, double[] y) {
            int d = task.dimension();
            double inverseMass = 1.0 / task.mass();
            double[] yDot = new double[2 * d];
            task.potentialGradient(yDot, d, y, 0);
            for (int i = 0; i < d; i++) {
                yDot[i] = y[d + i] * inverseMass;
                yDot[d + i] = -yDot[d + i];
            }
            return yDot;
        }
    }

    /**
     * Samples the dense output at t_k = k·dt, k = 1 … points−1 (k = 0 is the initial state, written exactly);
     * the last sample is the integrator's final state, since t_{points−1} is the final time.
     */
    private static final class Sampler implements ODEStepHandler {
        private final double dt;
        private final int points;
        private final int d;
        private final double inverseMass;
        private final double[] positions;
        private final double[] velocities;
        private final int offset;
        private int next = 1;

        Sampler(double dt, int points, int d, double inverseMass, double[] positions, double[] velocities,
                int offset) {
            this.dt = dt;
            this.points = points;
            this.d = d;
            this.inverseMass = inverseMass;
            this.positions = positions;
            this.velocities = velocities;
            this.offset = offset;
        }

        @Override
        public void handleStep(ODEStateInterpolator interpolator) {
            ODEStateAndDerivative end = interpolator.getCurrentState();
            double endTime = end.getTime();
            while (next < points && next * dt <= endTime) {
                double t = next * dt;
                double[] y = t == endTime ? end.getPrimaryState()
                        : interpolator.getInterpolatedState(t).getPrimaryState();
                writeSample(y, d, inverseMass, positions, velocities, offset + next * d);
                next++;
            }
        }

        @Override
        public void finish(ODEStateAndDerivative finalState) {
            if (next != points) {
                throw new IllegalStateException("integration ended at t = " + finalState.getTime() + " after "
                        + next + " of " + points + " samples");
            }
        }
    }
}
