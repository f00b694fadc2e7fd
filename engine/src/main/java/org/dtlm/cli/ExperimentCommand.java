package org.dtlm.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import org.dtlm.data.Task;
import org.dtlm.experiment.Experiment;
import org.dtlm.experiment.Method;
import org.dtlm.experiment.TrialResult;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dtlm experiment}: the poster's Table 1, Table 2 and Figure 1 (SPEC §6). */
@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Train every scheme on every task, roll out every test trajectory and write results.json, results.md "
                + "(Table 1: position and true-energy MSE; Table 2: variance of the modeled energy; mean ± std over trials) "
                + "and figure-TASK.png (Figure 1) into --out.",
            "",
            "Without --full it runs a quick version (fewer trials and training steps, said at the top of results.md); "
                + "--full runs SPEC §6 as specified. A rerun with the same --out skips the trials already complete.",
            ""})
final class ExperimentCommand implements Callable<Integer> {
    static final int QUICK_TRIALS = 3, FULL_TRIALS = 15;

    @Option(names = "--tasks", paramLabel = "T,..", split = ",", description = "mass-spring, pendulum, two-body (default: all)")
    List<String> tasks = List.of("mass-spring", "pendulum", "two-body");

    @Option(names = "--schemes", paramLabel = "S,..", split = ",",
            description = "euler, symplectic-euler, leapfrog, proposed, leapfrog+proposed (default: all)")
    List<String> schemes = Arrays.stream(Method.values()).map(Method::id).toList();

    @Option(names = "--trials", paramLabel = "K", description = "trials per task, seeds 0..K-1 (default " + QUICK_TRIALS
            + ", with --full " + FULL_TRIALS + ")")
    Integer trials;

    @Option(names = "--full", description = "the protocol of SPEC §6 as specified (15 trials, full training)")
    boolean full;

    @Option(names = "--steps", paramLabel = "N", description = "training steps for every task (default: the protocol's)")
    Integer steps;

    @Option(names = "--hidden", paramLabel = "H1,H2,..", split = ",", description = "hidden widths (default 200,200)")
    int[] hidden;

    @Option(names = "--parallel", paramLabel = "P",
            description = "trials run at once, each with threads/P BLAS threads (default: --threads, at most one per "
                    + "task and trial: independent trials scale better than BLAS threads, bench/README.md)")
    Integer parallel;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "experiment-out", description = "output folder (default ${DEFAULT-VALUE})")
    Path out;

    @Mixin
    BlasThreads threads;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        List<Task> taskList = tasks.stream().map(Task::parse).toList();
        List<Method> methods = schemes.stream().map(Method::parse).toList();
        int k = trials != null ? trials : full ? FULL_TRIALS : QUICK_TRIALS;
        if (k < 1) throw new IllegalArgumentException("--trials " + k + ": must be >= 1");
        threads.apply();
        int p = parallel != null ? parallel : Math.min(threads.threads, taskList.size() * k);
        if (p < 1) throw new IllegalArgumentException("--parallel " + p + ": must be >= 1");
        int blasThreads = Math.max(1, threads.threads / p);
        Experiment.Config config = full ? Experiment.Config.full(taskList, methods, k, p, blasThreads)
                : Experiment.Config.quick(taskList, methods, k, p, blasThreads);
        if (steps != null) config = config.withSteps(steps);
        if (hidden != null) config = config.withHidden(hidden);
        PrintStream err = System.err;
        long t0 = System.nanoTime();
        ProgressBar bar = System.console() != null
                ? ProgressBar.builder().setTaskName("experiment").setInitialMax((long) taskList.size() * k)
                .setConsumer(new ConsoleProgressBarConsumer(err)).setUpdateIntervalMillis(1000).build()
                : null;
        try {
            new Experiment(config, out).run((task, trial, results, done, total) -> {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "trial %d/%d  %s k=%d:", done, total, task.id(), trial));
                for (TrialResult r : results) {
                    line.append(String.format(Locale.ROOT, "  %s mse %.2e E-mse %.2e var %.1e", r.scheme(), r.positionMse(),
                            r.energyMse(), r.modeledEnergyVariance()));
                }
                if (bar != null) {
                    bar.stepTo(done);
                    bar.setExtraMessage(task.id() + " k=" + trial);
                }
                err.println(line);
            });
        } finally {
            if (bar != null) bar.close();
        }
        err.printf(Locale.ROOT, "experiment: done in %s; results in %s%n",
                Duration.ofSeconds((System.nanoTime() - t0) / 1_000_000_000L), out.resolve("results.md"));
        return 0;
    }
}
