package org.dtlm.rollout;

import org.dtlm.solve.SolveStatus;

/**
 * A trajectory that stopped because its position q^{point} could not be computed: the solve of Eq. (1) for it did
 * not converge (the solver's status and final residual norm), or an explicit scheme produced a non-finite value
 * (status {@link SolveStatus#NON_FINITE}, residual NaN). Its positions are NaN from {@code point} on, and so are its
 * velocities and energies from the first point that needs q^{point} (point − 1 for {@code proposed} and
 * {@code leapfrog}, whose v^n and E^n use q^{n+1}). The other trajectories of the batch are not affected.
 *
 * @param trajectory the index b of the trajectory in the batch
 * @param point      the index n of the position q^n that could not be computed
 * @param status     why
 * @param residual   ‖F‖ of Eq. (1) at the solver's last iterate (NaN for explicit schemes)
 */
public record Failure(int trajectory, long point, SolveStatus status, double residual) {

    @Override
    public String toString() {
        return "trajectory " + trajectory + ": no q^" + point + " (" + status
                + (Double.isNaN(residual) ? "" : ", |F| = " + residual) + ")";
    }
}
