package org.dtlm.bench.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.dtlm.blas.Blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The dgemm calls of a computation, recorded through a delegating {@link Blas} and replayed with the same shapes,
 * transposes, leading dimensions and coefficients on scratch buffers of the same sizes: the GEMM-only time of that
 * computation, for its GFLOP/s fraction. Calls are recorded per calling thread, so that a sharded step's GEMMs can be
 * replayed on as many threads.
 */
final class GemmReplay implements AutoCloseable {
    /** One dgemm call; a, b, c are scratch buffers holding the elements the call reads and writes. */
    private record Call(boolean transA, boolean transB, int m, int n, int k, double alpha, int lda, int ldb,
                        double beta, int ldc, MemorySegment a, MemorySegment b, MemorySegment c) {
        double flops() {
            return 2.0 * m * n * k;
        }
    }

    private final Arena arena;
    private final Blas blas;
    private final Call[] calls;

    private GemmReplay(Arena arena, Blas blas, Call[] calls) {
        this.arena = arena;
        this.blas = blas;
        this.calls = calls;
    }

    int calls() {
        return calls.length;
    }

    /** 2 m n k summed over the calls. */
    double flops() {
        double f = 0;
        for (Call c : calls) f += c.flops();
        return f;
    }

    /** Runs every recorded call once; returns an element of the last C (for the blackhole). */
    double run() {
        for (Call c : calls) {
            blas.dgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.a, 0, c.lda, c.b, 0, c.ldb, c.beta, c.c, 0, c.ldc);
        }
        Call last = calls[calls.length - 1];
        return last.c.getAtIndex(JAVA_DOUBLE, 0);
    }

    @Override
    public void close() {
        arena.close();
    }

    /** A Blas that forwards every call to another and records the dgemm calls of each calling thread. */
    static final class Recorder implements Blas {
        private final Blas blas;
        // per thread, in order: transA, transB, m, n, k, alpha, lda, ldb, beta, ldc
        private final Map<Thread, List<double[]>> shapes = new ConcurrentHashMap<>();
        private final List<Thread> threads = new ArrayList<>();

        Recorder(Blas blas) {
            this.blas = blas;
        }

        /** The calls recorded on each thread, in order of first call (the step's caller first), as replays. */
        GemmReplay[] replays() {
            GemmReplay[] out = new GemmReplay[threads.size()];
            for (int i = 0; i < out.length; i++) out[i] = replay(shapes.get(threads.get(i)));
            return out;
        }

        /** The recorded calls, on fresh scratch buffers filled with small values. */
        private GemmReplay replay(List<double[]> recorded) {
            Arena arena = Arena.ofShared();
            List<Call> calls = new ArrayList<>();
            for (double[] s : recorded) {
                boolean ta = s[0] != 0, tb = s[1] != 0;
                int m = (int) s[2], n = (int) s[3], k = (int) s[4], lda = (int) s[6], ldb = (int) s[7], ldc = (int) s[9];
                long aElems = (long) (ta ? k : m) * lda, bElems = (long) (tb ? n : k) * ldb, cElems = (long) m * ldc;
                calls.add(new Call(ta, tb, m, n, k, s[5], lda, ldb, s[8], ldc, filled(arena, aElems), filled(arena, bElems),
                        filled(arena, cElems)));
            }
            return new GemmReplay(arena, blas, calls.toArray(Call[]::new));
        }

        private static MemorySegment filled(Arena arena, long n) {
            MemorySegment s = arena.allocate(JAVA_DOUBLE, Math.max(1, n));
            for (long i = 0; i < n; i++) s.setAtIndex(JAVA_DOUBLE, i, 1e-3 * ((i * 7919) % 1000));
            return s;
        }

        @Override
        public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha, MemorySegment a, long aOff,
                          int lda, MemorySegment b, long bOff, int ldb, double beta, MemorySegment c, long cOff, int ldc) {
            shapes.computeIfAbsent(Thread.currentThread(), t -> {
                synchronized (threads) {
                    threads.add(t);
                }
                return new ArrayList<>();
            }).add(new double[]{transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, lda, ldb, beta, ldc});
            blas.dgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }

        @Override
        public void dgemv(boolean transA, int m, int n, double alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment x, long xOff, int incx, double beta, MemorySegment y, long yOff, int incy) {
            blas.dgemv(transA, m, n, alpha, a, aOff, lda, x, xOff, incx, beta, y, yOff, incy);
        }

        @Override
        public void daxpy(int n, double alpha, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
            blas.daxpy(n, alpha, x, xOff, incx, y, yOff, incy);
        }

        @Override
        public double ddot(int n, MemorySegment x, long xOff, int incx, MemorySegment y, long yOff, int incy) {
            return blas.ddot(n, x, xOff, incx, y, yOff, incy);
        }

        @Override
        public void dscal(int n, double alpha, MemorySegment x, long xOff, int incx) {
            blas.dscal(n, alpha, x, xOff, incx);
        }

        @Override
        public double dnrm2(int n, MemorySegment x, long xOff, int incx) {
            return blas.dnrm2(n, x, xOff, incx);
        }

        @Override
        public void setNumThreads(int threads) {
            blas.setNumThreads(threads);
        }

        @Override
        public int getNumThreads() {
            return blas.getNumThreads();
        }

        @Override
        public String config() {
            return "recording " + blas.config();
        }
    }
}
