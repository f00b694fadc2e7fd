package org.dtlm.experiment;

import org.dtlm.data.Task;

/**
 * The scores of SPEC §6 from rollouts and truth held as (trajectories, points, d) and (trajectories, points) arrays in
 * C order, over the points n = first .. points - 1 of the trajectories b with scored[b] (NaN if there is none).
 */
final class Metrics {
    private Metrics() {
    }

    /** Mean over trajectories, points n >= first and coordinates of (q - qTrue)^2. */
    static double positionMse(double[] q, double[] qTrue, boolean[] scored, int points, int d, int first) {
        double sum = 0;
        for (int b = 0; b < scored.length; b++) {
            if (!scored[b]) continue;
            for (int n = first; n < points; n++) {
                for (int i = 0; i < d; i++) {
                    int at = (b * points + n) * d + i;
                    double e = q[at] - qTrue[at];
                    sum += e * e;
                }
            }
        }
        return sum / ((double) count(scored) * (points - first) * d);
    }

    /** Mean over trajectories and points n >= first of (H_true(q, M v) - H_true(qTrue, M vTrue))^2. */
    static double energyMse(Task task, double[] q, double[] v, double[] qTrue, double[] vTrue,
                            boolean[] scored, int points, int d, int first) {
        double sum = 0;
        for (int b = 0; b < scored.length; b++) {
            if (!scored[b]) continue;
            for (int n = first; n < points; n++) {
                int at = (b * points + n) * d;
                double e = task.energyFromVelocity(q, at, v, at) - task.energyFromVelocity(qTrue, at, vTrue, at);
                sum += e * e;
            }
        }
        return sum / ((double) count(scored) * (points - first));
    }

    /** Population variance over points n >= first of each trajectory's modeled energy, averaged over trajectories. */
    static double modeledEnergyVariance(double[] energy, boolean[] scored, int points, int first) {
        double total = 0;
        int m = points - first;
        for (int b = 0; b < scored.length; b++) {
            if (!scored[b]) continue;
            double mean = 0;
            for (int n = first; n < points; n++) mean += energy[b * points + n];
            mean /= m;
            double var = 0;
            for (int n = first; n < points; n++) {
                double e = energy[b * points + n] - mean;
                var += e * e;
            }
            total += var / m;
        }
        return total / count(scored);
    }

    /** Number of scored trajectories; 0 makes every score 0/0 = NaN. */
    private static int count(boolean[] scored) {
        int n = 0;
        for (boolean s : scored) if (s) n++;
        return n;
    }
}
