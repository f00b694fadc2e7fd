package org.dtlm.train;

import java.lang.foreign.Arena;

import org.dtlm.nn.MlpShape;
import org.dtlm.nn.ParameterLayout;
import org.dtlm.nn.Parameters;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Adam (SPEC §4) against two steps worked out by hand, the numbers torch.optim.Adam 1.13 gives too. */
class AdamTest {
    /**
     * Each expected value below is exact real arithmetic (60 digits) on the binary doubles of the inputs, so the
     * update's ten or so roundings leave it within a few ulps.
     */
    static final double ULPS = 4;

    /** A layout of exactly three parameters: W1 (1 x 1), b1 (1), w (1). */
    static final ParameterLayout LAYOUT = new ParameterLayout(MlpShape.of(1, 1), 0);

    /*
     * lr = 0.01, weight decay 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8; theta_0 = (1, -2, 0.5);
     * gradients (0.5, 0, -0.001) at step 1 and (-0.3, 0.2, 0) at step 2.
     *
     * Step 1 (bias corrections 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001, step size 0.01 / 0.1 = 0.1):
     *   g = grad + 0.1 theta_0       = (0.6, -0.2, 0.049)
     *   m = 0.1 g                    = (0.06, -0.02, 0.0049)
     *   v = 0.001 g^2                = (0.00036, 0.00004, 0.000002401)
     *   sqrt(v)/sqrt(0.001) = |g|, so theta_1 = theta_0 - 0.1 * 0.1 g / (|g| + 1e-8) = theta_0 - 0.01 sign(g) |g|/(|g| + 1e-8):
     *   theta_1 = (0.99000000016666666389, -1.99000000049999997500, 0.49000000204081591004)
     * Step 2 (bias corrections 1 - 0.81 = 0.19 and 1 - 0.998001 = 0.001999, step size 0.01 / 0.19):
     *   g = grad + 0.1 theta_1       = (-0.20099999998333333361, 0.00099999995000000250, 0.04900000020408159100)
     *   m = 0.9 m + 0.1 g            = (0.03390000000166666664, -0.01790000000499999975, 0.00931000002040815910)
     *   v = 0.999 v + 0.001 g^2      = (0.00040004099999330000, 0.00003996099999990000, 0.00000479959901999999596)
     *   theta_2 = theta_1 - (0.01/0.19) m / (sqrt(v)/sqrt(0.001999) + 1e-8)
     *           = (0.98601158616227824890, -1.98333672726037871555, 0.48000000408054619928)
     * The asserted numbers differ from these in the 16th digit because 0.9, 0.999, 1e-8, 0.01 and 0.1 are not binary
     * fractions (1 - 0.999 is 0.00100000000000000089 in double): they are the same working done exactly on the doubles
     * the code sees. torch.optim.Adam(weight_decay=0.1) of PyTorch 1.13 in float64 gives them to 1 ulp.
     */
    static final double[] THETA0 = {1, -2, 0.5};
    static final double[][] GRADS = {{0.5, 0, -0.001}, {-0.3, 0.2, 0}};
    static final double[] THETA1 = {0.990000000166666671575, -1.99000000050000003249, 0.490000002040815896276};
    static final double[] M1 = {0.0599999999999999839018, -0.0199999999999999969469, 0.00489999999999999897443};
    static final double[] V1 = {0.000360000000000000347933, 4.00000000000000371534e-05, 2.40100000000000250762e-06};
    static final double[] THETA2 = {0.986011586162278241829, -1.98333672726037879563, 0.480000004080546216478};
    static final double[] M2 = {0.0339000000016666594438, -0.0179000000049999961893, 0.00931000002040815836934};
    static final double[] V2 = {0.000400040999993300349508, 3.99609999999000424075e-05, 4.79959902000000085648e-06};

    @Test
    void twoStepsMatchTheWorkedExample() {
        try (Arena arena = Arena.ofConfined(); Adam adam = new Adam(LAYOUT, Adam.Options.defaults(0.01, 0.1))) {
            Parameters theta = Parameters.allocate(LAYOUT, arena), grad = Parameters.allocate(LAYOUT, arena);
            theta.copyFrom(THETA0);
            grad.copyFrom(GRADS[0]);
            adam.update(theta, grad);
            assertClose(THETA1, theta.toArray(), "theta_1");
            assertClose(M1, adam.firstMoment().toArray(), "m_1");
            assertClose(V1, adam.secondMoment().toArray(), "v_1");
            assertEquals(GRADS[0][1], grad.get(1), "the gradient is read, not modified");
            grad.copyFrom(GRADS[1]);
            adam.update(theta, grad);
            assertClose(THETA2, theta.toArray(), "theta_2");
            assertClose(M2, adam.firstMoment().toArray(), "m_2");
            assertClose(V2, adam.secondMoment().toArray(), "v_2");
            assertEquals(2, adam.steps());
        }
    }

    @Test
    void restoringTheStateContinuesBitForBit() {
        try (Arena arena = Arena.ofConfined(); Adam a = new Adam(LAYOUT, Adam.Options.defaults(0.01, 0.1));
             Adam b = new Adam(LAYOUT, Adam.Options.defaults(0.01, 0.1))) {
            Parameters ta = Parameters.allocate(LAYOUT, arena), tb = Parameters.allocate(LAYOUT, arena),
                    grad = Parameters.allocate(LAYOUT, arena);
            ta.copyFrom(THETA0);
            grad.copyFrom(GRADS[0]);
            a.update(ta, grad);
            tb.copyFrom(ta.toArray());
            b.restore(a.steps(), a.firstMoment().toArray(), a.secondMoment().toArray());
            grad.copyFrom(GRADS[1]);
            a.update(ta, grad);
            b.update(tb, grad);
            for (int i = 0; i < 3; i++) assertEquals(Double.doubleToRawLongBits(ta.get(i)), Double.doubleToRawLongBits(tb.get(i)));
        }
    }

    @Test
    void badHyperParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Adam.Options.defaults(0, 0));
        assertThrows(IllegalArgumentException.class, () -> Adam.Options.defaults(Double.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> Adam.Options.defaults(1e-3, -1));
        assertThrows(IllegalArgumentException.class, () -> new Adam.Options(1e-3, 1, 0.999, 1e-8, 0));
    }

    static void assertClose(double[] want, double[] got, String what) {
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], ULPS * Math.ulp(want[i]), what + "[" + i + "]");
        }
    }
}
