package org.dtlm.solve;

import java.util.Arrays;

/**
 * Counters and outcome of Newton–Krylov solves, per block (SPEC §3: "record per rollout: Newton iterations, Krylov
 * iterations, residual evaluations"). {@link NewtonKrylovSolver#solve} resets the object it is given and fills it;
 * {@link #accumulate} adds one solve's counters into a rollout's. Per-block counters do not depend on the other
 * blocks of a batch; {@link #residualCalls()} and {@link #jacobianCalls()} count batched callback calls and do.
 */
public final class SolverStats {

    private final int blocks;
    // All (B).
    private final int[] newtonIterations;
    private final int[] krylovIterations;
    private final int[] residualEvaluations;
    private final int[] jacobianProducts;
    private final int[] backtracks;
    private final double[] residualNorm;
    private final SolveStatus[] status;
    private long residualCalls;
    private long jacobianCalls;
    private long solves;

    public SolverStats(int blocks) {
        if (blocks < 1) {
            throw new IllegalArgumentException("blocks must be >= 1, got " + blocks);
        }
        this.blocks = blocks;
        newtonIterations = new int[blocks];
        krylovIterations = new int[blocks];
        residualEvaluations = new int[blocks];
        jacobianProducts = new int[blocks];
        backtracks = new int[blocks];
        residualNorm = new double[blocks];
        status = new SolveStatus[blocks];
        reset();
    }

    /** Zeroes every counter; every status becomes {@link SolveStatus#SKIPPED} and every residual norm NaN. */
    public void reset() {
        Arrays.fill(newtonIterations, 0);
        Arrays.fill(krylovIterations, 0);
        Arrays.fill(residualEvaluations, 0);
        Arrays.fill(jacobianProducts, 0);
        Arrays.fill(backtracks, 0);
        Arrays.fill(residualNorm, Double.NaN);
        Arrays.fill(status, SolveStatus.SKIPPED);
        residualCalls = 0;
        jacobianCalls = 0;
        solves = 0;
    }

    /**
     * Adds the counters of {@code solve} (same number of blocks) to this object's, and takes its statuses and residual
     * norms as the latest ones, except that a block which was not solved ({@link SolveStatus#SKIPPED}) keeps its
     * previous status and norm.
     */
    public void accumulate(SolverStats solve) {
        if (solve.blocks != blocks) {
            throw new IllegalArgumentException("solve has " + solve.blocks + " blocks, this has " + blocks);
        }
        for (int b = 0; b < blocks; b++) {
            newtonIterations[b] += solve.newtonIterations[b];
            krylovIterations[b] += solve.krylovIterations[b];
            residualEvaluations[b] += solve.residualEvaluations[b];
            jacobianProducts[b] += solve.jacobianProducts[b];
            backtracks[b] += solve.backtracks[b];
            if (solve.status[b] != SolveStatus.SKIPPED) {
                status[b] = solve.status[b];
                residualNorm[b] = solve.residualNorm[b];
            }
        }
        residualCalls += solve.residualCalls;
        jacobianCalls += solve.jacobianCalls;
        solves += solve.solves;
    }

    public int blocks() {
        return blocks;
    }

    /** Newton iterations (linear solves) of block b. */
    public int newtonIterations(int b) {
        return newtonIterations[b];
    }

    /** Arnoldi steps of GMRES for block b. */
    public int krylovIterations(int b) {
        return krylovIterations[b];
    }

    /** Evaluations of F_b, including those of finite-difference Jacobian-vector products. */
    public int residualEvaluations(int b) {
        return residualEvaluations[b];
    }

    /** Jacobian-vector products for block b (exact or finite-difference), including GMRES restart residuals. */
    public int jacobianProducts(int b) {
        return jacobianProducts[b];
    }

    /** Line-search step reductions for block b. */
    public int backtracks(int b) {
        return backtracks[b];
    }

    /** ‖F_b‖ (equation-scaled) at the final iterate of block b; NaN if never evaluated. */
    public double residualNorm(int b) {
        return residualNorm[b];
    }

    public SolveStatus status(int b) {
        return status[b];
    }

    /** Batched {@link NonlinearSystem#residual} calls, finite-difference products included. */
    public long residualCalls() {
        return residualCalls;
    }

    /** Batched {@link NonlinearSystem#jacobianTimes} calls. */
    public long jacobianCalls() {
        return jacobianCalls;
    }

    /** Number of solves recorded (1 after a solve, the sum after {@link #accumulate}). */
    public long solves() {
        return solves;
    }

    /** The lowest index of a block whose status is neither CONVERGED nor SKIPPED, or −1. */
    public int firstFailedBlock() {
        for (int b = 0; b < blocks; b++) {
            if (status[b] != SolveStatus.CONVERGED && status[b] != SolveStatus.SKIPPED) {
                return b;
            }
        }
        return -1;
    }

    public long totalNewtonIterations() {
        return sum(newtonIterations);
    }

    public long totalKrylovIterations() {
        return sum(krylovIterations);
    }

    public long totalResidualEvaluations() {
        return sum(residualEvaluations);
    }

    public long totalJacobianProducts() {
        return sum(jacobianProducts);
    }

    public long totalBacktracks() {
        return sum(backtracks);
    }

    private static long sum(int[] a) {
        long s = 0;
        for (int v : a) {
            s += v;
        }
        return s;
    }

    @Override
    public String toString() {
        int failed = firstFailedBlock();
        return "SolverStats[blocks=" + blocks + ", solves=" + solves + ", newton=" + totalNewtonIterations()
                + ", krylov=" + totalKrylovIterations() + ", residualEvaluations=" + totalResidualEvaluations()
                + ", jacobianProducts=" + totalJacobianProducts() + ", backtracks=" + totalBacktracks()
                + ", residualCalls=" + residualCalls + ", jacobianCalls=" + jacobianCalls
                + (failed < 0 ? "" : ", firstFailed=" + failed + " " + status[failed] + " |F|=" + residualNorm[failed])
                + "]";
    }

    // Package-private recording, used by NewtonKrylovSolver.

    void countNewton(int b) {
        newtonIterations[b]++;
    }

    void addKrylov(int b, int iterations, int products) {
        krylovIterations[b] += iterations;
        jacobianProducts[b] += products;
    }

    void countResidual(int b) {
        residualEvaluations[b]++;
    }

    void countBacktrack(int b) {
        backtracks[b]++;
    }

    void countResidualCall() {
        residualCalls++;
    }

    void countJacobianCall() {
        jacobianCalls++;
    }

    void countSolve() {
        solves++;
    }

    void finish(int b, SolveStatus s, double norm) {
        status[b] = s;
        residualNorm[b] = norm;
    }
}
