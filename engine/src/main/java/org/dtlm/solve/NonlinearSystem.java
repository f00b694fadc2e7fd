package org.dtlm.solve;

import java.lang.foreign.MemorySegment;

/**
 * A batch of B independent nonlinear systems F_b(x_b) = 0 of n equations in n unknowns each (SPEC §3: one block per
 * trajectory of Eq. (1)). This is the narrow callback of {@link NewtonKrylovSolver}.
 *
 * <p>Buffers are (B, n) row-major doubles in native {@link MemorySegment}s owned by the solver's workspace, so a
 * residual computed by off-heap kernels is written in place, without copies; element (b, i) is at index b·n + i
 * ({@code ValueLayout.JAVA_DOUBLE}, native byte order). The segments stay the same for the solver's lifetime.
 *
 * <p>Block independence is the caller's promise: F_b, its Jacobian-vector product and {@link #residualScale} may read
 * block b of x (and of v) only. Under that promise a block's solve in a batch equals, bit for bit, its solve alone.
 * Every method is called for the blocks with {@code active[b]} only; rows of x of inactive blocks always hold that
 * block's current iterate, so a system that finds it cheaper to evaluate every block whatever the mask stays correct
 * (rows of inactive blocks in its outputs are ignored).
 */
public interface NonlinearSystem {

    /** B, the number of independent blocks; fixed for the system's lifetime. */
    int blocks();

    /** n, the number of unknowns (and equations) of one block; fixed for the system's lifetime. */
    int blockSize();

    /**
     * f[b] = F_b(x[b]) for every b with active[b]. Non-finite values are allowed: the solver reports them per block.
     *
     * @param f      (B, n) modified in active rows
     * @param x      (B, n) not modified
     * @param active (B) not modified
     */
    void residual(MemorySegment f, MemorySegment x, boolean[] active);

    /**
     * {@link #residual(MemorySegment, MemorySegment, boolean[])} with a hint: for a block with expectedLast[b] the
     * solver expects to ask no Jacobian-vector product at this point (it passed the step test, or Newton's quadratic
     * convergence predicts that F there passes the residual test), so a system that prepares its products while it
     * evaluates F may skip that for such blocks. It is a prediction: the solver may still ask, and the system must
     * then answer as {@link #jacobianTimes} says. f must be what the three-argument call gives. The default ignores
     * the hint.
     *
     * @param expectedLast (B) not modified
     */
    default void residual(MemorySegment f, MemorySegment x, boolean[] active, boolean[] expectedLast) {
        residual(f, x, active);
    }

    /**
     * jv[b] = J_b(x[b]) v[b], the exact Jacobian-vector product, for every b with active[b]; used with
     * {@link NewtonKrylovOptions.JacobianProduct#EXACT}.
     *
     * <p>Contract: for every active block, x[b] is the point of the most recent {@link #residual} call that had block b
     * active, and no residual call with block b active comes between that call and this one. The system may therefore
     * reuse a linearisation cached by that residual evaluation (e.g. the pre-activations of an MLP) instead of reading x.
     *
     * @param jv     (B, n) modified in active rows
     * @param x      (B, n) not modified
     * @param v      (B, n) not modified
     * @param active (B) not modified
     */
    default void jacobianTimes(MemorySegment jv, MemorySegment x, MemorySegment v, boolean[] active) {
        throw new UnsupportedOperationException(getClass().getName()
                + " has no exact Jacobian-vector product: implement jacobianTimes or use JacobianProduct.FINITE_DIFFERENCE");
    }

    /**
     * The scale of the terms of F_b at the point of block b's most recent residual evaluation (which the solver makes
     * the current iterate before asking), e.g. the Euclidean norm of the sum of the absolute values of the terms that
     * make up each component of F_b (SPEC §3: "‖F‖ small relative to the scale of the terms of F"). The residual test
     * of block b is ‖F_b‖ ≤ max(ftolAbs, ftolRel · residualScale(b)) (in the equation-scaled norm when
     * {@link NewtonKrylovSolver#setScaling} is used). Must be finite and non-negative.
     *
     * <p>The default, 0, leaves only the absolute residual test and the step test.
     */
    default double residualScale(int block) {
        return 0.0;
    }
}
