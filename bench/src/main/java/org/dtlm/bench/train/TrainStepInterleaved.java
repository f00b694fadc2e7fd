package org.dtlm.bench.train;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.IntStream;

import org.dtlm.blas.Blas;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;
import org.dtlm.train.Trainer;
import org.dtlm.train.TrainingData;

/**
 * A training step and its own dgemm calls (as {@link TrainStepBench}) timed alternately in one JVM, round after round,
 * so that both see the same load on a shared machine: medians of wall time and of the calling thread's CPU time
 * (with one thread all the work runs on it; with shards the CPU column covers shard 0 only).
 *
 * <pre>java ... -cp benchmarks.jar org.dtlm.bench.train.TrainStepInterleaved THREADS ROUNDS [setting,...] [scheme,...]</pre>
 * THREADS = 1: one batch, OpenBLAS single-threaded; THREADS &gt; 1: that many shards, OpenBLAS single-threaded.
 */
public final class TrainStepInterleaved {
    private TrainStepInterleaved() {
    }

    public static void main(String[] args) {
        int threads = Integer.parseInt(args[0]), rounds = Integer.parseInt(args[1]);
        String[] settings = args.length > 2 ? args[2].split(",") : new String[]{"mass-spring", "two-body", "large"};
        String[] schemes = args.length > 3 ? args[3].split(",") : new String[]{"proposed", "leapfrog"};
        Blas blas = Blas.get();
        blas.setNumThreads(1);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.printf(Locale.ROOT, "%-11s %-8s %7s | %9s %9s %9s | %9s %9s %6s | %8s %8s%n", "setting", "scheme", "threads",
                "step ms", "gemm ms", "wall frac", "step cpu", "gemm cpu", "frac", "GF/s", "gemm GF/s");
        for (String setting : settings) {
            TrainingData data = TrainStepBench.data(setting);
            for (String s : schemes) {
                Trainer.Options options = TrainStepBench.options(setting, Scheme.parse(s));
                GemmReplay.Recorder recorder = new GemmReplay.Recorder(blas);
                try (Model twin = Model.create(MlpShape.of(data.d(), TrainStepBench.H, TrainStepBench.H), MassMatrix.Kind.IDENTITY, 0, recorder);
                     Trainer t = new Trainer(twin, data, options, threads)) {
                    t.step();
                }
                GemmReplay[] replays = recorder.replays();
                double flops = Arrays.stream(replays).mapToDouble(GemmReplay::flops).sum();
                try (Model model = Model.create(MlpShape.of(data.d(), TrainStepBench.H, TrainStepBench.H), MassMatrix.Kind.IDENTITY, 0, blas);
                     Trainer trainer = new Trainer(model, data, options, threads)) {
                    int reps = (int) Math.max(1, Math.round(2e9 / flops));   // about 2 GFLOP of GEMMs per timing
                    for (int i = 0; i < 3 * reps; i++) {
                        trainer.step();
                        run(replays);
                    }
                    double[] stepWall = new double[rounds], gemmWall = new double[rounds], stepCpu = new double[rounds], gemmCpu = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        long w0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
                        for (int i = 0; i < reps; i++) trainer.step();
                        long w1 = System.nanoTime(), c1 = mx.getCurrentThreadCpuTime();
                        for (int i = 0; i < reps; i++) run(replays);
                        long w2 = System.nanoTime(), c2 = mx.getCurrentThreadCpuTime();
                        stepWall[r] = (w1 - w0) / 1e6 / reps;
                        gemmWall[r] = (w2 - w1) / 1e6 / reps;
                        stepCpu[r] = (c1 - c0) / 1e6 / reps;
                        gemmCpu[r] = (c2 - c1) / 1e6 / reps;
                    }
                    double sw = median(stepWall), gw = median(gemmWall), sc = median(stepCpu), gc = median(gemmCpu);
                    System.out.printf(Locale.ROOT, "%-11s %-8s %7d | %9.3f %9.3f %9.2f | %9.3f %9.3f %6.2f | %8.1f %8.1f%n", setting, s,
                            threads, sw, gw, gw / sw, sc, gc, gc / sc, flops / sw / 1e6, flops / gw / 1e6);
                }
                for (GemmReplay r : replays) r.close();
            }
        }
    }

    private static void run(GemmReplay[] replays) {
        if (replays.length == 1) {
            replays[0].run();
        } else {
            IntStream.range(0, replays.length).parallel().forEach(i -> replays[i].run());
        }
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
