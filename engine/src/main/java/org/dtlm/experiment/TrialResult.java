package org.dtlm.experiment;

/**
 * The scores of one scheme in one trial of one task (SPEC §6), over the test trajectories whose rollout completed and
 * the points n = 2 .. T-1 that every scheme predicts.
 *
 * @param positionMse           mean squared error of the predicted positions against the truth
 * @param energyMse             mean squared error of H_true(q^n, M_true v^n) of the rollout against that of the truth
 * @param modeledEnergyVariance variance over time of the scheme's modeled energy, averaged over test trajectories
 * @param failedTrajectories    test trajectories whose rollout stopped (the solver of Eq. (1) failed, or an explicit
 *                              step overflowed): they are left out of the three scores, which are NaN if none completed
 * @param trainSeconds          wall time of training the model (0 for a method that reuses another's model:
 *                              leapfrog+proposed reuses leapfrog's, symplectic-euler euler's where both run)
 * @param rolloutSeconds        wall time of the rollouts of every test trajectory
 */
public record TrialResult(String task, int trial, String scheme, double positionMse, double energyMse,
                          double modeledEnergyVariance, int failedTrajectories, double trainSeconds, double rolloutSeconds) {
}
