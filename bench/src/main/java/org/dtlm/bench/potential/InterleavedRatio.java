package org.dtlm.bench.potential;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * DG against its dgemm baseline ({@link PotentialBench}) measured alternately, call after call, in one JVM: on a
 * machine shared with other jobs the load changes within seconds, and JMH runs the two benchmarks minutes apart.
 * Prints, per d, the medians of wall time and of this thread's CPU time (meaningful with 1 BLAS thread, which runs in
 * the calling thread) and the ratio DG GFLOP/s over dgemm GFLOP/s (= baseline time over DG time: same FLOPs).
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp
 * bench/target/benchmarks.jar org.dtlm.bench.potential.InterleavedRatio B threads rounds d...}
 */
public final class InterleavedRatio {
    private InterleavedRatio() {
    }

    public static void main(String[] args) {
        if (args.length < 4) {
            throw new IllegalArgumentException("usage: InterleavedRatio B threads rounds d...; got "
                    + Arrays.toString(args));
        }
        int batch = Integer.parseInt(args[0]), threads = Integer.parseInt(args[1]), rounds = Integer.parseInt(args[2]);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.println("| B | d | BLAS threads | DG ms (wall) | dgemm ms (wall) | DG/dgemm (wall) "
                + "| DG ms (cpu) | dgemm ms (cpu) | DG/dgemm (cpu) |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int a = 3; a < args.length; a++) {
            PotentialBench b = new PotentialBench();
            b.d = Integer.parseInt(args[a]);
            b.batch = batch;
            b.threads = threads;
            b.setUp();
            double sink = 0;
            for (int i = 0; i < WARM_ROUNDS; i++) sink += b.runDiscreteGradient() + b.runDgemmBaseline();
            long[] dgWall = new long[rounds], gmWall = new long[rounds];
            long[] dgCpu = new long[rounds], gmCpu = new long[rounds];
            for (int r = 0; r < rounds; r++) {
                long w0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
                sink += b.runDiscreteGradient();
                long w1 = System.nanoTime(), c1 = mx.getCurrentThreadCpuTime();
                sink += b.runDgemmBaseline();
                long w2 = System.nanoTime(), c2 = mx.getCurrentThreadCpuTime();
                dgWall[r] = w1 - w0;
                dgCpu[r] = c1 - c0;
                gmWall[r] = w2 - w1;
                gmCpu[r] = c2 - c1;
            }
            b.tearDown();
            double dw = median(dgWall), gw = median(gmWall), dc = median(dgCpu), gc = median(gmCpu);
            System.out.printf("| %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n", batch, b.d, threads,
                    dw / 1e6, gw / 1e6, gw / dw, dc / 1e6, gc / 1e6, gc / dc);
            if (Double.isNaN(sink)) System.out.println("(NaN in the results)");
        }
    }

    /** Calls of each before timing (C2 and the caches). */
    static final int WARM_ROUNDS = 5;

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }
}
