package org.dtlm.rollout;

import java.util.Objects;

import org.dtlm.solve.NewtonKrylovOptions;

/**
 * Options of a {@link Stepper}.
 *
 * @param dt      the time step Δt (SPEC §3, §5); positive and finite; a model records the Δt it was trained with,
 *                {@link org.dtlm.potential.Model#dt()}
 * @param solver  Newton–Krylov options of the implicit scheme {@code proposed} (ignored by the explicit ones);
 *                default {@link #SOLVER_DEFAULTS}
 * @param guess   the initial guess of each Newton solve; default {@link InitialGuess#DEFAULT}
 * @param threads the threads a step uses: a shard of at least 32 trajectories each, or, for fewer trajectories than
 *                that makes two shards of, a share of the columns of every layer (one trajectory uses them all); 0
 *                (the default) for the thread count of the model's BLAS (the CLI's --threads). Results do not depend
 *                on it
 */
public record StepperOptions(double dt, NewtonKrylovOptions solver, InitialGuess guess, int threads) {

    /**
     * The solver's {@link NewtonKrylovOptions#DEFAULTS} (SPEC §3: xtol 1e-14, residual 4ε relative to the scale of the
     * terms of Eq. (1), exact Jacobian-vector products) with Eisenstat–Walker η₀ = 0: the first linear solve of a step
     * goes down to the oversolving safeguard, half the residual tolerance, so that from a good initial guess one
     * Newton iteration usually ends the step (measurements: bench/README.md, ## Rollouts).
     */
    public static final NewtonKrylovOptions SOLVER_DEFAULTS =
            NewtonKrylovOptions.DEFAULTS.withForcing(NewtonKrylovOptions.Forcing.EISENSTAT_WALKER, 0.0);

    public StepperOptions {
        if (!(dt > 0 && dt < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("dt must be positive and finite, got " + dt);
        }
        Objects.requireNonNull(solver, "solver");
        Objects.requireNonNull(guess, "guess");
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0: as the BLAS), got " + threads);
        }
    }

    /** Δt with the default solver options and initial guess. */
    public static StepperOptions of(double dt) {
        return new StepperOptions(dt, SOLVER_DEFAULTS, InitialGuess.DEFAULT, 0);
    }

    public StepperOptions withSolver(NewtonKrylovOptions solver) {
        return new StepperOptions(dt, solver, guess, threads);
    }

    public StepperOptions withGuess(InitialGuess guess) {
        return new StepperOptions(dt, solver, guess, threads);
    }

    public StepperOptions withThreads(int threads) {
        return new StepperOptions(dt, solver, guess, threads);
    }

    /**
     * How the Newton solve of Eq. (1) for q^{n+1} starts. Whichever it is, a trajectory whose solve fails is solved
     * again from the leapfrog step, then from the force-free step (those of them it did not start from) before it
     * counts as failed.
     */
    public enum InitialGuess {
        /** The leapfrog step 2q^n − q^{n−1} − Δt² M⁻¹∇V(q^n) (SPEC §3); costs a gradient chain per step. */
        LEAPFROG,
        /** The force-free step 2q^n − q^{n−1}. */
        FORCE_FREE,
        /**
         * Eq. (1) with DG(q^{n+1}, q^n) replaced by its cubic extrapolation 4g^n − 6g^{n−1} + 4g^{n−2} − g^{n−3} from
         * the converged discrete gradients g^k = DG(q^k, q^{k−1}) of the previous steps: no network evaluation.
         * The leapfrog step while fewer than four are known.
         */
        EXTRAPOLATED;

        /** The default: fewer Newton iterations and no gradient chain (measurements: bench/README.md, ## Rollouts). */
        public static final InitialGuess DEFAULT = EXTRAPOLATED;
    }
}
