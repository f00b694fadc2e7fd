package org.dtlm.rollout;

/**
 * Receives the points of a rollout in time order, one call per point n (SPEC §3, §5). The arrays belong to the
 * {@link Stepper}: read them during the call (copy what you keep); they change at the next step. A trajectory that
 * failed (see {@link Stepper#failures()}) has NaN in every array from its failed point on. The point's momenta are
 * {@link Stepper#momenta()}, read during the call.
 */
@FunctionalInterface
public interface PointObserver {

    /**
     * @param n        the point index, 0 for q^0
     * @param q        positions q^n, (B, d) row-major, not to be modified
     * @param v        the scheme's velocities v^n, (B, d), not to be modified (NaN where the scheme has none)
     * @param energy   the modeled energies E^n, (B), not to be modified (NaN where the scheme has none)
     */
    void point(long n, double[] q, double[] v, double[] energy);
}
