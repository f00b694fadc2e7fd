/**
 * Jacobian-free Newton–Krylov for batches of independent nonlinear systems F(x) = 0 (SPEC §3: each step of
 * Eq. (1) is one such system per trajectory).
 *
 * <p>{@link org.dtlm.solve.NonlinearSystem} is the narrow residual callback, {@link org.dtlm.solve.BlockLinearOperator}
 * the operator interface of the Krylov solver {@link org.dtlm.solve.BatchedGmres},
 * {@link org.dtlm.solve.NewtonKrylovOptions} the options with documented defaults,
 * {@link org.dtlm.solve.SolverStats} the counters and per-block {@link org.dtlm.solve.SolveStatus}, and
 * {@link org.dtlm.solve.NewtonKrylovSolver} the solver with its preallocated workspace.
 *
 * <p>A batch holds B blocks of n unknowns; block b of F depends only on block b of x. Every reduction (norms, dot
 * products, Givens rotations, forcing terms, line-search decisions) is taken per block, so a block solved in a batch
 * goes through exactly the arithmetic it goes through alone and its result is the same to the bit, provided the
 * system's own evaluation of block b does not depend on the other blocks.
 */
package org.dtlm.solve;
