package org.dtlm.blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Both implementations reject the same bad calls with messages naming the argument and its value. */
class BlasArgumentsTest {

    private Arena arena;
    private MemorySegment big;

    static List<Blas> implementations() {
        return List.of(new JavaBlas(), new OpenBlas());
    }

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
        big = arena.allocate(JAVA_DOUBLE, 100);
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private static void assertMessage(Class<? extends RuntimeException> type, String expected, Executable call) {
        RuntimeException e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void negativeSizes(Blas blas) {
        assertMessage(IllegalArgumentException.class, "dgemm: m = -1 < 0",
                () -> blas.dgemm(false, false, -1, 2, 2, 1, big, 0, 2, big, 0, 2, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemm: k = -3 < 0",
                () -> blas.dgemm(false, false, 2, 2, -3, 1, big, 0, 2, big, 0, 2, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemv: n = -2 < 0",
                () -> blas.dgemv(false, 2, -2, 1, big, 0, 2, big, 0, 1, 0, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "ddot: n = -1 < 0", () -> blas.ddot(-1, big, 0, 1, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "daxpy: n = -1 < 0",
                () -> blas.daxpy(-1, 1, big, 0, 1, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "dscal: n = -1 < 0", () -> blas.dscal(-1, 1, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "dnrm2: n = -1 < 0", () -> blas.dnrm2(-1, big, 0, 1));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void leadingDimensionsTooSmall(Blas blas) {
        assertMessage(IllegalArgumentException.class, "dgemm: lda = 3 < k = 5",
                () -> blas.dgemm(false, false, 2, 2, 5, 1, big, 0, 3, big, 0, 2, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemm: lda = 3 < m = 4",
                () -> blas.dgemm(true, false, 4, 2, 5, 1, big, 0, 3, big, 0, 2, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemm: ldb = 1 < n = 2",
                () -> blas.dgemm(false, false, 2, 2, 2, 1, big, 0, 2, big, 0, 1, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemm: ldb = 2 < k = 3",
                () -> blas.dgemm(false, true, 2, 2, 3, 1, big, 0, 3, big, 0, 2, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemm: ldc = 1 < n = 2",
                () -> blas.dgemm(false, false, 2, 2, 2, 1, big, 0, 2, big, 0, 2, 0, big, 0, 1));
        // CBLAS demands ld >= 1 even for empty matrices.
        assertMessage(IllegalArgumentException.class, "dgemm: lda = 0 < 1",
                () -> blas.dgemm(false, false, 2, 2, 0, 1, big, 0, 0, big, 0, 2, 0, big, 0, 2));
        assertMessage(IllegalArgumentException.class, "dgemv: lda = 2 < n = 3",
                () -> blas.dgemv(true, 2, 3, 1, big, 0, 2, big, 0, 1, 0, big, 0, 1));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void nonPositiveIncrementsRejected(Blas blas) {
        assertMessage(IllegalArgumentException.class, "ddot: incx = 0",
                () -> blas.ddot(3, big, 0, 0, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "daxpy: incy = -1",
                () -> blas.daxpy(3, 1, big, 0, 1, big, 0, -1));
        assertMessage(IllegalArgumentException.class, "dgemv: incx = -2",
                () -> blas.dgemv(false, 2, 2, 1, big, 0, 2, big, 0, -2, 0, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "dscal: incx = 0", () -> blas.dscal(3, 1, big, 0, 0));
        assertMessage(IllegalArgumentException.class, "dnrm2: incx = -1", () -> blas.dnrm2(3, big, 0, -1));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void segmentsTooSmall(Blas blas) {
        MemorySegment six = arena.allocate(JAVA_DOUBLE, 6);
        // C is 2 x 3 with ldc = 4: needs 1*4 + 3 = 7 doubles.
        assertMessage(IllegalArgumentException.class, "dgemm: c too small",
                () -> blas.dgemm(false, false, 2, 3, 1, 1, big, 0, 1, big, 0, 3, 0, six, 0, 4));
        // A is 2 x 3 at offset 1: needs 7.
        assertMessage(IllegalArgumentException.class, "dgemm: a too small",
                () -> blas.dgemm(false, false, 2, 2, 3, 1, six, 1, 3, big, 0, 2, 0, big, 0, 2));
        // x with 3 elements and inc 3: needs 7.
        assertMessage(IllegalArgumentException.class, "ddot: x too small",
                () -> blas.ddot(3, six, 0, 3, big, 0, 1));
        assertMessage(IllegalArgumentException.class, "dgemv: y too small",
                () -> blas.dgemv(false, 7, 1, 1, big, 0, 1, big, 0, 1, 0, six, 0, 1));
        assertMessage(IllegalArgumentException.class, "dscal: xOff = 7 outside [0, 6]",
                () -> blas.dscal(0, 1, six, 7, 1));
        assertMessage(IllegalArgumentException.class, "dnrm2: xOff = -1",
                () -> blas.dnrm2(1, six, -1, 1));
        // Exactly large enough is fine, and an empty operation touches nothing.
        assertEquals(0.0, blas.dnrm2(0, six, 6, 1));
        blas.dscal(6, 2.0, six, 0, 1);
        blas.dscal(3, 2.0, six, 1, 2);
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void closedArenaIsIllegalState(Blas blas) {
        Arena closed = Arena.ofConfined();
        MemorySegment dead = closed.allocate(JAVA_DOUBLE, 10);
        closed.close();
        assertMessage(IllegalStateException.class, "ddot: y: its arena is closed",
                () -> blas.ddot(2, big, 0, 1, dead, 0, 1));
        assertMessage(IllegalStateException.class, "dgemm: b: its arena is closed",
                () -> blas.dgemm(false, false, 1, 1, 1, 1, big, 0, 1, dead, 0, 1, 0, big, 0, 1));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void heapNullAndMisalignedSegmentsRejected(Blas blas) {
        MemorySegment heap = MemorySegment.ofArray(new double[10]);
        assertMessage(IllegalArgumentException.class, "dscal: x is a heap segment",
                () -> blas.dscal(2, 1, heap, 0, 1));
        assertMessage(IllegalArgumentException.class, "dgemv: a is a heap segment",
                () -> blas.dgemv(false, 1, 1, 1, heap, 0, 1, big, 0, 1, 0, big, 0, 1));
        assertMessage(NullPointerException.class, "daxpy: y is null",
                () -> blas.daxpy(1, 1, big, 0, 1, null, 0, 1));
        MemorySegment misaligned = big.asSlice(4);
        assertMessage(IllegalArgumentException.class, "is not 8-byte aligned",
                () -> blas.dnrm2(1, misaligned, 0, 1));
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void threadCountBelowOneRejected(Blas blas) {
        assertMessage(IllegalArgumentException.class, "setNumThreads: threads = 0 < 1", () -> blas.setNumThreads(0));
    }

    /** Failed checks leave every operand untouched: checks precede any write. */
    @ParameterizedTest
    @MethodSource("implementations")
    void rejectedCallWritesNothing(Blas blas) {
        MemorySegment c = arena.allocate(JAVA_DOUBLE, 4);
        c.fill((byte) 0);
        // C is 2 x 2 with ldc = 3: needs 5 doubles, has 4.
        assertThrows(IllegalArgumentException.class,
                () -> blas.dgemm(false, false, 2, 2, 2, 1, big, 0, 2, big, 0, 2, 0, c, 0, 3));
        for (int i = 0; i < 4; i++) {
            assertEquals(0.0, c.getAtIndex(JAVA_DOUBLE, i));
        }
    }
}
