package org.dtlm.blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every OpenBLAS binding against the Java reference over shapes including 0 and 1, non-square, both transposes,
 * leading dimensions larger than the stored columns, nonzero offsets and increments > 1. Padding around every
 * operand is checked to be untouched.
 *
 * <p>Tolerance: a sum of k products differs between summation orders (and FMA or not) by at most about
 * k * eps * sum|terms| (Higham, Accuracy and Stability, Sec. 3.1), so each element is compared with
 * {@code TERM_SLACK * (k + 2) * EPS * magnitude + ABS_FLOOR}, where magnitude is the sum of the absolute values of
 * all terms that make the element.
 */
class OpenBlasTest {

    private static final double EPS = Math.ulp(1.0);
    /** Safety factor on the first-order rounding bound k * eps * sum|terms|. */
    private static final double TERM_SLACK = 4.0;
    /** Absolute floor, for elements whose terms cancel to exactly zero in one implementation. */
    private static final double ABS_FLOOR = 1e-300;
    /** Value written into padding; any change means an out-of-bounds write. */
    private static final double SENTINEL = -12345.678;
    private static final long SEED = 20260312L;

    private static final int[] GEMM_SIZES = {0, 1, 2, 3, 5, 17};
    private static final double[][] ALPHA_BETA = {{1.0, 0.0}, {-0.7, 1.3}, {0.0, 2.0}, {1.5, 1.0}};

    private final Blas ref = new JavaBlas();
    private final Blas lib = new OpenBlas();
    private final SplittableRandom random = new SplittableRandom(SEED);
    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** {@code count} doubles uniform in [-1, 1), the elements the routine may touch; padding holds SENTINEL. */
    private MemorySegment random(long count) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, Math.max(count, 1));
        for (long i = 0; i < count; i++) {
            s.setAtIndex(JAVA_DOUBLE, i, random.nextDouble(-1.0, 1.0));
        }
        return s;
    }

    /** Fills the elements of a strided rows x cols matrix with random values and everything else with SENTINEL. */
    private MemorySegment matrix(long off, int rows, int cols, int ld) {
        long size = off + (long) rows * ld + 3;
        MemorySegment s = arena.allocate(JAVA_DOUBLE, size);
        for (long i = 0; i < size; i++) {
            s.setAtIndex(JAVA_DOUBLE, i, SENTINEL);
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                s.setAtIndex(JAVA_DOUBLE, off + (long) i * ld + j, random.nextDouble(-1.0, 1.0));
            }
        }
        return s;
    }

    private MemorySegment vector(long off, int n, int inc) {
        return matrix(off, n, 1, inc);
    }

    private MemorySegment copy(MemorySegment s) {
        MemorySegment c = arena.allocate(JAVA_DOUBLE, s.byteSize() / 8);
        c.copyFrom(s);
        return c;
    }

    private static double get(MemorySegment s, long i) {
        return s.getAtIndex(JAVA_DOUBLE, i);
    }

    private static void assertClose(double expected, double actual, double bound, String what) {
        assertTrue(Math.abs(expected - actual) <= bound,
                what + ": expected " + expected + ", got " + actual + ", |diff| = " + Math.abs(expected - actual)
                        + " > " + bound);
    }

    /** Both segments equal element by element outside the touched elements (padding) and within tolerance inside. */
    private static void assertPaddingEqual(MemorySegment expected, MemorySegment actual, String what) {
        assertEquals(expected.byteSize(), actual.byteSize());
        for (long i = 0; i < expected.byteSize() / 8; i++) {
            if (get(expected, i) == SENTINEL) {
                assertEquals(SENTINEL, get(actual, i), what + ": padding element " + i + " overwritten");
            }
        }
    }

    @Test
    void dgemmMatchesReference() {
        for (int m : GEMM_SIZES) {
            for (int n : GEMM_SIZES) {
                for (int k : GEMM_SIZES) {
                    for (int variant = 0; variant < 4; variant++) {
                        boolean transA = (variant & 1) != 0;
                        boolean transB = (variant & 2) != 0;
                        double[] ab = ALPHA_BETA[random.nextInt(ALPHA_BETA.length)];
                        int pad = random.nextInt(3);
                        long off = random.nextInt(4);
                        checkDgemm(transA, transB, m, n, k, ab[0], ab[1], pad, off);
                    }
                }
            }
        }
    }

    /** OpenBLAS threads a GEMM once m n k exceeds 65536 * GEMM_MULTITHREAD_THRESHOLD (4): about 2.6e5. */
    @Test
    void dgemmLargeEnoughForThreadsMatchesReference() {
        checkDgemm(false, false, 80, 71, 60, 1.0, 0.0, 0, 0);
        checkDgemm(true, true, 71, 80, 61, -0.5, 0.25, 5, 3);
        checkDgemm(false, true, 129, 40, 64, 1.0, 1.0, 1, 1);
    }

    private void checkDgemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double beta,
                            int pad, long off) {
        int aRows = transA ? k : m;
        int aCols = transA ? m : k;
        int bRows = transB ? n : k;
        int bCols = transB ? k : n;
        int lda = Math.max(1, aCols) + pad;
        int ldb = Math.max(1, bCols) + pad;
        int ldc = Math.max(1, n) + pad;
        MemorySegment a = matrix(off, aRows, aCols, lda);
        MemorySegment b = matrix(off + 1, bRows, bCols, ldb);
        MemorySegment c0 = matrix(off + 2, m, n, ldc);
        MemorySegment cRef = copy(c0);
        MemorySegment cLib = copy(c0);
        ref.dgemm(transA, transB, m, n, k, alpha, a, off, lda, b, off + 1, ldb, beta, cRef, off + 2, ldc);
        lib.dgemm(transA, transB, m, n, k, alpha, a, off, lda, b, off + 1, ldb, beta, cLib, off + 2, ldc);
        String what = "dgemm " + (transA ? "T" : "N") + (transB ? "T" : "N") + " m=" + m + " n=" + n + " k=" + k
                + " alpha=" + alpha + " beta=" + beta + " pad=" + pad + " off=" + off;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double magnitude = Math.abs(beta * get(c0, off + 2 + (long) i * ldc + j));
                for (int p = 0; p < k; p++) {
                    double aip = get(a, off + (transA ? (long) p * lda + i : (long) i * lda + p));
                    double bpj = get(b, off + 1 + (transB ? (long) j * ldb + p : (long) p * ldb + j));
                    magnitude += Math.abs(alpha * aip * bpj);
                }
                long at = off + 2 + (long) i * ldc + j;
                assertClose(get(cRef, at), get(cLib, at), TERM_SLACK * (k + 2) * EPS * magnitude + ABS_FLOOR,
                        what + " C(" + i + "," + j + ")");
            }
        }
        assertPaddingEqual(c0, cLib, what);
        assertPaddingEqual(c0, cRef, what);
    }

    /** {@code count} NaNs (the all-ones bit pattern). */
    private MemorySegment nans(long count) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, count);
        s.fill((byte) 0xff);
        return s;
    }

    private static void assertAllFinite(MemorySegment s, long count, String what) {
        for (long i = 0; i < count; i++) {
            assertTrue(Double.isFinite(get(s, i)), what + ": element " + i + " = " + get(s, i));
        }
    }

    /** Reference BLAS semantics, documented on {@link Blas}: beta = 0 does not read the output. */
    @Test
    void betaZeroIgnoresNaNInOutput() {
        for (Blas blas : new Blas[] {ref, lib}) {
            MemorySegment c = nans(4);
            blas.dgemm(false, false, 2, 2, 3, 1.0, random(6), 0, 3, random(6), 0, 2, 0.0, c, 0, 2);
            assertAllFinite(c, 4, blas.config() + " dgemm");
            for (boolean transA : new boolean[] {false, true}) {
                MemorySegment y = nans(3);
                blas.dgemv(transA, 3, 3, 1.0, random(9), 0, 3, random(3), 0, 1, 0.0, y, 0, 1);
                assertAllFinite(y, 3, blas.config() + " dgemv " + transA);
            }
        }
    }

    /** Reference BLAS semantics, documented on {@link Blas}: alpha = 0 does not read the inputs. */
    @Test
    void alphaZeroIgnoresNaNInInputs() {
        for (Blas blas : new Blas[] {ref, lib}) {
            MemorySegment c = random(4);
            blas.dgemm(false, false, 2, 2, 3, 0.0, nans(6), 0, 3, nans(6), 0, 2, 0.5, c, 0, 2);
            assertAllFinite(c, 4, blas.config() + " dgemm");
            MemorySegment y = random(3);
            blas.dgemv(false, 3, 3, 0.0, nans(9), 0, 3, nans(3), 0, 1, 1.0, y, 0, 1);
            assertAllFinite(y, 3, blas.config() + " dgemv");
            blas.daxpy(3, 0.0, nans(3), 0, 1, y, 0, 1);
            assertAllFinite(y, 3, blas.config() + " daxpy");
        }
    }

    @Test
    void dgemvMatchesReference() {
        int[] sizes = {0, 1, 2, 5, 17, 64, 300};
        double[][] alphaBeta = {{1.0, 0.0}, {-0.7, 1.3}, {0.0, 2.0}};
        for (int m : sizes) {
            for (int n : sizes) {
                for (boolean transA : new boolean[] {false, true}) {
                    for (double[] ab : alphaBeta) {
                        int lda = Math.max(1, n) + random.nextInt(3);
                        int incx = 1 + random.nextInt(3);
                        int incy = 1 + random.nextInt(3);
                        long off = random.nextInt(4);
                        checkDgemv(transA, m, n, ab[0], ab[1], lda, incx, incy, off);
                    }
                }
            }
        }
    }

    private void checkDgemv(boolean transA, int m, int n, double alpha, double beta, int lda, int incx, int incy,
                            long off) {
        int lenX = transA ? m : n;
        int lenY = transA ? n : m;
        MemorySegment a = matrix(off, m, n, lda);
        MemorySegment x = vector(off + 1, lenX, incx);
        MemorySegment y0 = vector(off + 2, lenY, incy);
        MemorySegment yRef = copy(y0);
        MemorySegment yLib = copy(y0);
        ref.dgemv(transA, m, n, alpha, a, off, lda, x, off + 1, incx, beta, yRef, off + 2, incy);
        lib.dgemv(transA, m, n, alpha, a, off, lda, x, off + 1, incx, beta, yLib, off + 2, incy);
        String what = "dgemv " + (transA ? "T" : "N") + " m=" + m + " n=" + n + " lda=" + lda + " incx=" + incx
                + " incy=" + incy + " off=" + off + " alpha=" + alpha + " beta=" + beta;
        for (int i = 0; i < lenY; i++) {
            long yi = off + 2 + (long) i * incy;
            double magnitude = Math.abs(beta * get(y0, yi));
            for (int p = 0; p < lenX; p++) {
                double aip = get(a, off + (transA ? (long) p * lda + i : (long) i * lda + p));
                magnitude += Math.abs(alpha * aip * get(x, off + 1 + (long) p * incx));
            }
            assertClose(get(yRef, yi), get(yLib, yi), TERM_SLACK * (lenX + 2) * EPS * magnitude + ABS_FLOOR,
                    what + " y(" + i + ")");
        }
        assertPaddingEqual(y0, yLib, what);
    }

    /** Covers both the critical handle (n <= CRITICAL_MAX_N) and the ordinary one. */
    private static final int[] LEVEL1_SIZES = {0, 1, 2, 7, 100, OpenBlas.CRITICAL_MAX_N, OpenBlas.CRITICAL_MAX_N + 1,
            20_000};

    @Test
    void level1MatchesReference() {
        for (int n : LEVEL1_SIZES) {
            for (int incx = 1; incx <= 2; incx++) {
                for (int incy = 1; incy <= 3; incy += 2) {
                    long off = random.nextInt(4);
                    String what = "n=" + n + " incx=" + incx + " incy=" + incy + " off=" + off;
                    MemorySegment x = vector(off, n, incx);
                    MemorySegment y0 = vector(off + 1, n, incy);
                    double magnitude = 0.0;
                    for (int i = 0; i < n; i++) {
                        magnitude += Math.abs(get(x, off + (long) i * incx) * get(y0, off + 1 + (long) i * incy));
                    }
                    double dotBound = TERM_SLACK * (n + 2) * EPS * magnitude + ABS_FLOOR;
                    assertClose(ref.ddot(n, x, off, incx, y0, off + 1, incy),
                            lib.ddot(n, x, off, incx, y0, off + 1, incy), dotBound, "ddot " + what);
                    double sumSquares = 0.0;
                    for (int i = 0; i < n; i++) {
                        sumSquares += get(x, off + (long) i * incx) * get(x, off + (long) i * incx);
                    }
                    double norm = Math.sqrt(sumSquares);
                    assertClose(ref.dnrm2(n, x, off, incx), lib.dnrm2(n, x, off, incx),
                            TERM_SLACK * (n + 2) * EPS * norm + ABS_FLOOR, "dnrm2 " + what);

                    double alpha = random.nextDouble(-2.0, 2.0);
                    MemorySegment yRef = copy(y0);
                    MemorySegment yLib = copy(y0);
                    ref.daxpy(n, alpha, x, off, incx, yRef, off + 1, incy);
                    lib.daxpy(n, alpha, x, off, incx, yLib, off + 1, incy);
                    for (int i = 0; i < n; i++) {
                        long yi = off + 1 + (long) i * incy;
                        // One product and one sum: both implementations may differ by an FMA's rounding.
                        double bound = TERM_SLACK * EPS * (Math.abs(get(y0, yi))
                                + Math.abs(alpha * get(x, off + (long) i * incx))) + ABS_FLOOR;
                        assertClose(get(yRef, yi), get(yLib, yi), bound, "daxpy " + what + " y(" + i + ")");
                    }
                    assertPaddingEqual(y0, yLib, "daxpy " + what);

                    MemorySegment xRef = copy(x);
                    MemorySegment xLib = copy(x);
                    ref.dscal(n, alpha, xRef, off, incx);
                    lib.dscal(n, alpha, xLib, off, incx);
                    for (int i = 0; i < n; i++) {
                        long xi = off + (long) i * incx;
                        // A single correctly rounded product: bit-identical.
                        assertEquals(get(xRef, xi), get(xLib, xi), "dscal " + what + " x(" + i + ")");
                    }
                    assertPaddingEqual(x, xLib, "dscal " + what);
                }
            }
        }
    }

    @Test
    void dnrm2NeitherOverflowsNorUnderflows() {
        for (double v : new double[] {1e200, 1e-200, 3.0}) {
            MemorySegment x = arena.allocate(JAVA_DOUBLE, 4);
            for (int i = 0; i < 4; i++) {
                x.setAtIndex(JAVA_DOUBLE, i, i % 2 == 0 ? v : -v);
            }
            for (Blas blas : new Blas[] {ref, lib}) {
                // sqrt(4 v^2) = 2 v: a few roundings in the scaled sum.
                assertClose(2.0 * v, blas.dnrm2(4, x, 0, 1), TERM_SLACK * 6 * EPS * 2.0 * v, blas.config());
            }
        }
    }

    @Test
    void threadCountRoundTrips() {
        int original = lib.getNumThreads();
        try {
            lib.setNumThreads(1);
            assertEquals(1, lib.getNumThreads());
            lib.setNumThreads(2);
            assertEquals(2, lib.getNumThreads());
        } finally {
            lib.setNumThreads(original);
        }
        assertEquals(original, lib.getNumThreads());
    }

    @Test
    void configNamesTheLibraryFile() {
        assertTrue(lib.config().contains("OpenBLAS"), lib.config());
        assertTrue(lib.config().contains(OpenBlas.libraryPath().toString()), lib.config());
        assertTrue(OpenBlas.libraryPath().getFileName().toString().startsWith("libopenblas_nolapack.so"),
                OpenBlas.libraryPath().toString());
    }
}
