package org.dtlm.scheme;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The four time-stepping schemes of the comparison (SPEC §3, §5). Each is a training loss in acceleration form and a
 * rollout; "leapfrog+proposed" is not a scheme of its own but the leapfrog-trained model rolled out with Eq. (1).
 */
public enum Scheme {
    /** Eq. (1): M (q^{n+1} - 2q^n + q^{n-1})/dt^2 = -1/2 [DG(q^{n+1}, q^n) + DG(q^n, q^{n-1})]. */
    PROPOSED("proposed", 1),
    /** Stormer-Verlet in positions: q^{n+1} = 2q^n - q^{n-1} - dt^2 M^{-1} grad V(q^n). */
    LEAPFROG("leapfrog", 1),
    /** Explicit Euler on (q, v), velocities estimated by central differences. */
    EULER("euler", 2),
    /** Kick then drift on (q, v), velocities estimated by central differences. */
    SYMPLECTIC_EULER("symplectic-euler", 2);

    private final String id;
    private final int reach;

    Scheme(String id, int reach) {
        this.id = id;
        this.reach = reach;
    }

    public String id() {
        return id;
    }

    /**
     * How far past its centre n a training stencil reaches: q^{n-1} .. q^{n+reach}. Centres run over
     * n = 1 .. T - 1 - reach of a trajectory of T points.
     */
    public int reach() {
        return reach;
    }

    /** Number of training stencils in a trajectory of T points. */
    public int stencils(int points) {
        return Math.max(0, points - 1 - reach);
    }

    /** Whether the scheme steps a velocity (estimated from positions) rather than positions alone. */
    public boolean usesVelocity() {
        return reach == 2;
    }

    public static Scheme parse(String s) {
        for (Scheme k : values()) if (k.id.equals(s)) return k;
        throw new IllegalArgumentException("unknown scheme '" + s + "' (expected one of "
                + Arrays.stream(values()).map(Scheme::id).collect(Collectors.joining(", ")) + ")");
    }
}
