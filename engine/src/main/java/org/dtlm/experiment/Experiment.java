package org.dtlm.experiment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.dtlm.blas.Blas;
import org.dtlm.data.Dataset;
import org.dtlm.data.Generator;
import org.dtlm.data.Task;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.rollout.RolloutResult;
import org.dtlm.rollout.Rollouts;
import org.dtlm.rollout.StepperOptions;
import org.dtlm.scheme.Scheme;
import org.dtlm.train.Trainer;
import org.dtlm.train.TrainingData;

/**
 * The protocol of SPEC §6: for every task and trial k (seed k for data, initialisation and batches), train a model
 * with every scheme's loss, roll every test trajectory out from its first clean positions, and score the rollouts
 * against the truth on the points n = 2 .. T-1. Results accumulate in {@code results.json} after every trial, so a
 * rerun with the same output folder skips the trials already complete.
 */
public final class Experiment {
    /** First point scored: every scheme predicts from n = 2 on (the velocity schemes start at q^1, v^1). */
    static final int FIRST_SCORED = 2;

    /** Training settings of one task (SPEC §6). */
    public record Training(int steps, int batch, double weightDecay) {
    }

    /**
     * What to run. {@code parallel} trials run at once, each with {@code blasThreads} BLAS threads.
     */
    public record Config(List<Task> tasks, List<Method> methods, int trials, Map<Task, Training> training,
                         int[] hidden, int parallel, int blasThreads, boolean full) {

        /** SPEC §6 as specified: 15 trials; 2000 full-batch steps (wd 1e-4) or 10000 steps of 200 stencils (wd 0). */
        public static Config full(List<Task> tasks, List<Method> methods, int trials, int parallel, int blasThreads) {
            Map<Task, Training> t = new EnumMap<>(Task.class);
            t.put(Task.MASS_SPRING, new Training(2000, Trainer.FULL_BATCH, 1e-4));
            t.put(Task.PENDULUM, new Training(2000, Trainer.FULL_BATCH, 1e-4));
            t.put(Task.TWO_BODY, new Training(10000, 200, 0));
            return new Config(tasks, methods, trials, t, new int[]{200, 200}, parallel, blasThreads, true);
        }

        /** The default run (about ten minutes on 2 cores): fewer trials and training steps than SPEC §6. */
        public static Config quick(List<Task> tasks, List<Method> methods, int trials, int parallel, int blasThreads) {
            Map<Task, Training> t = new EnumMap<>(Task.class);
            t.put(Task.MASS_SPRING, new Training(QUICK_STEPS_ONE_DOF, Trainer.FULL_BATCH, 1e-4));
            t.put(Task.PENDULUM, new Training(QUICK_STEPS_ONE_DOF, Trainer.FULL_BATCH, 1e-4));
            t.put(Task.TWO_BODY, new Training(QUICK_STEPS_TWO_BODY, 200, 0));
            return new Config(tasks, methods, trials, t, new int[]{200, 200}, parallel, blasThreads, false);
        }

        /** The same protocol with every task trained for {@code steps} steps (short runs, tests). */
        public Config withSteps(int steps) {
            if (steps < 1) throw new IllegalArgumentException("--steps " + steps + ": must be >= 1");
            Map<Task, Training> t = new EnumMap<>(Task.class);
            training.forEach((task, tr) -> t.put(task, new Training(steps, tr.batch(), tr.weightDecay())));
            return new Config(tasks, methods, trials, t, hidden, parallel, blasThreads, full);
        }

        public Config withHidden(int[] widths) {
            return new Config(tasks, methods, trials, training, widths.clone(), parallel, blasThreads, full);
        }

        JsonNode toJson() {
            ObjectMapper json = new ObjectMapper();
            ObjectNode o = json.createObjectNode();
            o.put("protocol", full ? "full (SPEC section 6)" : "quick (fewer trials and training steps than SPEC section 6)");
            tasks.forEach(t -> o.withArray("tasks").add(t.id()));
            methods.forEach(m -> o.withArray("schemes").add(m.id()));
            o.put("trials", trials);
            for (Task t : tasks) {
                Training tr = training.get(t);
                ObjectNode n = o.with("training").putObject(t.id());
                n.put("steps", tr.steps());
                n.put("batch", tr.batch() == Trainer.FULL_BATCH ? "full" : Integer.toString(tr.batch()));
                n.put("weight_decay", tr.weightDecay());
                n.put("lr", 1e-3);
            }
            Arrays.stream(hidden).forEach(h -> o.withArray("hidden").add(h));
            o.put("mass", MassMatrix.Kind.IDENTITY.id());
            o.put("xtol", StepperOptions.SOLVER_DEFAULTS.xtol());
            o.put("parallel_trials", parallel);
            o.put("blas_threads", blasThreads);
            return o;
        }
    }

    static final int QUICK_STEPS_ONE_DOF = 600, QUICK_STEPS_TWO_BODY = 2000;

    /** Told when a trial is complete (for progress lines and bars). */
    public interface Listener {
        void trialDone(Task task, int trial, List<TrialResult> results, int done, int total);
    }

    private final Config config;
    private final Path out;

    public Experiment(Config config, Path out) {
        this.config = config;
        this.out = out;
    }

    /** Runs the trials not yet in {@code out/results.json}; returns every result, old and new. */
    public List<TrialResult> run(Listener listener) throws IOException, InterruptedException {
        Files.createDirectories(out);
        Path json = out.resolve("results.json");
        List<TrialResult> results = new ArrayList<>();
        if (Files.exists(json)) {
            JsonNode old = new ObjectMapper().readTree(json.toFile()).path("config");
            if (!old.equals(config.toJson())) {
                throw new IllegalArgumentException(json + " holds results of other settings; use another --out");
            }
            results.addAll(Report.readTrials(json));
        }
        List<int[]> todo = new ArrayList<>(); // (task index, trial), trial-major: a partial run covers every task
        for (int k = 0; k < config.trials(); k++) {
            for (int ti = 0; ti < config.tasks().size(); ti++) {
                Task task = config.tasks().get(ti);
                int trial = k;
                long have = results.stream().filter(r -> r.task().equals(task.id()) && r.trial() == trial).count();
                if (have < config.methods().size()) todo.add(new int[]{ti, k});
            }
        }
        int total = config.tasks().size() * config.trials(), done = total - todo.size();
        Blas.get().setNumThreads(config.blasThreads());
        ExecutorService pool = Executors.newFixedThreadPool(config.parallel());
        try {
            List<Future<List<TrialResult>>> futures = new ArrayList<>();
            for (int[] job : todo) {
                Task task = config.tasks().get(job[0]);
                futures.add(pool.submit(() -> trial(task, job[1])));
            }
            for (int i = 0; i < futures.size(); i++) {
                List<TrialResult> r;
                try {
                    r = futures.get(i).get();
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof IOException io) throw io;
                    if (c instanceof RuntimeException re) throw re;
                    throw new IllegalStateException(c);
                }
                Task task = config.tasks().get(todo.get(i)[0]);
                int trial = todo.get(i)[1];
                results.removeIf(x -> x.task().equals(task.id()) && x.trial() == trial);
                results.addAll(r);
                Report.writeJson(json, config.toJson(), results);
                writeMarkdown(results);
                listener.trialDone(task, trial, r, ++done, total);
            }
        } finally {
            pool.shutdownNow();
        }
        writeMarkdown(results);
        return results;
    }

    private void writeMarkdown(List<TrialResult> results) throws IOException {
        String preamble = config.full()
                ? "Full protocol of SPEC §6: " + config.trials() + " trials per task."
                : "**Quick run, not the full protocol**: " + config.trials() + " trial(s) per task and fewer training steps "
                + "than SPEC §6 (" + config.training().values().stream().map(t -> Integer.toString(t.steps()))
                .distinct().reduce((a, b) -> a + "/" + b).orElse("") + " steps); run `dtlm experiment --full` for the protocol.";
        Report.writeMarkdown(out.resolve("results.md"), preamble, config.tasks().stream().map(Task::id).toList(),
                config.methods().stream().map(Method::id).toList(), results);
    }

    /** One trial of one task: trains each needed model once, rolls out with every method, scores. */
    private List<TrialResult> trial(Task task, int k) throws IOException {
        Dataset ds = Generator.generate(task, k);
        int d = ds.dimension(), T = ds.points(), B = ds.testTrajectories();
        double dt = ds.dt();
        TrainingData data = new TrainingData(ds.trainPositions(), ds.trainTrajectories(), T, d, dt, task.id() + " train");
        double[] start = new double[B * 3 * d];
        for (int b = 0; b < B; b++) System.arraycopy(ds.testPositions(), b * T * d, start, b * 3 * d, 3 * d);
        Map<Scheme, Model> models = new EnumMap<>(Scheme.class);
        Map<Scheme, Double> trainSeconds = new EnumMap<>(Scheme.class);
        List<TrialResult> results = new ArrayList<>();
        List<Figure.Line> lines = new ArrayList<>();
        Training tr = config.training().get(task);
        try {
            for (Method m : config.methods()) {
                Model model = models.get(m.training());
                double trainTime = 0;
                if (model == null) {
                    long t0 = System.nanoTime();
                    model = Model.create(new MlpShape(d, config.hidden()), MassMatrix.Kind.IDENTITY, k, Blas.get());
                    try (Trainer trainer = new Trainer(model, data,
                            new Trainer.Options(m.training(), tr.steps(), tr.batch(), 1e-3, tr.weightDecay(), k, 0))) {
                        trainer.train((step, loss) -> { }, null);
                    }
                    trainTime = (System.nanoTime() - t0) * 1e-9;
                    models.put(m.training(), model);
                    trainSeconds.put(m.training(), trainTime);
                }
                long t1 = System.nanoTime();
                RolloutResult r = Rollouts.run(model, m.rollout(), start, T, StepperOptions.of(dt));
                double rolloutTime = (System.nanoTime() - t1) * 1e-9;
                boolean[] scored = new boolean[B];
                Arrays.fill(scored, true);
                r.failures().forEach(f -> scored[f.trajectory()] = false);
                double posMse = Metrics.positionMse(r.q(), ds.testPositions(), scored, T, d, FIRST_SCORED);
                double eMse = Metrics.energyMse(task, r.q(), r.v(), ds.testPositions(), ds.testVelocities(), scored, T, d,
                        FIRST_SCORED);
                double var = Metrics.modeledEnergyVariance(r.energy(), scored, T, FIRST_SCORED);
                results.add(new TrialResult(task.id(), k, m.id(), posMse, eMse, var, r.failures().size(), trainTime,
                        rolloutTime));
                if (k == 0) lines.add(figureLine(task, m.id(), r, T, d));
            }
        } finally {
            models.values().forEach(Model::close);
        }
        if (k == 0) writeFigure(task, ds, lines);
        return results;
    }

    /** Test trajectory 0 of a rollout: first coordinate, true energy, modeled energy. */
    private static Figure.Line figureLine(Task task, String name, RolloutResult r, int T, int d) {
        double[] pos = new double[T], energy = new double[T], modeled = new double[T];
        for (int n = 0; n < T; n++) {
            pos[n] = r.q()[n * d];
            energy[n] = n < FIRST_SCORED ? Double.NaN : task.energyFromVelocity(r.q(), n * d, r.v(), n * d);
            modeled[n] = n < FIRST_SCORED ? Double.NaN : r.energy()[n];
        }
        return new Figure.Line(name, pos, energy, modeled);
    }

    private void writeFigure(Task task, Dataset ds, List<Figure.Line> lines) throws IOException {
        int T = ds.points(), d = ds.dimension();
        double[] t = new double[T], pos = new double[T], energy = new double[T];
        for (int n = 0; n < T; n++) {
            t[n] = n * ds.dt();
            pos[n] = ds.testPositions()[n * d];
            energy[n] = task.energyFromVelocity(ds.testPositions(), n * d, ds.testVelocities(), n * d);
        }
        Figure.write(out.resolve("figure-" + task.id() + ".png"), task.id(), t, pos, energy, lines);
    }
}
