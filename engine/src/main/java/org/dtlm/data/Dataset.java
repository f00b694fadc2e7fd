package org.dtlm.data;

/**
 * One generated data set of SPEC §6: trajectories sampled at t_k = k·Δt, k = 0 … points−1.
 *
 * <p>Every array is flat C-order; positions and velocities are (trajectories, points, d), the layout the
 * .npy writer takes. The arrays are owned by the data set and are not copied: callers must not modify
 * them. Because of that, {@code equals} compares arrays by reference, as for any record.
 *
 * @param task                the true system
 * @param seed                the seed the data set was generated from
 * @param dt                  sampling step Δt
 * @param points              points per trajectory T
 * @param trainTrajectories   number of training trajectories
 * @param testTrajectories    number of test trajectories
 * @param trainPositions      (trainTrajectories, points, d): clean positions plus N(0, noiseStd²) noise
 * @param trainPositionsClean (trainTrajectories, points, d): the noise-free training positions
 * @param trainVelocities     (trainTrajectories, points, d): true velocities q̇ of the training trajectories
 * @param testPositions       (testTrajectories, points, d): clean positions
 * @param testVelocities      (testTrajectories, points, d): true velocities q̇, clean
 * @param trueMass            (d, d) row-major M_true
 * @param noiseStd            standard deviation of the noise on {@code trainPositions}
 */
public record Dataset(Task task, long seed, double dt, int points, int trainTrajectories, int testTrajectories,
        double[] trainPositions, double[] trainPositionsClean, double[] trainVelocities,
        double[] testPositions, double[] testVelocities, double[] trueMass, double noiseStd) {

    public Dataset {
        if (task == null) {
            throw new IllegalArgumentException("task: null");
        }
        if (!(dt > 0.0) || !Double.isFinite(dt)) {
            throw new IllegalArgumentException("dt: " + dt + " is not a positive finite step");
        }
        if (points < 1 || trainTrajectories < 0 || testTrajectories < 0) {
            throw new IllegalArgumentException("points/trainTrajectories/testTrajectories: " + points + "/"
                    + trainTrajectories + "/" + testTrajectories + " must be >= 1/0/0");
        }
        if (!(noiseStd >= 0.0)) {
            throw new IllegalArgumentException("noiseStd: " + noiseStd + " is not >= 0");
        }
        int d = task.dimension();
        long train = (long) trainTrajectories * points * d;
        long test = (long) testTrajectories * points * d;
        checkLength("trainPositions", trainPositions, train);
        checkLength("trainPositionsClean", trainPositionsClean, train);
        checkLength("trainVelocities", trainVelocities, train);
        checkLength("testPositions", testPositions, test);
        checkLength("testVelocities", testVelocities, test);
        checkLength("trueMass", trueMass, (long) d * d);
    }

    /** Number of position coordinates d. */
    public int dimension() {
        return task.dimension();
    }

    /** Shape of the training arrays: {trainTrajectories, points, d}. */
    public int[] trainShape() {
        return new int[] {trainTrajectories, points, task.dimension()};
    }

    /** Shape of the test arrays: {testTrajectories, points, d}. */
    public int[] testShape() {
        return new int[] {testTrajectories, points, task.dimension()};
    }

    /** Sample time t_k = k·Δt. */
    public double time(int k) {
        return k * dt;
    }

    /** Offset of coordinate 0 of point {@code point} of trajectory {@code trajectory} in a (·, points, d) array. */
    public int offset(int trajectory, int point) {
        return (trajectory * points + point) * task.dimension();
    }

    private static void checkLength(String name, double[] array, long expected) {
        if (array == null) {
            throw new IllegalArgumentException(name + ": null");
        }
        if (array.length != expected) {
            throw new IllegalArgumentException(name + ": length " + array.length + ", expected " + expected);
        }
    }
}
