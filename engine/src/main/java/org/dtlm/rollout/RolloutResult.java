package org.dtlm.rollout;

import java.util.List;

import org.dtlm.solve.SolverStats;

/**
 * A rollout held in memory (see {@link Rollouts#run}): every point n = 0 .. points - 1 of every trajectory, aligned as
 * {@link Stepper} documents, in C order.
 *
 * @param trajectories B
 * @param points       N
 * @param dimension    d
 * @param q            positions, (B, N, d)
 * @param v            the scheme's velocities, (B, N, d), NaN where the scheme has none
 * @param p            momenta, (B, N, d) ({@link Stepper#momenta()}), NaN where the velocity is
 * @param energy       modeled energies, (B, N), NaN where the scheme has none
 * @param statistics   the solver's counters per trajectory (zero for explicit schemes)
 * @param failures     trajectories that stopped, with the point where they did
 */
public record RolloutResult(int trajectories, int points, int dimension, double[] q, double[] v, double[] p,
                            double[] energy, SolverStats statistics, List<Failure> failures) {
}
