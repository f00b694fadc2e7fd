package org.dtlm.solve;

/** How the Newton–Krylov solve of one block ended (SPEC §3: a step that does not converge is an error the caller sees). */
public enum SolveStatus {
    /** The residual test or the step test of {@link NewtonKrylovOptions} passed. */
    CONVERGED,
    /** {@link NewtonKrylovOptions#maxNewtonIterations()} Newton iterations without convergence. */
    MAX_ITERATIONS,
    /** The backtracking line search found no acceptable step within its budget, or the step vanished in rounding. */
    LINE_SEARCH_STAGNATED,
    /** NaN or infinity in the initial guess, the residual, a Jacobian-vector product or the Newton step. */
    NON_FINITE,
    /** GMRES made no progress at all: the Jacobian maps the whole Krylov space to (numerically) zero. */
    KRYLOV_BREAKDOWN,
    /** The block was not enabled in this solve; its iterate was left untouched. */
    SKIPPED;

    /** True only for {@link #CONVERGED}. */
    public boolean converged() {
        return this == CONVERGED;
    }
}
