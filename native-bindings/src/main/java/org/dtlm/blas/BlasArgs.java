package org.dtlm.blas;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The argument checks shared by every {@link Blas} implementation, done once at the Java entry so that both
 * implementations reject exactly the same calls and native code never sees an out-of-bounds pointer.
 *
 * <p>Conventions (row-major, as CBLAS {@code CblasRowMajor}): a matrix stored with {@code rows} rows and {@code cols}
 * columns and leading dimension {@code ld} has element (i, j) at {@code off + i * ld + j}; CBLAS requires
 * {@code ld >= max(1, cols)} even when nothing is touched. A vector of {@code n} elements with increment {@code inc}
 * has element i at {@code off + i * inc}. Only positive increments are supported: reference BLAS gives negative
 * increments different meanings in different routines (dscal and dnrm2 do nothing), so they are rejected rather than
 * half-supported.
 *
 * <p>Every message starts with the routine name and names the argument and its value, e.g.
 * {@code "dgemm: lda = 3 < k = 5"}.
 */
final class BlasArgs {

    private static final long DOUBLE_BYTES = ValueLayout.JAVA_DOUBLE.byteSize();

    private BlasArgs() {
    }

    /** Size arguments (m, n, k) must be >= 0. */
    static void size(String routine, String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(routine + ": " + name + " = " + value + " < 0");
        }
    }

    /** Row-major leading dimension: {@code ld >= max(1, cols)}, where {@code colsName} names the column count. */
    static void leadingDimension(String routine, String name, int ld, String colsName, int cols) {
        if (ld < Math.max(1, cols)) {
            String bound = cols >= 1 ? colsName + " = " + cols : "1";
            throw new IllegalArgumentException(routine + ": " + name + " = " + ld + " < " + bound);
        }
    }

    /** Vector increments must be >= 1 (see the class comment for why negative ones are rejected). */
    static void increment(String routine, String name, int inc) {
        if (inc < 1) {
            throw new IllegalArgumentException(routine + ": " + name + " = " + inc
                    + " must be >= 1 (zero and negative increments are not supported)");
        }
    }

    /**
     * A row-major matrix of {@code rows x cols} doubles with leading dimension {@code ld} (already checked) starting at
     * element {@code off} of {@code s}: the segment is native, alive, 8-byte aligned, and holds the last element
     * touched. Nothing is touched when rows or cols is 0, so then only the segment itself and the offset are checked.
     */
    static void matrix(String routine, String name, MemorySegment s, long off, int rows, int cols, int ld) {
        long capacity = segment(routine, name, s, off);
        if (rows == 0 || cols == 0) {
            return;
        }
        // off <= capacity < 2^61 and (rows - 1) * ld + cols < 2^62: the sum cannot overflow.
        long needed = off + (long) (rows - 1) * ld + cols;
        if (needed > capacity) {
            throw new IllegalArgumentException(routine + ": " + name + " too small: " + rows + " x " + cols
                    + " with ld = " + ld + " at offset " + off + " needs " + needed + " doubles, segment holds "
                    + capacity);
        }
    }

    /** A vector of {@code n} doubles with increment {@code inc} (already checked) starting at element {@code off}. */
    static void vector(String routine, String name, MemorySegment s, long off, int n, int inc) {
        long capacity = segment(routine, name, s, off);
        if (n == 0) {
            return;
        }
        long needed = off + (long) (n - 1) * inc + 1;
        if (needed > capacity) {
            throw new IllegalArgumentException(routine + ": " + name + " too small: " + n + " elements with inc = "
                    + inc + " at offset " + off + " need " + needed + " doubles, segment holds " + capacity);
        }
    }

    /** Checks what does not depend on the shape; returns the capacity of {@code s} in doubles. */
    private static long segment(String routine, String name, MemorySegment s, long off) {
        if (s == null) {
            throw new NullPointerException(routine + ": " + name + " is null");
        }
        if (!s.scope().isAlive()) {
            throw new IllegalStateException(routine + ": " + name + ": its arena is closed");
        }
        if (!s.isNative()) {
            throw new IllegalArgumentException(routine + ": " + name + " is a heap segment; native memory required");
        }
        if (s.address() % DOUBLE_BYTES != 0) {
            throw new IllegalArgumentException(routine + ": " + name + " address 0x" + Long.toHexString(s.address())
                    + " is not 8-byte aligned");
        }
        long capacity = s.byteSize() / DOUBLE_BYTES;
        if (off < 0 || off > capacity) {
            throw new IllegalArgumentException(routine + ": " + name + "Off = " + off + " outside [0, " + capacity
                    + "] (segment " + name + " holds " + capacity + " doubles)");
        }
        return capacity;
    }

    /** Threads for {@link Blas#setNumThreads}: at least 1. */
    static void threads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("setNumThreads: threads = " + threads + " < 1");
        }
    }

    /** All checks of dgemm, in argument order; A is stored op(A)-transposed when {@code transA}. */
    static void dgemm(boolean transA, boolean transB, int m, int n, int k,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      MemorySegment c, long cOff, int ldc) {
        size("dgemm", "m", m);
        size("dgemm", "n", n);
        size("dgemm", "k", k);
        // Stored A: m x k, or k x m when transposed; stored B: k x n, or n x k.
        if (transA) {
            leadingDimension("dgemm", "lda", lda, "m", m);
        } else {
            leadingDimension("dgemm", "lda", lda, "k", k);
        }
        if (transB) {
            leadingDimension("dgemm", "ldb", ldb, "k", k);
        } else {
            leadingDimension("dgemm", "ldb", ldb, "n", n);
        }
        leadingDimension("dgemm", "ldc", ldc, "n", n);
        matrix("dgemm", "a", a, aOff, transA ? k : m, transA ? m : k, lda);
        matrix("dgemm", "b", b, bOff, transB ? n : k, transB ? k : n, ldb);
        matrix("dgemm", "c", c, cOff, m, n, ldc);
    }

    /** All checks of dgemv: A is m x n as stored; x has n elements (m if transposed), y has m (n if transposed). */
    static void dgemv(boolean transA, int m, int n, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
        size("dgemv", "m", m);
        size("dgemv", "n", n);
        leadingDimension("dgemv", "lda", lda, "n", n);
        increment("dgemv", "incx", incx);
        increment("dgemv", "incy", incy);
        matrix("dgemv", "a", a, aOff, m, n, lda);
        vector("dgemv", "x", x, xOff, transA ? m : n, incx);
        vector("dgemv", "y", y, yOff, transA ? n : m, incy);
    }

    /** All checks of a two-vector level-1 routine (daxpy, ddot). */
    static void twoVectors(String routine, int n, MemorySegment x, long xOff, int incx,
                           MemorySegment y, long yOff, int incy) {
        size(routine, "n", n);
        increment(routine, "incx", incx);
        increment(routine, "incy", incy);
        vector(routine, "x", x, xOff, n, incx);
        vector(routine, "y", y, yOff, n, incy);
    }

    /** All checks of a one-vector level-1 routine (dscal, dnrm2). */
    static void oneVector(String routine, int n, MemorySegment x, long xOff, int incx) {
        size(routine, "n", n);
        increment(routine, "incx", incx);
        vector(routine, "x", x, xOff, n, incx);
    }
}
