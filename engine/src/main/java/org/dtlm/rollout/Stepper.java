package org.dtlm.rollout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

import org.dtlm.potential.Model;
import org.dtlm.rollout.StepperOptions.InitialGuess;
import org.dtlm.scheme.Scheme;
import org.dtlm.solve.NewtonKrylovSolver;
import org.dtlm.solve.NonlinearSystem;
import org.dtlm.solve.SolveStatus;
import org.dtlm.solve.SolverStats;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Rolls B trajectories of a learned system forward in time with one of the schemes of SPEC §3 and §5, all B in one
 * batch (their network evaluations are single GEMMs), one point at a time, in constant memory.
 *
 * <p><b>Points.</b> After {@link #start} the stepper is at point n = 0; each {@link #advance()} moves to n + 1. At every
 * point it holds, per trajectory, the position q^n, the scheme's velocity v^n and the modeled energy E^n (SPEC §3,
 * §5), all aligned at the same n:
 * <ul>
 * <li>{@code proposed}: q^{n+1} solves Eq. (1) (Newton–Krylov, {@link StepperOptions#solver()}); the momentum
 *     p^n = M(q^{n+1} − q^n)/Δt + (Δt/2) DG(q^{n+1}, q^n), v^n = M⁻¹p^n, and
 *     E^n = ½uᵀMu + (Δt²/8) gᵀM⁻¹g + ½[V(q^n) + V(q^{n+1})], u = (q^{n+1} − q^n)/Δt, g = DG(q^{n+1}, q^n). All need
 *     q^{n+1}: the stepper solves one step ahead.</li>
 * <li>{@code leapfrog}: q^{n+1} = 2q^n − q^{n−1} − Δt² M⁻¹∇V(q^n); v^n = (q^{n+1} − q^{n−1})/(2Δt) (also one step
 *     ahead), NaN at n = 0; E^n = ½ v^nᵀ M v^n + V(q^n).</li>
 * <li>{@code euler}, {@code symplectic-euler}: the state (q, v) starts at (q^1, v̂^1), v̂^1 = (q^2 − q^0)/(2Δt);
 *     point 0 holds q^0 with NaN velocity and energy (the alignment of SPEC §6); E^n = ½ v^nᵀ M v^n + V(q^n).</li>
 * </ul>
 * The explicit schemes' momentum is p^n = M v^n. Position schemes start from q^0 and q^1 (given (B, 2, d) or
 * (B, 3, d) positions), velocity schemes from the first three positions (B, 3, d).
 *
 * <p><b>Failures.</b> Each trajectory converges on its own; one whose solve fails from each of its initial guesses (the
 * configured one, then the leapfrog and the force-free steps), or whose explicit step overflows,
 * is reported in {@link #failures()} with its index and point, is frozen, reads NaN from then on, and does not disturb
 * the others.
 *
 * <p><b>Reproducibility.</b> Every trajectory's arithmetic is independent of the others: a batched rollout equals
 * the rollouts of its trajectories one by one, bit for bit. Every product computes each element of a row as one fused
 * multiply-add chain, whatever the other rows ({@link RowExactBlas}); element-wise kernels treat every row alike when
 * the hidden widths are multiples of the vector length (the default 200 is). Neither do the bits depend on the threads
 * ({@link StepperOptions#threads()}): a batch is split into shards of rows, and fewer trajectories (one, say) into
 * shares of every layer's columns, computed by the same arithmetic (the split: {@code ShardedNetwork}).
 *
 * <p><b>Threads.</b> A stepper is not thread-safe: use it from one thread at a time (handing it to another thread
 * through a happens-before edge is fine). Concurrent or re-entrant calls of {@link #start} or {@link #advance} (e.g. from
 * an observer) are detected and throw {@link IllegalStateException}. Any number of steppers may share one
 * {@link Model} concurrently, each with its own workspace, as long as nobody changes the model meanwhile.
 *
 * <p><b>Resources.</b> The native workspace lives until {@link #close()}. A steady-state step allocates nothing on
 * the Java heap.
 */
public final class Stepper implements AutoCloseable {

    private final Model model;
    private final Scheme scheme;
    private final StepperOptions options;
    private final int trajectories;
    private final int d;
    private final double dt;
    /** M⁻¹ and M, (d, d) row-major, read when the stepper is created. */
    private final double[] minv;
    private final double[] mass;

    private final Arena arena = Arena.ofShared();
    /** The network passes; forward regions 0 and 1: q^n in one, the iterate (or the next point) in the other. */
    private final ShardedNetwork network;
    private int currentRegion;
    private int nextRegion;

    // Native state, all (B, d). q: previous, current, next position; g: DG(q^{n+1}, q^n) ("next"), DG(q^n, q^{n-1})
    // ("current") and three older ones for the extrapolated guess; scratch: gradients, tangents.
    private MemorySegment qPrevious;
    private MemorySegment qCurrent;
    private MemorySegment qNext;
    private MemorySegment gNext;
    private MemorySegment gCurrent;
    private MemorySegment gOlder;
    private MemorySegment gOldest;
    private MemorySegment gEldest;
    private MemorySegment velocity;
    private MemorySegment velocityNext;
    private final MemorySegment gradient;
    private final MemorySegment tangent;
    // d = 1: the Jacobian-vector products of Eq. (1) are v times T = dDG(x, q^n)/dx . 1 (see EquationOne); unit is
    // (B) ones, T (B); with few trajectories T comes with every residual where the solver may ask for a product, in
    // its passes (fusedTangent)
    private final MemorySegment unit;
    private final MemorySegment unitTangent;
    private final boolean fusedTangent;
    /** Whether T at the solver's iterate came with its residual (fusedTangent, unless no product was expected). */
    private boolean tangentKnown;

    // Proposed only.
    private final NewtonKrylovSolver solver;
    private final SolverStats stepStats;
    private final SolverStats totalStats;
    private final double[] scale;
    private int knownDiscreteGradients;

    // Outputs of the current point, (B, d), (B, d), (B, d), (B).
    private final double[] qOut;
    private final double[] vOut;
    private final double[] pOut;
    private final double[] energyOut;

    private final boolean[] enabled;
    /** Trajectories whose solve failed this step from every guess so far, (B): solved again from the next one. */
    private final boolean[] retry;
    /** The point whose position a failed trajectory could not compute, (B). */
    private final long[] failedPoint;
    private final List<Failure> failures = new ArrayList<>();
    private final AtomicBoolean busy = new AtomicBoolean();
    private long point = -1;
    private boolean closed;

    /**
     * @param model        the learned system; read, never modified; must stay open and unchanged while this stepper is used
     * @param scheme       the time-stepping scheme
     * @param trajectories B, the number of trajectories advanced together
     * @param options      Δt and the solver's options
     */
    public Stepper(Model model, Scheme scheme, int trajectories, StepperOptions options) {
        this.model = Objects.requireNonNull(model, "model");
        this.scheme = Objects.requireNonNull(scheme, "scheme");
        this.options = Objects.requireNonNull(options, "options");
        if (trajectories < 1) {
            throw new IllegalArgumentException("trajectories must be >= 1, got " + trajectories);
        }
        this.trajectories = trajectories;
        this.d = model.dimension();
        this.dt = options.dt();
        this.minv = model.mass().inverse();
        this.mass = model.mass().matrix();
        int threads = options.threads() > 0 ? options.threads() : model.mlp().blas().getNumThreads();
        this.network = new ShardedNetwork(model, trajectories, threads, arena);
        currentRegion = 0;
        nextRegion = 1;
        qPrevious = allocate();
        qCurrent = allocate();
        qNext = allocate();
        gNext = allocate();
        gCurrent = allocate();
        gOlder = allocate();
        gOldest = allocate();
        gEldest = allocate();
        velocity = allocate();
        velocityNext = allocate();
        gradient = allocate();
        tangent = allocate();
        unit = allocate();
        for (int b = 0; b < trajectories * d; b++) unit.setAtIndex(JAVA_DOUBLE, b, 1.0);
        unitTangent = allocate();
        fusedTangent = d == 1 && trajectories < 2 * ShardedNetwork.MIN_SHARD_ROWS;
        qOut = new double[trajectories * d];
        vOut = new double[trajectories * d];
        pOut = new double[trajectories * d];
        energyOut = new double[trajectories];
        enabled = new boolean[trajectories];
        retry = new boolean[trajectories];
        failedPoint = new long[trajectories];
        scale = new double[trajectories];
        totalStats = new SolverStats(trajectories);
        if (scheme == Scheme.PROPOSED) {
            solver = new NewtonKrylovSolver(new EquationOne(), options.solver(), arena);
            stepStats = new SolverStats(trajectories);
        } else {
            solver = null;
            stepStats = null;
        }
    }

    private MemorySegment allocate() {
        return arena.allocate(JAVA_DOUBLE, (long) trajectories * d);
    }

    // ------------------------------------------------------------------------------------------------ accessors
    public Scheme scheme() {
        return scheme;
    }

    public StepperOptions options() {
        return options;
    }

    /** B. */
    public int trajectories() {
        return trajectories;
    }

    /** d. */
    public int dimension() {
        return model.dimension();
    }

    /** The current point n (0 after {@link #start}); −1 before the first start. */
    public long point() {
        return point;
    }

    /** Positions q^n of the current point, (B, d) row-major; the stepper's own array, valid until the next step. */
    public double[] positions() {
        return qOut;
    }

    /** Velocities v^n of the current point, (B, d); the stepper's own array, valid until the next step. */
    public double[] velocities() {
        return vOut;
    }

    /**
     * Momenta p^n of the current point, (B, d): for {@code proposed} p^n = M(q^{n+1} − q^n)/Δt + (Δt/2) DG(q^{n+1}, q^n)
     * (SPEC §3), for the other schemes M v^n; NaN where the velocity is. The stepper's own array, valid until the next
     * step (an observer reads it during its call).
     */
    public double[] momenta() {
        return pOut;
    }

    /** Modeled energies E^n of the current point, (B); the stepper's own array, valid until the next step. */
    public double[] energies() {
        return energyOut;
    }

    /**
     * Solver counters accumulated since {@link #start} (Newton and Krylov iterations, residual evaluations, per
     * trajectory); all zero for the explicit schemes. The stepper's own object: read, do not modify.
     */
    public SolverStats statistics() {
        return totalStats;
    }

    /** The trajectories that failed since {@link #start}, in the order they failed. */
    public List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** Whether trajectory b has failed. */
    public boolean failed(int b) {
        return !enabled[Objects.checkIndex(b, trajectories)];
    }

    // ------------------------------------------------------------------------------------------------ stepping
    /**
     * Starts (or restarts) the rollout at point 0 from observed positions: q^0, q^1 (and q^2) of each trajectory.
     *
     * @param start (B, 3, d) row-major: the first three positions of each trajectory; position schemes also accept
     *              (B, 2, d). Not modified; must be finite.
     */
    public void start(double[] start) {
        Objects.requireNonNull(start, "start");
        int given = start.length / Math.max(1, trajectories * d);
        boolean ok = start.length == trajectories * d * given
                && (given == 3 || given == 2 && !scheme.usesVelocity());
        if (!ok) {
            throw new IllegalArgumentException("start has " + start.length + " values; expected (B, 3, d) = ("
                    + trajectories + ", 3, " + d + ")" + (scheme.usesVelocity() ? "" : " or (B, 2, d)"));
        }
        for (int i = 0; i < start.length; i++) {
            if (!Double.isFinite(start[i])) {
                throw new IllegalArgumentException("start: trajectory " + i / (given * d) + ", point " + i / d % given
                        + ", coordinate " + i % d + " is " + start[i]);
            }
        }
        enter();
        try {
            checkOpen();
            failures.clear();
            totalStats.reset();
            Arrays.fill(enabled, true);
            knownDiscreteGradients = 0;
            for (int b = 0; b < trajectories; b++) {
                for (int i = 0; i < d; i++) {
                    double q0 = start[(b * given) * d + i], q1 = start[(b * given + 1) * d + i];
                    set(qCurrent, b, i, q0);
                    set(qNext, b, i, q1);
                    if (scheme.usesVelocity()) {
                        double q2 = start[(b * given + 2) * d + i];
                        set(velocityNext, b, i, (q2 - q0) / (2 * dt));
                    }
                }
            }
            point = 0;
            switch (scheme) {
                case PROPOSED -> startProposed();
                case LEAPFROG, EULER, SYMPLECTIC_EULER -> startExplicit();
            }
        } finally {
            exit();
        }
    }

    /** Moves to the next point. */
    public void advance() {
        enter();
        try {
            checkStarted();
            step();
        } finally {
            exit();
        }
    }

    /** Moves {@code steps} points ahead, calling the observer at each new point (not at the current one). */
    public void advance(long steps, PointObserver observer) {
        Objects.requireNonNull(observer, "observer");
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        enter();
        try {
            checkStarted();
            for (long k = 0; k < steps; k++) {
                step();
                observer.point(point, qOut, vOut, energyOut);
            }
        } finally {
            exit();
        }
    }

    /** Calls the observer once with the current point. */
    public void observe(PointObserver observer) {
        checkStarted();
        observer.point(point, qOut, vOut, energyOut);
    }

    private void step() {
        switch (scheme) {
            case PROPOSED -> stepProposed();
            case LEAPFROG -> stepLeapfrog();
            case EULER, SYMPLECTIC_EULER -> stepVelocity(scheme == Scheme.SYMPLECTIC_EULER);
        }
        point++;
    }

    // ------------------------------------------------------------------------------------------------ proposed
    /** Point 0: forward passes of q^0 and q^1, g = DG(q^1, q^0); outputs of point 0. */
    private void startProposed() {
        currentRegion = 0;
        nextRegion = 1;
        network.forward(currentRegion, qCurrent, null);
        network.forward(nextRegion, qNext, null);
        network.discreteGradient(nextRegion, currentRegion, gNext, false, null);
        knownDiscreteGradients = 1;
        proposedOutputs(0);
    }

    /**
     * From point n to n + 1: the roles rotate (q^{n+1} becomes the current position, its forward pass the current
     * region, DG(q^{n+1}, q^n) the current discrete gradient), then Eq. (1) is solved for q^{n+2}.
     */
    private void stepProposed() {
        MemorySegment oldest = qPrevious;
        qPrevious = qCurrent;
        qCurrent = qNext;
        qNext = oldest;
        MemorySegment g = gEldest;
        gEldest = gOldest;
        gOldest = gOlder;
        gOlder = gCurrent;
        gCurrent = gNext;
        gNext = g;
        int r = currentRegion;
        currentRegion = nextRegion;
        nextRegion = r;

        InitialGuess first = options.guess() == InitialGuess.EXTRAPOLATED && knownDiscreteGradients < EXTRAPOLATION_POINTS
                ? InitialGuess.LEAPFROG : options.guess();
        initialGuess(first, enabled);
        solver.solve(qNext, enabled, stepStats);
        totalStats.accumulate(stepStats);
        // Far from a well-conditioned root, ||F|| can have local minima where the line search stalls: a learned
        // potential with a steep feature folds Eq. (1) (its Jacobian vanishes) next to the root, and a guess on the
        // wrong side of the fold does not get past it. A trajectory whose solve fails is solved again from the other
        // guesses (the leapfrog step of SPEC §3, then the force-free step) before it counts as failed.
        boolean[] failing = enabled;
        for (InitialGuess fallback : FALLBACKS) {
            if (fallback == first) continue;
            boolean any = false;
            for (int b = 0; b < trajectories; b++) {
                retry[b] = failing[b] && !stepStats.status(b).converged();
                any |= retry[b];
            }
            if (!any) break;
            initialGuess(fallback, retry);
            solver.solve(qNext, retry, stepStats);
            totalStats.accumulate(stepStats);
            failing = retry;
        }
        int newlyFailed = -1;
        for (int b = 0; b < trajectories; b++) {
            if (failing[b] && !stepStats.status(b).converged()) {
                fail(b, point + 2, stepStats.status(b), stepStats.residualNorm(b));
                newlyFailed = b;
            }
        }
        if (newlyFailed >= 0) {
            freezeFailed(qNext);
        }
        knownDiscreteGradients++;
        proposedOutputs(point + 1);
    }

    /** The discrete gradients g^n .. g^{n-3} that the extrapolated guess reads. */
    private static final int EXTRAPOLATION_POINTS = 4;

    /** The guesses a failed solve is retried from, but the one it started from (see {@link #stepProposed}). */
    private static final InitialGuess[] FALLBACKS = {InitialGuess.LEAPFROG, InitialGuess.FORCE_FREE};

    /**
     * The initial guess x0 = 2q^n - q^{n-1} - dt^2 M^{-1} f of q^{n+1}, with the force f of {@code guess}, into the rows
     * of qNext that {@code rows} selects (a failed trajectory keeps its frozen position).
     */
    private void initialGuess(InitialGuess guess, boolean[] rows) {
        if (guess == InitialGuess.LEAPFROG) {
            network.gradient(currentRegion, gradient);
        }
        for (int b = 0; b < trajectories; b++) {
            if (!enabled[b]) {
                copyRow(qCurrent, b, qNext, b);
                continue;
            }
            if (!rows[b]) continue;
            for (int i = 0; i < d; i++) {
                double force = 0;
                for (int j = 0; j < d; j++) {
                    double gj = switch (guess) {
                        // 1/2 [DG(x, q^n) + DG(q^n, q^{n-1})], DG(x, q^n) ~ 4g^n - 6g^{n-1} + 4g^{n-2} - g^{n-3}
                        case EXTRAPOLATED -> 0.5 * (5 * get(gCurrent, b, j) - 6 * get(gOlder, b, j)
                                + 4 * get(gOldest, b, j) - get(gEldest, b, j));
                        case LEAPFROG -> get(gradient, b, j);
                        case FORCE_FREE -> 0.0;
                    };
                    force += minv[i * d + j] * gj;
                }
                set(qNext, b, i, 2 * get(qCurrent, b, i) - get(qPrevious, b, i) - dt * dt * force);
            }
        }
    }

    /**
     * The outputs of point m from q^m (qCurrent), q^{m+1} (qNext), g = DG(q^{m+1}, q^m) (gNext) and V at both
     * (the current and next forward regions). A failed trajectory reads NaN, but its position while q^m
     * is known.
     */
    private void proposedOutputs(long m) {
        for (int b = 0; b < trajectories; b++) {
            if (!enabled[b]) {
                boolean positionKnown = failedPoint[b] > m;
                for (int i = 0; i < d; i++) {
                    qOut[b * d + i] = positionKnown ? get(qCurrent, b, i) : Double.NaN;
                    vOut[b * d + i] = Double.NaN;
                    pOut[b * d + i] = Double.NaN;
                }
                energyOut[b] = Double.NaN;
                continue;
            }
            double kinetic = 0, correction = 0;
            for (int i = 0; i < d; i++) {
                double qi = get(qCurrent, b, i);
                double ui = (get(qNext, b, i) - qi) / dt;
                double mu = 0, mg = 0;
                for (int j = 0; j < d; j++) {
                    mu += mass[i * d + j] * ((get(qNext, b, j) - get(qCurrent, b, j)) / dt);
                    mg += minv[i * d + j] * get(gNext, b, j);
                }
                kinetic += ui * mu;
                correction += get(gNext, b, i) * mg;
                qOut[b * d + i] = qi;
                vOut[b * d + i] = ui + 0.5 * dt * mg;
                pOut[b * d + i] = mu + 0.5 * dt * get(gNext, b, i);
            }
            double potential = network.value(currentRegion, b) + network.value(nextRegion, b);
            energyOut[b] = 0.5 * kinetic + dt * dt / 8 * correction + 0.5 * potential;
        }
    }

    /**
     * Eq. (1) for x = q^{n+1}, M⁻¹-premultiplied and times Δt² (SPEC §3; Newton's iterates do not change):
     * F(x) = x − 2q^n + q^{n−1} + (Δt²/2) M⁻¹ [DG(x, q^n) + DG(q^n, q^{n−1})],
     * J v = v + (Δt²/2) M⁻¹ ∂DG(x, q^n)/∂x v (forward mode, {@link Mlp#chainTangent}), at the last x evaluated (the
     * solver's iterate). At d = 1 the product is v times T = ∂DG(x, q^n)/∂x · 1, the tangent of the unit direction,
     * for every B: with fewer than two shards of trajectories T is computed with every residual that the solver does
     * not expect to be its last, in the same passes over the weights (two rows a pass,
     * {@link ShardedNetwork#discreteGradient} with a gDot), else when a product asks for it; the bits are the same
     * either way.
     * Every evaluation runs on all rows, so that each row's arithmetic is that of its trajectory alone.
     */
    private final class EquationOne implements NonlinearSystem {
        @Override
        public int blocks() {
            return trajectories;
        }

        @Override
        public int blockSize() {
            return d;
        }

        @Override
        public void residual(MemorySegment f, MemorySegment x, boolean[] active) {
            residual(f, x, active, null);
        }

        @Override
        public void residual(MemorySegment f, MemorySegment x, boolean[] active, boolean[] expectedLast) {
            tangentKnown = fusedTangent && !allExpectedLast(active, expectedLast);
            network.forward(nextRegion, x, tangentKnown ? unit : null);
            network.discreteGradient(nextRegion, currentRegion, gNext, true, tangentKnown ? unitTangent : null);
            double c = 0.5 * dt * dt;
            for (int b = 0; b < trajectories; b++) {
                double norm2 = 0;
                for (int i = 0; i < d; i++) {
                    double xi = x.getAtIndex(JAVA_DOUBLE, (long) b * d + i);
                    double qi = get(qCurrent, b, i), pi = get(qPrevious, b, i);
                    double force = 0, forceScale = 0;
                    for (int j = 0; j < d; j++) {
                        double m = minv[i * d + j], gn = get(gNext, b, j), gc = get(gCurrent, b, j);
                        force += m * (gn + gc);
                        forceScale += Math.abs(m) * (Math.abs(gn) + Math.abs(gc));
                    }
                    f.setAtIndex(JAVA_DOUBLE, (long) b * d + i, (xi - 2 * qi + pi) + c * force);
                    // the terms of component i: x, 2 q^n, q^{n-1}, and c M^{-1}_ij g_j of both discrete gradients
                    double s = Math.abs(xi) + 2 * Math.abs(qi) + Math.abs(pi) + c * forceScale;
                    norm2 += s * s;
                }
                scale[b] = Math.sqrt(norm2);
            }
        }

        @Override
        public void jacobianTimes(MemorySegment jv, MemorySegment x, MemorySegment v, boolean[] active) {
            if (d > 1) {
                network.tangent(nextRegion, v, tangent);
            } else {
                if (!tangentKnown) network.tangent(nextRegion, unit, unitTangent);
                for (int b = 0; b < trajectories; b++) set(tangent, b, 0, v.getAtIndex(JAVA_DOUBLE, b) * get(unitTangent, b, 0));
            }
            double c = 0.5 * dt * dt;
            for (int b = 0; b < trajectories; b++) {
                for (int i = 0; i < d; i++) {
                    double s = 0;
                    for (int j = 0; j < d; j++) s += minv[i * d + j] * get(tangent, b, j);
                    jv.setAtIndex(JAVA_DOUBLE, (long) b * d + i, v.getAtIndex(JAVA_DOUBLE, (long) b * d + i) + c * s);
                }
            }
        }

        @Override
        public double residualScale(int block) {
            return scale[block];
        }

        /** Whether the solver expects no product at this point for any active block (the passes then skip T). */
        private static boolean allExpectedLast(boolean[] active, boolean[] expectedLast) {
            if (expectedLast == null) return false;
            for (int b = 0; b < active.length; b++) {
                if (active[b] && !expectedLast[b]) return false;
            }
            return true;
        }
    }

    // ------------------------------------------------------------------------------------------------ explicit
    /** Leapfrog: point 0 has q^0 only. Velocity schemes: point 0 has q^0 only; (q^1, v̂^1) wait in the next slots. */
    private void startExplicit() {
        for (int b = 0; b < trajectories; b++) {
            for (int i = 0; i < d; i++) {
                qOut[b * d + i] = get(qCurrent, b, i);
                vOut[b * d + i] = Double.NaN;
                pOut[b * d + i] = Double.NaN;
            }
            energyOut[b] = Double.NaN;
        }
    }

    /**
     * Leapfrog from point n to n + 1: q^{n+1} (already known) becomes current; its forward pass gives V(q^{n+1}) and
     * ∇V(q^{n+1}), hence q^{n+2}, and the point's velocity (q^{n+2} − q^n)/(2Δt).
     */
    private void stepLeapfrog() {
        MemorySegment oldest = qPrevious;
        qPrevious = qCurrent;
        qCurrent = qNext;
        qNext = oldest;
        network.forward(0, qCurrent, null);
        network.gradient(0, gradient);
        double h2 = dt * dt;
        for (int b = 0; b < trajectories; b++) {
            for (int i = 0; i < d; i++) {
                double force = 0;
                for (int j = 0; j < d; j++) force += minv[i * d + j] * get(gradient, b, j);
                set(qNext, b, i, 2 * get(qCurrent, b, i) - get(qPrevious, b, i) - h2 * force);
            }
        }
        long next = point + 2;
        checkFinite(qNext, next);
        for (int b = 0; b < trajectories; b++) {
            for (int i = 0; i < d; i++) set(velocity, b, i, (get(qNext, b, i) - get(qPrevious, b, i)) / (2 * dt));
        }
        explicitOutputs(point + 1);
    }

    /**
     * Euler or symplectic Euler from point n to n + 1: the state (q^n, v^n) steps with ∇V(q^n) from the forward pass
     * of point n (n ≥ 1; from point 0 the state (q^1, v̂^1) is given), then a forward pass of q^{n+1} gives V.
     */
    private void stepVelocity(boolean symplectic) {
        long next = point + 1;
        if (point >= 1) {
            network.gradient(0, gradient);
            for (int b = 0; b < trajectories; b++) {
                for (int i = 0; i < d; i++) {
                    double force = 0;
                    for (int j = 0; j < d; j++) force += minv[i * d + j] * get(gradient, b, j);
                    double v = get(velocity, b, i), vn = v - dt * force;
                    set(velocityNext, b, i, vn);
                    set(qNext, b, i, get(qCurrent, b, i) + dt * (symplectic ? vn : v));
                }
            }
        }
        MemorySegment swap = qCurrent;
        qCurrent = qNext;
        qNext = swap;
        swap = velocity;
        velocity = velocityNext;
        velocityNext = swap;
        checkFinite(qCurrent, next);
        checkFinite(velocity, next);
        network.forward(0, qCurrent, null);
        explicitOutputs(next);
    }

    /**
     * Outputs of point m of an explicit scheme from qCurrent, velocity and V in forward region 0:
     * E = 1/2 v^T M v + V(q). A failed trajectory reads NaN, but its position while q^m is known.
     */
    private void explicitOutputs(long m) {
        for (int b = 0; b < trajectories; b++) {
            boolean live = enabled[b];
            boolean positionKnown = live || failedPoint[b] > m;
            double kinetic = 0;
            for (int i = 0; i < d; i++) {
                double vi = get(velocity, b, i), mv = 0;
                for (int j = 0; j < d; j++) mv += mass[i * d + j] * get(velocity, b, j);
                kinetic += vi * mv;
                qOut[b * d + i] = positionKnown ? get(qCurrent, b, i) : Double.NaN;
                vOut[b * d + i] = live ? vi : Double.NaN;
                pOut[b * d + i] = live ? mv : Double.NaN;
            }
            energyOut[b] = live ? 0.5 * kinetic + network.value(0, b) : Double.NaN;
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers
    private void fail(int b, long atPoint, SolveStatus status, double residual) {
        enabled[b] = false;
        failedPoint[b] = atPoint;
        failures.add(new Failure(b, atPoint, status, residual));
    }

    /** Fails every live trajectory with a non-finite value in its row of {@code state} and zeroes that row. */
    private void checkFinite(MemorySegment state, long atPoint) {
        for (int b = 0; b < trajectories; b++) {
            boolean finite = true;
            for (int i = 0; i < d; i++) finite &= Double.isFinite(get(state, b, i));
            if (!finite) {
                if (enabled[b]) fail(b, atPoint, SolveStatus.NON_FINITE, Double.NaN);
                for (int i = 0; i < d; i++) set(state, b, i, 0.0);
            }
        }
    }

    /** A failed trajectory's next position is its current one: finite and harmless in the batched kernels. */
    private void freezeFailed(MemorySegment next) {
        for (int b = 0; b < trajectories; b++) {
            if (!enabled[b]) copyRow(qCurrent, b, next, b);
        }
    }

    private void copyRow(MemorySegment from, int fromRow, MemorySegment to, int toRow) {
        MemorySegment.copy(from, (long) fromRow * d * Double.BYTES, to, (long) toRow * d * Double.BYTES,
                (long) d * Double.BYTES);
    }

    private double get(MemorySegment m, int row, int i) {
        return m.getAtIndex(JAVA_DOUBLE, (long) row * d + i);
    }

    private void set(MemorySegment m, int row, int i, double v) {
        m.setAtIndex(JAVA_DOUBLE, (long) row * d + i, v);
    }

    private void enter() {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("Stepper used by two threads at once, or re-entered from its observer");
        }
    }

    private void exit() {
        busy.set(false);
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("Stepper is closed");
    }

    private void checkStarted() {
        checkOpen();
        if (point < 0) throw new IllegalStateException("Stepper not started: call start(...) first");
    }

    /** Releases the native workspaces and the shard threads; further calls throw IllegalStateException. */
    @Override
    public void close() {
        enter();
        try {
            if (!closed) {
                closed = true;
                network.close();
                arena.close();
            }
        } finally {
            exit();
        }
    }
}
