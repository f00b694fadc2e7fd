package org.dtlm.solve;

import java.util.Arrays;

/**
 * Restarted GMRES(m) (Saad & Schultz 1986, SIAM J. Sci. Stat. Comput. 7(3):856–869) for B independent linear systems
 * A_b z_b = r_b of size n, advanced in lockstep so that one {@link BlockLinearOperator} call serves every block.
 * Zero initial guess, no preconditioner, Arnoldi by modified Gram–Schmidt with one reorthogonalisation pass, Givens
 * rotations on the Hessenberg matrix. The restart length is min(m, n): with m ≥ n one cycle spans the whole space
 * and is a direct solve, so there is no restart; for n = 1 a solve is one operator application.
 *
 * <p>Every reduction is per block, and a block that stops (converged, broken down, out of iterations, non-finite)
 * simply leaves the active mask: its result is the same, to the bit, as when it is solved alone. All storage is
 * allocated by the constructor; {@link #solve} allocates nothing.
 */
public final class BatchedGmres {

    /**
     * Happy breakdown: after orthogonalisation the new Arnoldi vector is this small relative to A v_j, i.e. rounding
     * noise; the Krylov space is (numerically) invariant and the cycle ends.
     */
    static final double BREAKDOWN_RELATIVE = 0x1p-46;
    /** A trailing diagonal entry of the triangular factor this small relative to its largest one is treated as 0. */
    static final double SINGULAR_RELATIVE = 0x1p-52;

    private final int blocks;
    private final int n;
    private final int m;
    private final double[] basis;        // (B, m+1, n) orthonormal Arnoldi vectors
    private final double[] hessenberg;   // (B, m, m+1) column j of block b at (b m + j)(m+1); rotated into R in place
    private final double[] cosines;      // (B, m)
    private final double[] sines;        // (B, m)
    private final double[] g;            // (B, m+1) rotated β e_1
    private final double[] y;            // (B, m) least-squares coefficients
    private final double[] operatorIn;   // (B, n)
    private final double[] operatorOut;  // (B, n)
    private final boolean[] inSolve;     // (B)
    private final boolean[] inCycle;     // (B)
    private final boolean[] needsRestart; // (B)
    private final boolean[] brokeDown;   // (B)
    private final int[] iterations;      // (B)
    private final int[] products;        // (B)
    private final double[] residualNorm; // (B)

    /**
     * @param blocks  B ≥ 1
     * @param n       block size ≥ 1
     * @param restart m ≥ 1; min(m, n) is used
     */
    public BatchedGmres(int blocks, int n, int restart) {
        if (blocks < 1) {
            throw new IllegalArgumentException("blocks must be >= 1, got " + blocks);
        }
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, got " + n);
        }
        if (restart < 1) {
            throw new IllegalArgumentException("restart must be >= 1, got " + restart);
        }
        this.blocks = blocks;
        this.n = n;
        this.m = Math.min(restart, n);
        long basisSize = (long) blocks * (m + 1) * n;
        if (basisSize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Krylov basis of " + blocks + " x " + (m + 1) + " x " + n
                    + " doubles exceeds one Java array");
        }
        basis = new double[(int) basisSize];
        hessenberg = new double[blocks * m * (m + 1)];
        cosines = new double[blocks * m];
        sines = new double[blocks * m];
        g = new double[blocks * (m + 1)];
        y = new double[blocks * m];
        operatorIn = new double[blocks * n];
        operatorOut = new double[blocks * n];
        inSolve = new boolean[blocks];
        inCycle = new boolean[blocks];
        needsRestart = new boolean[blocks];
        brokeDown = new boolean[blocks];
        iterations = new int[blocks];
        products = new int[blocks];
        residualNorm = new double[blocks];
    }

    public int blocks() {
        return blocks;
    }

    public int blockSize() {
        return n;
    }

    /** The restart length in use, min(m, n). */
    public int restart() {
        return m;
    }

    /**
     * Solves A_b z_b = rhs_b for every active block until ‖rhs_b − A_b z_b‖ ≤ tolerance[b] (the GMRES estimate of
     * the residual), a breakdown, maxIterations Arnoldi steps, or, when min(m, n) = n, the end of the first cycle.
     * Afterwards {@link #iterations}, {@link #products} and {@link #residualNorm} describe each active block.
     *
     * @param z             (B, n) modified in active rows: the solution, 0 where no progress was possible
     * @param rhs           (B, n) not modified
     * @param tolerance     (B) not modified: absolute targets for the residual norm
     * @param maxIterations Arnoldi steps per block over all cycles, ≥ 1
     * @param operator      applies A_b
     * @param active        (B) not modified
     */
    public void solve(double[] z, double[] rhs, double[] tolerance, int maxIterations, BlockLinearOperator operator,
                      boolean[] active) {
        checkLength("z", z, blocks * n);
        checkLength("rhs", rhs, blocks * n);
        checkLength("tolerance", tolerance, blocks);
        if (active.length != blocks) {
            throw new IllegalArgumentException("active has length " + active.length + ", expected " + blocks);
        }
        if (maxIterations < 1) {
            throw new IllegalArgumentException("maxIterations must be >= 1, got " + maxIterations);
        }
        for (int b = 0; b < blocks; b++) {
            inSolve[b] = false;
            iterations[b] = 0;
            products[b] = 0;
            if (!active[b]) {
                continue;
            }
            Arrays.fill(z, b * n, (b + 1) * n, 0.0);
            System.arraycopy(rhs, b * n, basis, vector(b, 0), n);
            double beta = BlockVectors.norm2(basis, vector(b, 0), n);
            residualNorm[b] = Double.isFinite(beta) ? beta : Double.NaN;
            inSolve[b] = Double.isFinite(beta) && beta > tolerance[b];
        }
        while (BlockVectors.any(inSolve)) {
            runCycle(z, tolerance, maxIterations, operator);
            restartOrStop(z, rhs, tolerance, maxIterations, operator);
        }
    }

    /** One Arnoldi cycle for every block in the solve; the residual to reduce is in basis vector 0, unnormalised. */
    private void runCycle(double[] z, double[] tolerance, int maxIterations, BlockLinearOperator operator) {
        for (int b = 0; b < blocks; b++) {
            inCycle[b] = inSolve[b];
            brokeDown[b] = false;
            if (!inSolve[b]) {
                continue;
            }
            double beta = residualNorm[b];
            int v0 = vector(b, 0);
            for (int i = 0; i < n; i++) {
                basis[v0 + i] /= beta;
            }
            Arrays.fill(g, b * (m + 1), (b + 1) * (m + 1), 0.0);
            g[b * (m + 1)] = beta;
        }
        for (int j = 0; j < m && BlockVectors.any(inCycle); j++) {
            for (int b = 0; b < blocks; b++) {
                if (inCycle[b]) {
                    System.arraycopy(basis, vector(b, j), operatorIn, b * n, n);
                }
            }
            operator.apply(operatorOut, operatorIn, inCycle);
            for (int b = 0; b < blocks; b++) {
                if (inCycle[b]) {
                    arnoldiStep(b, j, z, tolerance[b], maxIterations);
                }
            }
        }
    }

    /** Extends the Krylov basis of block b by A v_j, updates the rotated least-squares problem, ends the cycle if due. */
    private void arnoldiStep(int b, int j, double[] z, double tolerance, int maxIterations) {
        iterations[b]++;
        products[b]++;
        int w = vector(b, j + 1);
        System.arraycopy(operatorOut, b * n, basis, w, n);
        double wNorm = BlockVectors.norm2(basis, w, n);
        int column = (b * m + j) * (m + 1);
        for (int pass = 0; pass < 2; pass++) { // modified Gram–Schmidt, then one reorthogonalisation pass
            for (int i = 0; i <= j; i++) {
                double h = BlockVectors.dot(basis, vector(b, i), basis, w, n);
                hessenberg[column + i] = pass == 0 ? h : hessenberg[column + i] + h;
                BlockVectors.axpy(-h, basis, vector(b, i), basis, w, n);
            }
        }
        double hNext = BlockVectors.norm2(basis, w, n);
        if (!Double.isFinite(wNorm) || !Double.isFinite(hNext)) {
            residualNorm[b] = Double.NaN;
            inCycle[b] = false;
            inSolve[b] = false;
            return;
        }
        hessenberg[column + j + 1] = hNext;
        int rot = b * m;
        for (int i = 0; i < j; i++) { // earlier rotations on the new column
            double c = cosines[rot + i];
            double s = sines[rot + i];
            double upper = hessenberg[column + i];
            double lower = hessenberg[column + i + 1];
            hessenberg[column + i] = c * upper + s * lower;
            hessenberg[column + i + 1] = -s * upper + c * lower;
        }
        double a = hessenberg[column + j];
        double scale = Math.abs(a) + Math.abs(hNext);
        double c = 1;
        double s = 0;
        double r = a;
        if (hNext != 0) { // rotation zeroing h_{j+1,j}; scaled against overflow of the squares
            double as = a / scale;
            double hs = hNext / scale;
            r = scale * Math.sqrt(as * as + hs * hs);
            c = a / r;
            s = hNext / r;
        }
        cosines[rot + j] = c;
        sines[rot + j] = s;
        hessenberg[column + j] = r;
        hessenberg[column + j + 1] = 0;
        int gb = b * (m + 1);
        g[gb + j + 1] = -s * g[gb + j];
        g[gb + j] = c * g[gb + j];
        residualNorm[b] = Math.abs(g[gb + j + 1]);

        boolean breakdown = hNext <= BREAKDOWN_RELATIVE * wNorm;
        if (residualNorm[b] <= tolerance || breakdown || j + 1 == m || iterations[b] >= maxIterations) {
            brokeDown[b] = breakdown;
            updateSolution(b, j + 1, z);
            inCycle[b] = false;
        } else {
            for (int i = 0; i < n; i++) {
                basis[w + i] /= hNext;
            }
        }
    }

    /** z_b += V y with R y = g over the first k columns, dropping trailing columns whose diagonal is (numerically) 0. */
    private void updateSolution(int b, int k, double[] z) {
        double maxDiagonal = 0;
        for (int i = 0; i < k; i++) {
            maxDiagonal = Math.max(maxDiagonal, Math.abs(hessenberg[(b * m + i) * (m + 1) + i]));
        }
        int kept = k;
        while (kept > 0
                && !(Math.abs(hessenberg[(b * m + kept - 1) * (m + 1) + kept - 1]) > SINGULAR_RELATIVE * maxDiagonal)) {
            kept--;
        }
        int gb = b * (m + 1);
        if (kept < k) { // the residual of the reduced least-squares problem
            brokeDown[b] = true;
            residualNorm[b] = BlockVectors.norm2(g, gb + kept, k + 1 - kept);
        }
        int yb = b * m;
        for (int i = kept - 1; i >= 0; i--) {
            double sum = g[gb + i];
            for (int l = i + 1; l < kept; l++) {
                sum -= hessenberg[(b * m + l) * (m + 1) + i] * y[yb + l];
            }
            y[yb + i] = sum / hessenberg[(b * m + i) * (m + 1) + i];
        }
        for (int i = 0; i < kept; i++) {
            BlockVectors.axpy(y[yb + i], basis, vector(b, i), z, b * n, n);
        }
    }

    /** After a cycle: a block stops, or its true residual rhs − A z is computed and becomes the next cycle's start. */
    private void restartOrStop(double[] z, double[] rhs, double[] tolerance, int maxIterations,
                               BlockLinearOperator operator) {
        boolean anyRestart = false;
        for (int b = 0; b < blocks; b++) {
            needsRestart[b] = inSolve[b] && residualNorm[b] > tolerance[b] && !brokeDown[b]
                    && iterations[b] < maxIterations && m < n;
            inSolve[b] = needsRestart[b];
            anyRestart |= needsRestart[b];
        }
        if (!anyRestart) {
            return;
        }
        operator.apply(operatorOut, z, needsRestart);
        for (int b = 0; b < blocks; b++) {
            if (!needsRestart[b]) {
                continue;
            }
            products[b]++;
            int v0 = vector(b, 0);
            for (int i = 0; i < n; i++) {
                basis[v0 + i] = rhs[b * n + i] - operatorOut[b * n + i];
            }
            double beta = BlockVectors.norm2(basis, v0, n);
            residualNorm[b] = Double.isFinite(beta) ? beta : Double.NaN;
            inSolve[b] = Double.isFinite(beta) && beta > tolerance[b];
        }
    }

    /** Arnoldi steps of block b in the last solve. */
    public int iterations(int b) {
        return iterations[b];
    }

    /** Operator applications for block b in the last solve: Arnoldi steps plus restart residuals. */
    public int products(int b) {
        return products[b];
    }

    /** Final residual norm of block b (the GMRES estimate, or the true one after a restart); NaN if non-finite. */
    public double residualNorm(int b) {
        return residualNorm[b];
    }

    private int vector(int b, int j) {
        return (b * (m + 1) + j) * n;
    }

    private static void checkLength(String name, double[] a, int expected) {
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has length " + a.length + ", expected " + expected);
        }
    }
}
