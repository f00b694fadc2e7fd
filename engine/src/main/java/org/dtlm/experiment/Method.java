package org.dtlm.experiment;

import java.util.Arrays;
import java.util.stream.Collectors;

import org.dtlm.scheme.Scheme;

/**
 * The poster's five rows (SPEC §5): a training loss and a rollout scheme. "leapfrog+proposed" rolls the
 * leapfrog-trained model out with Eq. (1); euler and symplectic-euler have one and the same loss (SPEC §5), so they
 * are rolled out from one model, trained once with it.
 */
public enum Method {
    EULER("euler", Scheme.EULER, Scheme.EULER),
    SYMPLECTIC_EULER("symplectic-euler", Scheme.EULER, Scheme.SYMPLECTIC_EULER),
    LEAPFROG("leapfrog", Scheme.LEAPFROG, Scheme.LEAPFROG),
    PROPOSED("proposed", Scheme.PROPOSED, Scheme.PROPOSED),
    LEAPFROG_PROPOSED("leapfrog+proposed", Scheme.LEAPFROG, Scheme.PROPOSED);

    private final String id;
    private final Scheme training, rollout;

    Method(String id, Scheme training, Scheme rollout) {
        this.id = id;
        this.training = training;
        this.rollout = rollout;
    }

    public String id() {
        return id;
    }

    public Scheme training() {
        return training;
    }

    public Scheme rollout() {
        return rollout;
    }

    public static Method parse(String s) {
        for (Method m : values()) if (m.id.equals(s)) return m;
        throw new IllegalArgumentException("unknown scheme '" + s + "' (expected one of "
                + Arrays.stream(values()).map(Method::id).collect(Collectors.joining(", ")) + ")");
    }
}
