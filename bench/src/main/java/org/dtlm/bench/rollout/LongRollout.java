package org.dtlm.bench.rollout;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

import org.dtlm.blas.Blas;
import org.dtlm.rollout.PointObserver;
import org.dtlm.rollout.Stepper;
import org.dtlm.rollout.StepperOptions;
import org.dtlm.scheme.Scheme;

/**
 * Memory over a long rollout (a main, not JMH): {@code args} = d, B, steps, scheme, report interval. Prints, every
 * interval, the points done, steps per second, the heap in use after a full GC, the resident set size of the process
 * (VmRSS), the bytes the stepping thread allocated since the start (flat heap and RSS and no allocation mean the
 * rollout runs in constant memory) and the solver's residual evaluations per trajectory-step in the interval (what
 * the speed follows). Inputs: {@link RolloutInputs}.
 */
public final class LongRollout {
    private LongRollout() {
    }

    public static void main(String[] args) throws IOException {
        int d = Integer.parseInt(args[0]), batch = Integer.parseInt(args[1]);
        long steps = Long.parseLong(args[2]);
        Scheme scheme = Scheme.parse(args[3]);
        long interval = Long.parseLong(args[4]);
        RolloutInputs inputs = RolloutInputs.load(d, Blas.get());
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        PointObserver none = (n, q, v, e) -> { };
        try (Stepper stepper = new Stepper(inputs.model, scheme, batch, StepperOptions.of(inputs.dt))) {
            stepper.start(inputs.starts(batch));
            long allocated0 = threads.getCurrentThreadAllocatedBytes(), t0 = System.nanoTime();
            System.out.println("points,steps_per_s,heap_after_gc_bytes,rss_kib,allocated_bytes,failures,residuals_per_step");
            long residuals0 = 0;
            for (long done = 0; done < steps; ) {
                long chunk = Math.min(interval, steps - done);
                long t = System.nanoTime();
                stepper.advance(chunk, none);
                double rate = chunk / ((System.nanoTime() - t) * 1e-9);
                done += chunk;
                long allocated = threads.getCurrentThreadAllocatedBytes() - allocated0;
                long residuals = stepper.statistics().totalResidualEvaluations();
                System.gc();
                System.out.printf("%d,%.0f,%d,%d,%d,%d,%.3f%n", done, rate, memory.getHeapMemoryUsage().getUsed(), rss(),
                        allocated, stepper.failures().size(), (residuals - residuals0) / (double) (chunk * batch));
                residuals0 = residuals;
            }
            System.out.printf("total: %d points in %.1f s%n", steps, (System.nanoTime() - t0) * 1e-9);
        }
    }

    private static long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return -1;
    }
}
