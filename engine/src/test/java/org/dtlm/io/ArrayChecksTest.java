package org.dtlm.io;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ArrayChecksTest {

    @Test
    void nonFiniteValuesAreLocatedInPositionsTerms() {
        double[] q = new double[4 * 20 * 2];
        q[(3 * 20 + 17) * 2] = Double.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireFinite(NdArray.of(q, 4, 20, 2), "data.npy"));
        assertEquals("data.npy: trajectory 3, point 17, coordinate 0 is NaN", e.getMessage());
    }

    @Test
    void nonFiniteValuesOfOtherRanksGiveTheIndex() {
        double[] w = new double[3 * 5];
        w[2 * 5 + 4] = Double.NEGATIVE_INFINITY;
        assertEquals("W1: element at index (2, 4) is -Infinity", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireFinite(NdArray.of(w, 3, 5), "W1")).getMessage());
        assertEquals("b1: element at index (1,) is Infinity", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireFinite(NdArray.of(new double[] {0, Double.POSITIVE_INFINITY}, 2), "b1")).getMessage());
        assertEquals("dt: element at index () is NaN", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireFinite(NdArray.scalar(Double.NaN), "dt")).getMessage());
        assertDoesNotThrow(() -> ArrayChecks.requireFinite(NdArray.of(new double[] {-0.0, Double.MAX_VALUE}, 2), "ok"));
    }

    @Test
    void shapesMatchNumbersAndConsistentNames() {
        NdArray tenByThree = NdArray.of(new double[30], 10, 3);
        assertEquals("x.npy: expected shape (B, 4), got (10, 3)", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireShape(tenByThree, "x.npy", "(B, 4)")).getMessage());
        assertEquals("Minv: expected shape (d, d), got (10, 3)", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireShape(tenByThree, "Minv", "(d, d)")).getMessage());
        assertEquals("q: expected shape (B, T, d), got (10, 3)", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireShape(tenByThree, "q", "(B, T, d)")).getMessage());
        assertDoesNotThrow(() -> ArrayChecks.requireShape(tenByThree, "x", "(B, 3)"));
        assertDoesNotThrow(() -> ArrayChecks.requireShape(NdArray.of(new double[9], 3, 3), "Minv", "(d, d)"));
        assertDoesNotThrow(() -> ArrayChecks.requireShape(NdArray.of(new double[2], 2), "b", "(H,)"));
        assertDoesNotThrow(() -> ArrayChecks.requireShape(NdArray.scalar(0.1), "dt", "()"));
        assertEquals("dt: expected shape (), got (2,)", assertThrows(IllegalArgumentException.class,
                () -> ArrayChecks.requireShape(NdArray.of(new double[2], 2), "dt", "()")).getMessage());
    }

    @Test
    void factoryChecksTheShapeProduct() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NdArray.of(new double[5], 2, 3));
        assertEquals("data.length = 5 does not match shape (2, 3) (6 elements)", e.getMessage());
    }
}
