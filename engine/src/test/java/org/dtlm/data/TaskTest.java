package org.dtlm.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TaskTest {

    /** Central-difference step for the gradient check; truncation error ~h²·|V'''|/6 ≈ 1e-10 here. */
    private static final double FD_STEP = 1e-5;
    /** Gradient against central differences: relative error with an absolute floor (rounding ~1e-16/h ≈ 1e-11). */
    private static final double FD_RELATIVE_TOLERANCE = 1e-7;
    private static final double FD_ABSOLUTE_FLOOR = 1e-8;
    /** H(q, p) against H(q, M⁻¹p) computed the other way round: a few ulps of O(1) energies. */
    private static final double ROUNDING_TOLERANCE = 1e-14;

    @Test
    void parsesIdsAliasAndConstantNames() {
        assertSame(Task.MASS_SPRING, Task.parse("mass-spring"));
        assertSame(Task.PENDULUM, Task.parse(" Pendulum "));
        assertSame(Task.TWO_BODY, Task.parse("two-body"));
        assertSame(Task.TWO_BODY, Task.parse("2-body"));
        assertSame(Task.TWO_BODY, Task.parse("TWO_BODY"));
        for (Task task : Task.values()) {
            assertSame(task, Task.parse(task.id()));
        }
    }

    @Test
    void rejectsUnknownTaskNamingTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Task.parse("3-body"));
        assertTrue(e.getMessage().contains("'3-body'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Task.parse(null));
    }

    @Test
    void settingsAreThoseOfSpecSection6() {
        assertEquals(20.0 / 99, Task.MASS_SPRING.dt());
        assertEquals(20.0 / 99, Task.PENDULUM.dt());
        assertEquals(25.0 / 499, Task.TWO_BODY.dt());
        for (Task task : new Task[] {Task.MASS_SPRING, Task.PENDULUM}) {
            assertEquals(1, task.dimension());
            assertEquals(100, task.points());
            assertEquals(25, task.trainTrajectories());
            assertEquals(25, task.testTrajectories());
            assertEquals(0.1, task.noiseStd());
            assertArrayEquals(new double[] {0.5}, task.trueMass());
        }
        assertEquals(4, Task.TWO_BODY.dimension());
        assertEquals(500, Task.TWO_BODY.points());
        assertEquals(800, Task.TWO_BODY.trainTrajectories());
        assertEquals(200, Task.TWO_BODY.testTrajectories());
        assertEquals(0.0, Task.TWO_BODY.noiseStd());
        double[] identity = new double[16];
        for (int i = 0; i < 4; i++) {
            identity[i * 4 + i] = 1.0;
        }
        assertArrayEquals(identity, Task.TWO_BODY.trueMass());
        assertEquals("mass-spring: H = q^2 + p^2", Task.MASS_SPRING.energyName());
        for (Task task : Task.values()) {
            assertTrue(task.energyName().startsWith(task.id() + ": H = "), task.energyName());
        }
    }

    @Test
    void energiesAreTheClosedForms() {
        double q = 0.7;
        double p = -0.4;
        assertEquals(q * q + p * p, Task.MASS_SPRING.energy(new double[] {q}, 0, new double[] {p}, 0),
                ROUNDING_TOLERANCE);
        assertEquals(3 * (1 - Math.cos(q)) + p * p, Task.PENDULUM.energy(new double[] {q}, 0, new double[] {p}, 0),
                ROUNDING_TOLERANCE);
        // Two bodies 2 apart at rest, then with unit momenta: H = −1/2 and 1 − 1/2.
        double[] positions = {1, 0, -1, 0};
        assertEquals(-0.5, Task.TWO_BODY.energy(positions, 0, new double[4], 0), ROUNDING_TOLERANCE);
        assertEquals(0.5, Task.TWO_BODY.energy(positions, 0, new double[] {0, 1, 0, -1}, 0), ROUNDING_TOLERANCE);
    }

    @ParameterizedTest
    @EnumSource(Task.class)
    void energyFromVelocityIsEnergyOfMomentumMv(Task task) {
        RandomGenerator rng = RandomGeneratorFactory.of("L64X128MixRandom").create(11);
        int d = task.dimension();
        double[] q = randomPoint(task, rng);
        double[] v = new double[d];
        double[] p = new double[d];
        for (int i = 0; i < d; i++) {
            v[i] = rng.nextDouble(-1, 1);
            p[i] = task.mass() * v[i];
        }
        assertEquals(task.energy(q, 0, p, 0), task.energyFromVelocity(q, 0, v, 0), ROUNDING_TOLERANCE);
        // The flat (n, d) version at offsets: two copies of the same point.
        double[] positions = new double[2 * d];
        double[] velocities = new double[2 * d];
        for (int n = 0; n < 2; n++) {
            System.arraycopy(q, 0, positions, n * d, d);
            System.arraycopy(v, 0, velocities, n * d, d);
        }
        double[] h = task.energiesFromVelocities(positions, velocities);
        assertEquals(2, h.length);
        assertEquals(task.energyFromVelocity(q, 0, v, 0), h[1]);
    }

    @Test
    void energiesFromVelocitiesRejectsMismatchedLengths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Task.TWO_BODY.energiesFromVelocities(new double[8], new double[6]));
        assertTrue(e.getMessage().contains("8") && e.getMessage().contains("6"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(Task.class)
    void potentialGradientMatchesCentralDifferences(Task task) {
        RandomGenerator rng = RandomGeneratorFactory.of("L64X128MixRandom").create(5);
        int d = task.dimension();
        for (int trial = 0; trial < 20; trial++) {
            double[] q = randomPoint(task, rng);
            // Gradient written at an offset, inside a larger buffer, to check the offsets.
            double[] gradient = new double[d + 3];
            task.potentialGradient(gradient, 3, q, 0);
            for (int i = 0; i < d; i++) {
                double[] plus = q.clone();
                double[] minus = q.clone();
                plus[i] += FD_STEP;
                minus[i] -= FD_STEP;
                double fd = (task.potential(plus, 0) - task.potential(minus, 0)) / (2 * FD_STEP);
                double error = Math.abs(gradient[3 + i] - fd);
                assertTrue(error <= FD_RELATIVE_TOLERANCE * Math.abs(fd) + FD_ABSOLUTE_FLOOR,
                        task + " trial " + trial + " coordinate " + i + ": gradient " + gradient[3 + i]
                                + " vs central difference " + fd);
            }
        }
    }

    /** A point in the region the data visits: |q| ≤ 2.5 (one dof) or two bodies at least ~1 apart. */
    private static double[] randomPoint(Task task, RandomGenerator rng) {
        if (task == Task.TWO_BODY) {
            double x = rng.nextDouble(0.5, 1.5);
            double y = rng.nextDouble(0.5, 1.5);
            return new double[] {x, y, -x + rng.nextDouble(-0.3, 0.3), -y + rng.nextDouble(-0.3, 0.3)};
        }
        return new double[] {rng.nextDouble(-2.5, 2.5)};
    }
}
