package org.dtlm.solve;

import java.util.Objects;

/**
 * Options of {@link NewtonKrylovSolver}; {@link #DEFAULTS} holds the documented defaults. All norms are Euclidean norms
 * of one block, in the scaled variables when {@link NewtonKrylovSolver#setScaling} is used.
 *
 * <p>A block converges when either test passes (SPEC §3):
 * <ul>
 *   <li>residual test: ‖F(x)‖ ≤ max(ftolAbs, ftolRel · s), with s = {@link NonlinearSystem#residualScale}, checked at
 *       every iterate including the initial guess;</li>
 *   <li>step test: the full Newton step δ of the current iteration has ‖δ‖ ≤ xtol · (1 + ‖x‖); the step is then taken.</li>
 * </ul>
 *
 * @param xtol                step test tolerance; default 1e-14
 * @param ftolRel             residual test tolerance relative to the scale of the terms of F; default 4ε ≈ 8.9e-16
 * @param ftolAbs             absolute residual test tolerance; default 0 (off)
 * @param maxNewtonIterations Newton iterations per solve; default 50
 * @param restart             GMRES restart length m; the solver uses min(m, n), and with m ≥ n one cycle is a complete
 *                            (direct) solve, so it never restarts; default 30
 * @param maxKrylovIterations Arnoldi steps per Newton iteration, over all restarts; default 200
 * @param forcing             how the GMRES relative tolerance η_k is chosen; default {@link Forcing#EISENSTAT_WALKER}
 * @param eta0                η of the first Newton iteration (EISENSTAT_WALKER) or of every iteration (CONSTANT);
 *                            default 0.5
 * @param etaMax              upper bound of η_k (EISENSTAT_WALKER); default 0.9
 * @param ewGamma             γ of Eisenstat–Walker choice 2; default 0.9
 * @param ewAlpha             α of Eisenstat–Walker choice 2; default 2
 * @param armijo              sufficient-decrease constant c of the line search; default 1e-4
 * @param maxBacktracks       step reductions per Newton iteration before {@link SolveStatus#LINE_SEARCH_STAGNATED};
 *                            default 20
 * @param jacobianProduct     how J v is computed; default {@link JacobianProduct#EXACT}
 */
public record NewtonKrylovOptions(
        double xtol,
        double ftolRel,
        double ftolAbs,
        int maxNewtonIterations,
        int restart,
        int maxKrylovIterations,
        Forcing forcing,
        double eta0,
        double etaMax,
        double ewGamma,
        double ewAlpha,
        double armijo,
        int maxBacktracks,
        JacobianProduct jacobianProduct) {

    /** Machine epsilon of double, 2^-52. */
    public static final double EPSILON = Math.ulp(1.0);

    public static final NewtonKrylovOptions DEFAULTS = new NewtonKrylovOptions(
            1e-14, 4 * EPSILON, 0.0, 50, 30, 200, Forcing.EISENSTAT_WALKER, 0.5, 0.9, 0.9, 2.0, 1e-4, 20,
            JacobianProduct.EXACT);

    /** How the forcing term η_k (GMRES stops when ‖F + J δ‖ ≤ η_k ‖F‖) is chosen. */
    public enum Forcing {
        /**
         * Eisenstat–Walker choice 2 with its safeguard (Eisenstat & Walker 1996, SIAM J. Sci. Comput. 17(1):16–32):
         * η_k = min(η_max, max(γ (‖F_k‖/‖F_{k−1}‖)^α, γ η_{k−1}^α if that exceeds 0.1)), η_0 = eta0; and, against
         * oversolving the last step, η_k ≥ ½ τ/‖F_k‖ with τ the residual tolerance (Kelley 1995, Iterative Methods
         * for Linear and Nonlinear Equations, SIAM, §6.3), still capped at η_max.
         */
        EISENSTAT_WALKER,
        /** η_k = eta0 at every iteration (e.g. a tiny η to observe quadratic convergence). */
        CONSTANT
    }

    /** How the Jacobian-vector products of GMRES are computed. */
    public enum JacobianProduct {
        /** {@link NonlinearSystem#jacobianTimes}, e.g. by forward-mode differentiation (SPEC §3). */
        EXACT,
        /**
         * Forward difference J v ≈ (F(x + h v) − F(x))/h with h = √ε (1 + ‖x‖)/‖v‖: one residual evaluation per
         * product. Knoll & Keyes 2004 (J. Comput. Phys. 193:357–397, §2.2) survey such choices of h; this one is the
         * norm-wise form of the relative step √ε·max(|x_j|, 1) of Dennis & Schnabel 1983 (§5.4).
         */
        FINITE_DIFFERENCE
    }

    public NewtonKrylovOptions {
        requireNonNegativeFinite("xtol", xtol);
        requireNonNegativeFinite("ftolRel", ftolRel);
        requireNonNegativeFinite("ftolAbs", ftolAbs);
        if (maxNewtonIterations < 0) {
            throw new IllegalArgumentException("maxNewtonIterations must be >= 0, got " + maxNewtonIterations);
        }
        if (restart < 1) {
            throw new IllegalArgumentException("restart must be >= 1, got " + restart);
        }
        if (maxKrylovIterations < 1) {
            throw new IllegalArgumentException("maxKrylovIterations must be >= 1, got " + maxKrylovIterations);
        }
        Objects.requireNonNull(forcing, "forcing");
        Objects.requireNonNull(jacobianProduct, "jacobianProduct");
        if (!(eta0 >= 0 && eta0 < 1)) {
            throw new IllegalArgumentException("eta0 must be in [0, 1), got " + eta0);
        }
        if (!(etaMax >= 0 && etaMax < 1)) {
            throw new IllegalArgumentException("etaMax must be in [0, 1), got " + etaMax);
        }
        if (!(ewGamma >= 0 && ewGamma <= 1)) {
            throw new IllegalArgumentException("ewGamma must be in [0, 1], got " + ewGamma);
        }
        if (!(ewAlpha > 1 && ewAlpha <= 2)) {
            throw new IllegalArgumentException("ewAlpha must be in (1, 2], got " + ewAlpha);
        }
        if (!(armijo > 0 && armijo < 0.5)) {
            throw new IllegalArgumentException("armijo must be in (0, 0.5), got " + armijo);
        }
        if (maxBacktracks < 0) {
            throw new IllegalArgumentException("maxBacktracks must be >= 0, got " + maxBacktracks);
        }
    }

    private static void requireNonNegativeFinite(String name, double value) {
        if (!(value >= 0 && value < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
        }
    }

    public NewtonKrylovOptions withTolerances(double xtol, double ftolRel, double ftolAbs) {
        return new NewtonKrylovOptions(xtol, ftolRel, ftolAbs, maxNewtonIterations, restart, maxKrylovIterations,
                forcing, eta0, etaMax, ewGamma, ewAlpha, armijo, maxBacktracks, jacobianProduct);
    }

    public NewtonKrylovOptions withMaxNewtonIterations(int maxNewtonIterations) {
        return new NewtonKrylovOptions(xtol, ftolRel, ftolAbs, maxNewtonIterations, restart, maxKrylovIterations,
                forcing, eta0, etaMax, ewGamma, ewAlpha, armijo, maxBacktracks, jacobianProduct);
    }

    public NewtonKrylovOptions withKrylov(int restart, int maxKrylovIterations) {
        return new NewtonKrylovOptions(xtol, ftolRel, ftolAbs, maxNewtonIterations, restart, maxKrylovIterations,
                forcing, eta0, etaMax, ewGamma, ewAlpha, armijo, maxBacktracks, jacobianProduct);
    }

    public NewtonKrylovOptions withForcing(Forcing forcing, double eta0) {
        return new NewtonKrylovOptions(xtol, ftolRel, ftolAbs, maxNewtonIterations, restart, maxKrylovIterations,
                forcing, eta0, etaMax, ewGamma, ewAlpha, armijo, maxBacktracks, jacobianProduct);
    }

    public NewtonKrylovOptions withMaxBacktracks(int maxBacktracks) {
        return new NewtonKrylovOptions(xtol, ftolRel, ftolAbs, maxNewtonIterations, restart, maxKrylovIterations,
                forcing, eta0, etaMax, ewGamma, ewAlpha, armijo, maxBacktracks, jacobianProduct);
    }

    public NewtonKrylovOptions withJacobianProduct(JacobianProduct jacobianProduct) {
        return new NewtonKrylovOptions(xtol, ftolRel, ftolAbs, maxNewtonIterations, restart, maxKrylovIterations,
                forcing, eta0, etaMax, ewGamma, ewAlpha, armijo, maxBacktracks, jacobianProduct);
    }
}
