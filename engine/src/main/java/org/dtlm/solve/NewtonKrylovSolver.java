package org.dtlm.solve;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Jacobian-free Newton–Krylov for a batch of B independent systems F_b(x_b) = 0 of n unknowns (SPEC §3): inexact
 * Newton steps from {@link BatchedGmres} with Eisenstat–Walker forcing, and a backtracking (Armijo) line search. Each
 * block converges on its own; a converged or failed block is frozen (no more evaluations of it, no more updates) and
 * the others go on. Every decision is per block, so a batched solve equals the solves of its blocks alone, bit for bit.
 *
 * <p>Buffers. The system sees only native (B, n) segments of this workspace, allocated once from the arena given to
 * the constructor (x at which F is evaluated, F, the direction v and J v, and for finite differences the perturbed
 * point and its residual), so off-heap residual kernels write in place. The solver's own vectors are small and live
 * in plain {@code double[]} (Krylov basis (B, m+1, n)). A solve allocates nothing on the Java heap.
 *
 * <p>Optional diagonal scaling (as in KINSOL): with unknown scales d_u and equation scales d_f, every norm, the GMRES
 * system and both stopping tests work on the scaled quantities d_u x and d_f F, so that badly scaled unknowns or
 * equations are treated alike.
 *
 * <p>Not thread-safe: one solver per thread.
 */
public final class NewtonKrylovSolver {

    /** √ε, the relative size of the finite-difference perturbation. */
    private static final double SQRT_EPSILON = Math.sqrt(NewtonKrylovOptions.EPSILON);
    /** Safeguards of the quadratic-interpolation backtrack: the new λ lies in [0.1 λ, 0.5 λ]. */
    private static final double BACKTRACK_MIN_FACTOR = 0.1;
    private static final double BACKTRACK_MAX_FACTOR = 0.5;
    /** Backtrack factor after a trial point with a non-finite residual. */
    private static final double BACKTRACK_NON_FINITE_FACTOR = 0.5;
    /** Eisenstat–Walker choice 2 safeguard threshold (EW 1996): γ η_{k−1}^α is a lower bound only above this. */
    private static final double EW_SAFEGUARD_THRESHOLD = 0.1;
    /** Kelley's oversolving safeguard η_k ≥ KELLEY_FACTOR · τ/‖F_k‖. */
    private static final double KELLEY_FACTOR = 0.5;

    private final NonlinearSystem system;
    private final NewtonKrylovOptions options;
    private final int blocks;
    private final int n;
    private final BatchedGmres gmres;
    private final BlockLinearOperator jacobian;

    // Native, seen by the system, all (B, n). Outside a line search evalPoint holds every block's current iterate.
    private final MemorySegment evalPoint;
    private final MemorySegment evalResidual;
    private final MemorySegment direction;
    private final MemorySegment product;
    private final MemorySegment perturbedPoint;    // finite differences only, else null
    private final MemorySegment perturbedResidual; // finite differences only, else null

    // Solver-side, all (B, n).
    private final double[] x;
    private final double[] f;
    private final double[] unknownScale;
    private final double[] equationScale;
    private final double[] rhs;
    private final double[] krylovSolution;
    private final double[] step;
    private final double[] scaled; // scratch for d_u ⊙ x and d_f ⊙ F
    // Per block, all (B).
    private final boolean[] running;
    private final boolean[] searching;
    private final boolean[] smallStep;
    /** The blocks whose next evaluation is expected to be their last (see {@link NonlinearSystem#residual}). */
    private final boolean[] expectedLast;
    private final boolean[] fdActive;
    private final int[] iteration;
    private final int[] backtracksThisStep;
    private final double[] residualNorm;
    private final double[] previousResidualNorm;
    private final double[] eta;
    private final double[] linearTolerance;
    private final double[] residualTolerance;
    private final double[] iterateNorm;
    private final double[] lambda;
    private final double[] decrease;
    private final double[] fdStep;

    private SolverStats stats;

    /** A solver whose native buffers live as long as it is reachable ({@link Arena#ofAuto()}). */
    public NewtonKrylovSolver(NonlinearSystem system, NewtonKrylovOptions options) {
        this(system, options, Arena.ofAuto());
    }

    /**
     * @param system  the residual callback; its blocks() and blockSize() are read once, here
     * @param options solver options
     * @param arena   allocates the native buffers the system sees; must outlive the solver's use
     */
    public NewtonKrylovSolver(NonlinearSystem system, NewtonKrylovOptions options, Arena arena) {
        this.system = Objects.requireNonNull(system, "system");
        this.options = Objects.requireNonNull(options, "options");
        Objects.requireNonNull(arena, "arena");
        blocks = system.blocks();
        n = system.blockSize();
        if (blocks < 1) {
            throw new IllegalArgumentException("system.blocks() must be >= 1, got " + blocks);
        }
        if (n < 1) {
            throw new IllegalArgumentException("system.blockSize() must be >= 1, got " + n);
        }
        if ((long) blocks * n > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("batch of " + blocks + " x " + n + " unknowns is too large");
        }
        gmres = new BatchedGmres(blocks, n, options.restart());
        int size = blocks * n;
        long bytes = (long) size * Double.BYTES;
        evalPoint = arena.allocate(bytes, 64);
        evalResidual = arena.allocate(bytes, 64);
        direction = arena.allocate(bytes, 64);
        product = arena.allocate(bytes, 64);
        boolean fd = options.jacobianProduct() == NewtonKrylovOptions.JacobianProduct.FINITE_DIFFERENCE;
        perturbedPoint = fd ? arena.allocate(bytes, 64) : null;
        perturbedResidual = fd ? arena.allocate(bytes, 64) : null;
        jacobian = fd ? this::finiteDifferenceProduct : this::exactProduct;

        x = new double[size];
        f = new double[size];
        unknownScale = new double[size];
        equationScale = new double[size];
        Arrays.fill(unknownScale, 1.0);
        Arrays.fill(equationScale, 1.0);
        rhs = new double[size];
        krylovSolution = new double[size];
        step = new double[size];
        scaled = new double[size];
        running = new boolean[blocks];
        searching = new boolean[blocks];
        smallStep = new boolean[blocks];
        expectedLast = new boolean[blocks];
        fdActive = new boolean[blocks];
        iteration = new int[blocks];
        backtracksThisStep = new int[blocks];
        residualNorm = new double[blocks];
        previousResidualNorm = new double[blocks];
        eta = new double[blocks];
        linearTolerance = new double[blocks];
        residualTolerance = new double[blocks];
        iterateNorm = new double[blocks];
        lambda = new double[blocks];
        decrease = new double[blocks];
        fdStep = new double[blocks];
    }

    public NonlinearSystem system() {
        return system;
    }

    public NewtonKrylovOptions options() {
        return options;
    }

    /**
     * Sets diagonal scaling for later solves (values are copied): the solver works with d_u ⊙ x and d_f ⊙ F. Choose
     * d_u ≈ 1/|typical x_i| and d_f ≈ 1/|typical F_i| so that both are of order 1. {@code null} means all ones.
     *
     * @param unknownScale  (B, n) positive finite, or null
     * @param equationScale (B, n) positive finite, or null
     */
    public void setScaling(double[] unknownScale, double[] equationScale) {
        copyScale("unknownScale", unknownScale, this.unknownScale);
        copyScale("equationScale", equationScale, this.equationScale);
    }

    private void copyScale(String name, double[] source, double[] target) {
        if (source == null) {
            Arrays.fill(target, 1.0);
            return;
        }
        if (source.length != target.length) {
            throw new IllegalArgumentException(name + " has length " + source.length + ", expected " + target.length
                    + " = blocks " + blocks + " x n " + n);
        }
        for (int i = 0; i < source.length; i++) {
            if (!(source[i] > 0 && source[i] < Double.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException(name + ": block " + i / n + ", component " + i % n
                        + " must be positive and finite, got " + source[i]);
            }
        }
        System.arraycopy(source, 0, target, 0, source.length);
    }

    /** Solves every block; see {@link #solve(MemorySegment, boolean[], SolverStats)}. */
    public boolean solve(MemorySegment x0, SolverStats stats) {
        return solve(x0, null, stats);
    }

    /**
     * Solves F_b(x_b) = 0 for every enabled block, starting from x0, and writes each block's final iterate back to x0:
     * the solution for a CONVERGED block, the last accepted (finite) iterate otherwise, the initial guess untouched for
     * a block that failed at once or was not enabled. {@code stats} is reset, then holds each block's counters, final
     * residual norm and {@link SolveStatus}.
     *
     * @param x0      (B, n) row-major doubles, any segment kind: read as the initial guess, overwritten with the result
     * @param enabled (B) blocks to solve, not modified; null for all. Others get {@link SolveStatus#SKIPPED}.
     * @param stats   for B blocks, reset and filled
     * @return true if every enabled block converged
     */
    public boolean solve(MemorySegment x0, boolean[] enabled, SolverStats stats) {
        Objects.requireNonNull(x0, "x0");
        Objects.requireNonNull(stats, "stats");
        long bytes = (long) blocks * n * Double.BYTES;
        if (x0.byteSize() != bytes) {
            throw new IllegalArgumentException("x0 has " + x0.byteSize() + " bytes, expected " + bytes
                    + " = blocks " + blocks + " x n " + n + " doubles");
        }
        if (enabled != null && enabled.length != blocks) {
            throw new IllegalArgumentException("enabled has length " + enabled.length + ", expected " + blocks);
        }
        if (stats.blocks() != blocks) {
            throw new IllegalArgumentException("stats has " + stats.blocks() + " blocks, expected " + blocks);
        }
        this.stats = stats;
        stats.reset();
        stats.countSolve();

        MemorySegment.copy(x0, JAVA_DOUBLE_UNALIGNED, 0, x, 0, blocks * n);
        MemorySegment.copy(x, 0, evalPoint, JAVA_DOUBLE, 0, blocks * n);
        if (perturbedPoint != null) {
            MemorySegment.copy(x, 0, perturbedPoint, JAVA_DOUBLE, 0, blocks * n);
        }
        for (int b = 0; b < blocks; b++) {
            running[b] = enabled == null || enabled[b];
            iteration[b] = 0;
            residualNorm[b] = Double.NaN;
            if (running[b] && !Double.isFinite(BlockVectors.norm2(x, b * n, n))) {
                finish(b, SolveStatus.NON_FINITE);
            }
        }
        Arrays.fill(expectedLast, false);
        evaluateResidual(running);
        for (int b = 0; b < blocks; b++) {
            if (running[b]) {
                acceptResidual(b);
            }
        }

        while (startNewtonIterations()) {
            gmres.solve(krylovSolution, rhs, linearTolerance, options.maxKrylovIterations(), jacobian, running);
            startLineSearches();
            while (BlockVectors.any(searching)) {
                for (int b = 0; b < blocks; b++) expectedLast[b] = searching[b] && expectLast(b);
                evaluateResidual(searching);
                for (int b = 0; b < blocks; b++) {
                    if (searching[b]) {
                        judgeTrial(b);
                    }
                }
            }
        }
        for (int b = 0; b < blocks; b++) {
            if (enabled == null || enabled[b]) {
                MemorySegment.copy(x, b * n, x0, JAVA_DOUBLE_UNALIGNED, (long) b * n * Double.BYTES, n);
            }
        }
        this.stats = null;
        for (int b = 0; b < blocks; b++) {
            if ((enabled == null || enabled[b]) && !stats.status(b).converged()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Tests every running block at its current iterate; for those that go on, sets the forcing term and the GMRES
     * right-hand side −d_f F. Returns whether any block goes on.
     */
    private boolean startNewtonIterations() {
        boolean any = false;
        for (int b = 0; b < blocks; b++) {
            if (!running[b]) {
                continue;
            }
            double norm = residualNorm[b];
            if (!Double.isFinite(norm)) {
                finish(b, SolveStatus.NON_FINITE);
                continue;
            }
            double scale = system.residualScale(b);
            if (!(scale >= 0 && scale < Double.POSITIVE_INFINITY)) {
                throw new IllegalStateException("system.residualScale(" + b + ") must be finite and >= 0, got " + scale);
            }
            double tolerance = Math.max(options.ftolAbs(), options.ftolRel() * scale);
            residualTolerance[b] = tolerance;
            if (norm <= tolerance) {
                finish(b, SolveStatus.CONVERGED);
                continue;
            }
            if (iteration[b] >= options.maxNewtonIterations()) {
                finish(b, SolveStatus.MAX_ITERATIONS);
                continue;
            }
            eta[b] = forcingTerm(b, tolerance);
            linearTolerance[b] = eta[b] * norm;
            for (int i = b * n; i < (b + 1) * n; i++) {
                rhs[i] = -equationScale[i] * f[i];
                scaled[i] = unknownScale[i] * x[i];
            }
            iterateNorm[b] = BlockVectors.norm2(scaled, b * n, n);
            iteration[b]++;
            stats.countNewton(b);
            any = true;
        }
        return any;
    }

    /** η_k of block b (see {@link NewtonKrylovOptions.Forcing}); tolerance is the residual test's τ. */
    private double forcingTerm(int b, double tolerance) {
        if (options.forcing() == NewtonKrylovOptions.Forcing.CONSTANT) {
            return options.eta0();
        }
        double next;
        if (iteration[b] == 0) {
            next = options.eta0();
        } else {
            // Eisenstat & Walker 1996, choice 2: η_k = γ (‖F_k‖/‖F_{k−1}‖)^α, safeguarded by γ η_{k−1}^α when > 0.1.
            next = options.ewGamma() * Math.pow(residualNorm[b] / previousResidualNorm[b], options.ewAlpha());
            double safeguard = options.ewGamma() * Math.pow(eta[b], options.ewAlpha());
            if (safeguard > EW_SAFEGUARD_THRESHOLD) {
                next = Math.max(next, safeguard);
            }
        }
        // Kelley 1995, §6.3: no need to solve for a linear residual below half the nonlinear tolerance.
        next = Math.max(next, KELLEY_FACTOR * tolerance / residualNorm[b]);
        return Math.min(next, options.etaMax());
    }

    /** Turns each GMRES result into a step δ = z / d_u and the first trial point x + δ; or ends the block. */
    private void startLineSearches() {
        for (int b = 0; b < blocks; b++) {
            searching[b] = false;
            if (!running[b]) {
                continue;
            }
            stats.addKrylov(b, gmres.iterations(b), gmres.products(b));
            double linearResidual = gmres.residualNorm(b);
            double stepNorm = BlockVectors.norm2(krylovSolution, b * n, n);
            if (!Double.isFinite(linearResidual) || !Double.isFinite(stepNorm)) {
                finish(b, SolveStatus.NON_FINITE);
                continue;
            }
            if (stepNorm == 0) {
                finish(b, SolveStatus.KRYLOV_BREAKDOWN);
                continue;
            }
            for (int i = b * n; i < (b + 1) * n; i++) {
                step[i] = krylovSolution[i] / unknownScale[i];
            }
            smallStep[b] = stepNorm <= options.xtol() * (1 + iterateNorm[b]);
            // ψ(λ) = ‖F(x + λδ)‖²/‖F(x)‖² has ψ'(0) = −2(1 − ρ²), ρ = ‖F + Jδ‖/‖F‖, because the GMRES residual is
            // orthogonal to J δ (exactly within one cycle, nearly after restarts); decrease = 1 − ρ² ∈ [0, 1].
            double rho = linearResidual / residualNorm[b];
            decrease[b] = Math.max(0.0, 1.0 - rho * rho);
            lambda[b] = 1.0;
            backtracksThisStep[b] = 0;
            if (!setTrialPoint(b)) { // x + δ rounds to x: converged if δ passes the step test, else stuck
                finish(b, smallStep[b] ? SolveStatus.CONVERGED : SolveStatus.LINE_SEARCH_STAGNATED);
                continue;
            }
            searching[b] = true;
        }
    }

    /**
     * Whether block b's trial point is expected to end its solve: a full step that passes the step test ends it
     * ({@link #judgeTrial}, unless F is not finite there), and from the second Newton iteration on a full step whose
     * predicted residual passes the residual test: quadratic convergence with the constant of the last step,
     * ‖F_{k+1}‖ ≈ ‖F_k‖³/‖F_{k−1}‖², on top of the linear model's residual ‖F_k + J δ_k‖ left by GMRES. A hint for the
     * system only ({@link NonlinearSystem#residual}): a wrong guess costs it time, and nothing here depends on it.
     */
    private boolean expectLast(int b) {
        if (lambda[b] != 1.0) return false;
        if (smallStep[b]) return true;
        if (iteration[b] < 2) return false;
        double rate = residualNorm[b] / previousResidualNorm[b];
        double predicted = gmres.residualNorm(b) + residualNorm[b] * rate * rate;
        return predicted <= residualTolerance[b];
    }

    /**
     * Accepts or reduces the trial step of block b after its residual was evaluated at x + λδ. Armijo condition on
     * ½‖F‖² (sufficient decrease c λ ψ'(0)); backtracking by the minimiser of the quadratic through ψ(0), ψ'(0), ψ(λ),
     * kept within [0.1 λ, 0.5 λ] (Dennis & Schnabel 1983, §6.3.2).
     */
    private void judgeTrial(int b) {
        int offset = b * n;
        double trialNorm = scaledResidualNorm(b, evalResidual);
        double ratio = trialNorm / residualNorm[b];
        double psi = ratio * ratio;
        double lam = lambda[b];
        boolean finite = Double.isFinite(trialNorm);
        boolean armijo = psi <= 1.0 - 2.0 * options.armijo() * lam * decrease[b];
        boolean stepTest = lam == 1.0 && smallStep[b];
        if (finite && (armijo || stepTest)) {
            MemorySegment.copy(evalPoint, JAVA_DOUBLE, (long) offset * Double.BYTES, x, offset, n);
            MemorySegment.copy(evalResidual, JAVA_DOUBLE, (long) offset * Double.BYTES, f, offset, n);
            previousResidualNorm[b] = residualNorm[b];
            residualNorm[b] = trialNorm;
            searching[b] = false;
            if (stepTest) {
                finish(b, SolveStatus.CONVERGED);
            }
            return;
        }
        if (backtracksThisStep[b] >= options.maxBacktracks()) {
            failSearch(b, finite);
            return;
        }
        double next;
        if (finite) {
            double d = decrease[b];
            double curvature = psi - 1.0 + 2.0 * d * lam; // > 0 when Armijo failed and d > 0
            double minimiser = curvature > 0 ? d * lam * lam / curvature : 0.0;
            next = Math.min(BACKTRACK_MAX_FACTOR * lam, Math.max(BACKTRACK_MIN_FACTOR * lam, minimiser));
        } else {
            next = BACKTRACK_NON_FINITE_FACTOR * lam;
        }
        lambda[b] = next;
        backtracksThisStep[b]++;
        stats.countBacktrack(b);
        if (!setTrialPoint(b)) {
            failSearch(b, finite);
        }
    }

    private void failSearch(int b, boolean lastTrialFinite) {
        searching[b] = false;
        MemorySegment.copy(x, b * n, evalPoint, JAVA_DOUBLE, (long) b * n * Double.BYTES, n);
        finish(b, lastTrialFinite ? SolveStatus.LINE_SEARCH_STAGNATED : SolveStatus.NON_FINITE);
    }

    /** evalPoint_b = x_b + λ_b δ_b; false if that equals x_b in every component (the step vanished in rounding). */
    private boolean setTrialPoint(int b) {
        double lam = lambda[b];
        boolean moved = false;
        for (int i = b * n; i < (b + 1) * n; i++) {
            double trial = x[i] + lam * step[i];
            moved |= trial != x[i];
            evalPoint.setAtIndex(JAVA_DOUBLE, i, trial);
        }
        return moved;
    }

    /** Takes block b's freshly evaluated residual at its current iterate into f and its norm. */
    private void acceptResidual(int b) {
        int offset = b * n;
        MemorySegment.copy(evalResidual, JAVA_DOUBLE, (long) offset * Double.BYTES, f, offset, n);
        residualNorm[b] = scaledResidualNorm(b, evalResidual);
    }

    /** ‖d_f ⊙ F_b‖ read from a native residual buffer. */
    private double scaledResidualNorm(int b, MemorySegment residual) {
        for (int i = b * n; i < (b + 1) * n; i++) {
            scaled[i] = equationScale[i] * residual.getAtIndex(JAVA_DOUBLE, i);
        }
        return BlockVectors.norm2(scaled, b * n, n);
    }

    private void evaluateResidual(boolean[] mask) {
        if (!BlockVectors.any(mask)) {
            return;
        }
        system.residual(evalResidual, evalPoint, mask, expectedLast);
        stats.countResidualCall();
        for (int b = 0; b < blocks; b++) {
            if (mask[b]) {
                stats.countResidual(b);
            }
        }
    }

    private void finish(int b, SolveStatus status) {
        running[b] = false;
        stats.finish(b, status, residualNorm[b]);
    }

    /** Scaled Jacobian d_f J d_u⁻¹ applied exactly: out = d_f ⊙ J (in / d_u). */
    private void exactProduct(double[] out, double[] in, boolean[] active) {
        for (int b = 0; b < blocks; b++) {
            if (active[b]) {
                for (int i = b * n; i < (b + 1) * n; i++) {
                    direction.setAtIndex(JAVA_DOUBLE, i, in[i] / unknownScale[i]);
                }
            }
        }
        system.jacobianTimes(product, evalPoint, direction, active);
        stats.countJacobianCall();
        for (int b = 0; b < blocks; b++) {
            if (active[b]) {
                for (int i = b * n; i < (b + 1) * n; i++) {
                    out[i] = equationScale[i] * product.getAtIndex(JAVA_DOUBLE, i);
                }
            }
        }
    }

    /**
     * Scaled Jacobian applied by a forward difference, out = d_f ⊙ (F(x + h v) − F(x))/h with v = in / d_u and
     * h = √ε (1 + ‖d_u x‖)/‖in‖ (see {@link NewtonKrylovOptions.JacobianProduct#FINITE_DIFFERENCE}).
     */
    private void finiteDifferenceProduct(double[] out, double[] in, boolean[] active) {
        boolean any = false;
        for (int b = 0; b < blocks; b++) {
            fdActive[b] = false;
            if (!active[b]) {
                continue;
            }
            double inNorm = BlockVectors.norm2(in, b * n, n);
            if (inNorm == 0) {
                Arrays.fill(out, b * n, (b + 1) * n, 0.0);
                continue;
            }
            double h = SQRT_EPSILON * (1 + iterateNorm[b]) / inNorm;
            fdStep[b] = h;
            for (int i = b * n; i < (b + 1) * n; i++) {
                perturbedPoint.setAtIndex(JAVA_DOUBLE, i, x[i] + h * (in[i] / unknownScale[i]));
            }
            fdActive[b] = true;
            any = true;
        }
        if (!any) {
            return;
        }
        system.residual(perturbedResidual, perturbedPoint, fdActive);
        stats.countResidualCall();
        for (int b = 0; b < blocks; b++) {
            if (!fdActive[b]) {
                continue;
            }
            stats.countResidual(b);
            double h = fdStep[b];
            for (int i = b * n; i < (b + 1) * n; i++) {
                out[i] = equationScale[i] * ((perturbedResidual.getAtIndex(JAVA_DOUBLE, i) - f[i]) / h);
                perturbedPoint.setAtIndex(JAVA_DOUBLE, i, x[i]);
            }
        }
    }
}
