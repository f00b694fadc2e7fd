package org.dtlm.cli;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import org.dtlm.blas.Blas;
import org.dtlm.io.Csv;
import org.dtlm.io.NdArray;
import org.dtlm.io.Npy;
import org.dtlm.nn.MlpShape;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.potential.ModelFile;
import org.dtlm.scheme.Scheme;
import org.dtlm.train.Checkpoint;
import org.dtlm.train.Trainer;
import org.dtlm.train.TrainingData;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dtlm train}: learn a model from positions (SPEC §4-6) and write it as a model file. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Learn V(q) (and M when --mass is diagonal or full) from observed positions by minimising the scheme's loss "
                + "in acceleration form (SPEC §4-5) with Adam, and write the model file OUT.",
            "",
            "DATA is a float64 .npy of shape (trajectories, points, d), sampled every --dt; or a .csv of positions with "
                + "the header trajectory,time,q0,q1,... (one row per sample), whose uniform time step is the default --dt.",
            "",
            "--threads N splits every batch into N shards evaluated on N threads (the BLAS runs single-threaded); the "
                + "model is reproducible bit for bit for the same N.",
            "",
            "With --checkpoint-every N the state (model, Adam moments, step) is saved every N steps to OUT.ckpt.npz "
                + "(OUT without .npz). --resume continues from it and reaches the same model bit for bit as an "
                + "uninterrupted run; it refuses a checkpoint made from other data or options. The checkpoint is deleted "
                + "once OUT is written.",
            ""})
final class TrainCommand implements Callable<Integer> {
    /** Seconds between progress lines when stderr is not a terminal. */
    private static final long LOG_INTERVAL_NANOS = 5_000_000_000L;
    /** Refresh interval of the loss shown on the progress bar. */
    private static final long BAR_MESSAGE_INTERVAL_NANOS = 200_000_000L;
    private static final String DEFAULT_HIDDEN = "200,200";

    @Option(names = "--data", required = true, paramLabel = "DATA", description = "positions: .npy (trajectories, points, d) or .csv")
    Path data;

    @Option(names = "--dt", paramLabel = "DT", description = "sampling step (required for .npy; default for .csv: its time step)")
    Double dt;

    @Option(names = "--scheme", required = true, paramLabel = "S", description = "proposed, leapfrog, euler or symplectic-euler")
    String scheme;

    @Option(names = "--mass", paramLabel = "M", description = "identity (default), diagonal or full; with --init: re-parameterise its mass")
    String mass;

    @Option(names = "--hidden", paramLabel = "H1,H2,..", description = "hidden widths of a fresh model (default " + DEFAULT_HIDDEN + ")")
    String hidden;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "2000", description = "Adam steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--batch", paramLabel = "B|full", defaultValue = "full",
            description = "stencils per step, drawn with replacement, or full: all of them (default ${DEFAULT-VALUE})")
    String batch;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "1e-3", description = "learning rate (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--weight-decay", paramLabel = "W", defaultValue = "0", description = "L2 weight decay (default ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = "--seed", paramLabel = "K", defaultValue = "0", description = "seed of the initial weights and the minibatches (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--init", paramLabel = "MODEL.npz", description = "start from this model file instead of fresh weights")
    Path init;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "0", description = "save a checkpoint every N steps (default: never)")
    int checkpointEvery;

    @Option(names = "--resume", description = "continue from OUT.ckpt.npz")
    boolean resume;

    @Option(names = "--out", required = true, paramLabel = "OUT.npz", description = "the model file to write")
    Path out;

    @Mixin
    BlasThreads threads;

    @Override
    public Integer call() throws IOException {
        if (steps < 1) throw new IllegalArgumentException("--steps " + steps + ": must be >= 1");
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("--lr " + lr + ": must be > 0 and finite");
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("--weight-decay " + weightDecay + ": must be >= 0 and finite");
        }
        if (checkpointEvery < 0) throw new IllegalArgumentException("--checkpoint-every " + checkpointEvery + ": must be >= 0");
        Scheme s = parseScheme();
        MassMatrix.Kind kind = parseMass();
        int batchSize = parseBatch();
        checkOutput();
        TrainingData positions = readData();
        Trainer.Options options = new Trainer.Options(s, steps, batchSize, lr, weightDecay, seed, checkpointEvery);
        Blas blas = threads.apply();
        // N threads: each batch in N shards on N Java threads, OpenBLAS single-threaded (its own threads would
        // leave the element-wise work serial and contend with the shards)
        int workers = threads.threads;
        blas.setNumThreads(1);
        Path checkpoint = Checkpoint.pathFor(out);
        try (Model model = model(positions.d(), kind, blas); Trainer trainer = new Trainer(model, positions, options, workers)) {
            if (resume) {
                Checkpoint.restore(checkpoint, trainer);
                System.err.println("dtlm train: resuming from " + checkpoint + " at step " + trainer.completedSteps());
            } else if (Files.exists(checkpoint)) {
                System.err.println("dtlm train: " + checkpoint + " exists and will be replaced (use --resume to continue from it)");
            }
            System.err.printf(Locale.ROOT, "dtlm train: %s, %s, d = %d, %d trajectories x %d points, %s stencils per step, %d steps,"
                            + " %d worker thread(s) (BLAS single-threaded)%n",
                    s.id(), model.shape(), positions.d(), positions.trajectories(), positions.points(),
                    options.fullBatch() ? "all " + trainer.batchStencils() : Integer.toString(batchSize), steps, workers);
            Console console = System.console();
            if (console != null && console.isTerminal()) {
                trainWithBar(trainer, checkpoint);
            } else {
                trainWithLog(trainer, checkpoint);
            }
            ModelFile.save(out, model);
            Files.deleteIfExists(checkpoint);
            System.out.printf(Locale.ROOT, "final loss %.6e (step %d, %s)%n", trainer.lastLoss(), trainer.completedSteps(),
                    options.fullBatch() ? "full batch of " + trainer.batchStencils() + " stencils" : "batch of " + batchSize + " stencils");
            System.out.println("wrote " + out);
        }
        return 0;
    }

    private void trainWithBar(Trainer trainer, Path checkpoint) throws IOException {
        PrintStream err = System.err;
        try (ProgressBar bar = ProgressBar.builder().setTaskName("train").setInitialMax(steps)
                .startsFrom(trainer.completedSteps(), Duration.ZERO).setConsumer(new ConsoleProgressBarConsumer(err))
                .setUnit(" steps", 1).showSpeed().build()) {
            long[] lastMessage = {0};
            trainer.train((step, loss) -> {
                bar.stepTo(step);
                long now = System.nanoTime();
                if (now - lastMessage[0] >= BAR_MESSAGE_INTERVAL_NANOS || step == steps) {
                    bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4e", loss));
                    lastMessage[0] = now;
                }
            }, checkpointEvery > 0 ? checkpoint : null);
        }
    }

    private void trainWithLog(Trainer trainer, Path checkpoint) throws IOException {
        long start = System.nanoTime();
        int first = trainer.completedSteps();
        long[] lastLine = {start};
        trainer.train((step, loss) -> {
            long now = System.nanoTime();
            if (now - lastLine[0] >= LOG_INTERVAL_NANOS || step == steps) {
                double rate = (step - first) / ((now - start) * 1e-9);
                System.err.printf(Locale.ROOT, "dtlm train: step %d/%d  loss %.6e  %.1f steps/s%n", step, steps, loss, rate);
                lastLine[0] = now;
            }
        }, checkpointEvery > 0 ? checkpoint : null);
    }

    // ------------------------------------------------------------------------------------------------- parsing
    private Scheme parseScheme() {
        try {
            return Scheme.parse(scheme);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--scheme: " + e.getMessage());
        }
    }

    private MassMatrix.Kind parseMass() {
        if (mass == null) return null;
        MassMatrix.Kind kind;
        try {
            kind = MassMatrix.Kind.parse(mass);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--mass: " + e.getMessage());
        }
        if (kind == MassMatrix.Kind.FIXED) {
            throw new IllegalArgumentException("--mass fixed: expected identity, diagonal or full (a fixed mass comes only from an --init file)");
        }
        return kind;
    }

    private int parseBatch() {
        if (batch.equals("full")) return Trainer.FULL_BATCH;
        try {
            int b = Integer.parseInt(batch);
            if (b >= 1) return b;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--batch " + batch + ": expected a number of stencils >= 1, or full");
    }

    private static int[] parseHidden(String text) {
        try {
            int[] widths = Arrays.stream(text.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
            if (widths.length >= 1 && Arrays.stream(widths).allMatch(w -> w >= 1)) return widths;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--hidden " + text + ": expected widths >= 1 separated by commas, e.g. " + DEFAULT_HIDDEN);
    }

    private void checkOutput() {
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException("--out " + out + ": directory " + dir + " does not exist");
        if (Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + ": is a directory");
    }

    private TrainingData readData() throws IOException {
        if (!Files.isRegularFile(data)) throw new IllegalArgumentException("--data " + data + ": no such file");
        String name = data.getFileName().toString();
        NdArray q;
        double step;
        if (name.toLowerCase(Locale.ROOT).endsWith(".csv")) {
            Csv.Positions csv = Csv.readPositions(data);
            q = csv.positions();
            step = dt != null ? dt : csv.dt();
        } else {
            q = Npy.read(data);
            if (q.dtype() != NdArray.Dtype.FLOAT64) throw new IllegalArgumentException(name + ": positions must be float64, got " + q);
            if (dt == null) throw new IllegalArgumentException("--dt is required with .npy data (" + name + ")");
            step = dt;
        }
        if (!(step > 0) || !Double.isFinite(step)) {
            throw new IllegalArgumentException((dt != null ? "--dt " : name + ": time step ") + step + ": must be > 0 and finite");
        }
        return TrainingData.of(q, step, name);
    }

    private Model model(int d, MassMatrix.Kind kind, Blas blas) throws IOException {
        if (init == null) {
            int[] widths = parseHidden(hidden == null ? DEFAULT_HIDDEN : hidden);
            return Model.create(new MlpShape(d, widths), kind == null ? MassMatrix.Kind.IDENTITY : kind, seed, blas);
        }
        if (!Files.isRegularFile(init)) throw new IllegalArgumentException("--init " + init + ": no such file");
        Model model = ModelFile.load(init, kind, blas);
        try {
            if (model.dimension() != d) {
                throw new IllegalArgumentException("--init " + init + ": the model has d = " + model.dimension() + ", "
                        + data.getFileName() + " has d = " + d);
            }
            if (hidden != null && !Arrays.equals(parseHidden(hidden), model.shape().widths())) {
                throw new IllegalArgumentException("--hidden " + hidden + " disagrees with --init " + init + ", whose widths are "
                        + Arrays.toString(model.shape().widths()));
            }
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }
}
