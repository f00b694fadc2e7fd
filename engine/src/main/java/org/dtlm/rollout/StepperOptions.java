package org.dtlm.rollout;

import java.util.Objects;

import org.dtlm.solve.NewtonKrylovOptions;

/**
 * Options of a {@link Stepper}.
 *
 * @param dt      the time step Δt (SPEC §3, §5); positive and finite; a model records the Δt it was trained with,
 *                {@link org.dtlm.potential.Model#dt()}
 * @param solver  Newton–Krylov options of the implicit scheme {@code proposed} (ignored by the explicit ones);
 *                default {@link NewtonKrylovOptions#DEFAULTS} (SPEC §3: xtol 1e-14, residual 4ε relative to the
 *                scale of the terms of Eq. (1))
 * @param guess   the initial guess of each Newton solve; default {@link InitialGuess#DEFAULT}
 * @param threads the most threads a step uses, each for a shard of at least 32 trajectories; 0 (the default) for
 *                the thread count of the model's BLAS (the CLI's --threads). Results do not depend on it
 */
public record StepperOptions(double dt, NewtonKrylovOptions solver, InitialGuess guess, int threads) {

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
        return new StepperOptions(dt, NewtonKrylovOptions.DEFAULTS, InitialGuess.DEFAULT, 0);
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

    /** How the Newton solve of Eq. (1) for q^{n+1} starts. */
    public enum InitialGuess {
        /**
         * The leapfrog step 2q^n − q^{n−1} − Δt² M⁻¹∇V(q^n) (SPEC §3); costs one gradient chain per step.
         */
        LEAPFROG,
        /**
         * Eq. (1) with DG(q^{n+1}, q^n) replaced by its quadratic extrapolation 3g^n − 3g^{n−1} + g^{n−2} from the
         * converged discrete gradients g^k = DG(q^k, q^{k−1}) of the previous steps: no network evaluation at all.
         * Falls back to {@link #LEAPFROG} for the first steps, while fewer than three are known.
         */
        EXTRAPOLATED;

        /** The default, chosen by the measurements in bench/README.md (## Rollouts). */
        public static final InitialGuess DEFAULT = LEAPFROG;
    }
}
