package org.dtlm.train;

import java.io.IOException;
import java.nio.file.Path;

import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;

/**
 * Learns a model from positions (SPEC §4-6): every step zeroes the gradient once, evaluates the scheme's loss on a
 * batch of stencils (accumulating the exact parameter gradient) and makes one Adam update.
 *
 * <p>Batches: the full batch is every stencil of every trajectory, with DG pairs shared within a trajectory; a
 * minibatch is {@code batch} stencils drawn uniformly with replacement from all (trajectory, centre) stencils by a
 * stateless counter-based generator, so that step t's batch depends on (seed, t) alone: a run resumed from a
 * {@link Checkpoint} draws what the uninterrupted run drew. Same model, data, options and number of workers give the
 * same model bit for bit ({@link ShardedLoss}). A step allocates nothing on the Java heap.
 */
public final class Trainer implements AutoCloseable {
    /** {@link Options#batch()} value meaning "every stencil". */
    public static final int FULL_BATCH = 0;

    /**
     * @param batch           stencils per step, or {@link #FULL_BATCH}
     * @param seed            seed of the minibatch draws (the model's initialisation is the caller's)
     * @param checkpointEvery steps between checkpoints in {@link #train}, 0 for none
     */
    public record Options(Scheme scheme, int steps, int batch, double lr, double weightDecay, long seed,
                          int checkpointEvery) {
        /** Defaults of {@code dtlm train}: 2000 full-batch steps at lr 1e-3, no weight decay, seed 0, no checkpoints. */
        public static final int STEPS = 2000;

        public Options {
            if (scheme == null) throw new IllegalArgumentException("scheme: null");
            if (steps < 1) throw new IllegalArgumentException("steps = " + steps + ": must be >= 1");
            if (batch < 0) throw new IllegalArgumentException("batch = " + batch + ": must be >= 1 (or full)");
            if (checkpointEvery < 0) throw new IllegalArgumentException("checkpoint-every = " + checkpointEvery + ": must be >= 0");
            Adam.Options.defaults(lr, weightDecay); // validates lr and weight decay
        }

        public static Options defaults(Scheme scheme) {
            return new Options(scheme, STEPS, FULL_BATCH, Adam.Options.LR, 0, 0, 0);
        }

        public boolean fullBatch() {
            return batch == FULL_BATCH;
        }

        public Options withSteps(int n) {
            return new Options(scheme, n, batch, lr, weightDecay, seed, checkpointEvery);
        }

        public Options withBatch(int b) {
            return new Options(scheme, steps, b, lr, weightDecay, seed, checkpointEvery);
        }

        public Options withCheckpointEvery(int n) {
            return new Options(scheme, steps, batch, lr, weightDecay, seed, n);
        }
    }

    /** Told after every step; for progress reports. */
    @FunctionalInterface
    public interface Listener {
        void stepDone(int step, double loss);
    }

    private final Model model;
    private final TrainingData data;
    private final Options options;
    private final int workers;
    private final Adam adam;
    private final ShardedLoss loss;
    private final String initialSha256;
    private int step;
    private double lastLoss = Double.NaN;

    /** A trainer evaluating each batch on the calling thread alone. */
    public Trainer(Model model, TrainingData data, Options options) {
        this(model, data, options, 1);
    }

    /**
     * Prepares training of {@code model} (whose parameters are the starting point) on {@code data}; records dt and
     * the scheme in the model (SPEC §6: the model file says how it was trained). Checks that the data suit the
     * scheme and the model. With {@code workers} &gt; 1 every batch is split into that many shards evaluated in
     * parallel (the BLAS should then run single-threaded); the model then depends on the number of workers too.
     */
    public Trainer(Model model, TrainingData data, Options options, int workers) {
        if (data.d() != model.dimension()) {
            throw new IllegalArgumentException(data.name() + ": positions have d = " + data.d() + " coordinates, the model has d = "
                    + model.dimension());
        }
        data.requireStencils(options.scheme());
        this.model = model;
        this.data = data;
        this.options = options;
        this.workers = workers;
        this.initialSha256 = Checkpoint.sha256(model.parameters());
        this.loss = new ShardedLoss(model, data, options, workers);
        this.adam = new Adam(model.parameters().layout(), Adam.Options.defaults(options.lr(), options.weightDecay()));
        model.setTraining(data.dt(), options.scheme().id());
    }

    public Model model() {
        return model;
    }

    public TrainingData data() {
        return data;
    }

    public Options options() {
        return options;
    }

    public Adam adam() {
        return adam;
    }

    /** Steps completed so far. */
    public int completedSteps() {
        return step;
    }

    /** The loss of the last step's batch, before its update (NaN before the first step). */
    public double lastLoss() {
        return lastLoss;
    }

    /** Number of stencils in each step's batch. */
    public int batchStencils() {
        return loss.stencils();
    }

    /** Worker threads the batches are shared out to (the number of shards, as asked or fewer for a small batch). */
    public int workers() {
        return workers;
    }

    /** SHA-256 of the parameters the trainer started from (a checkpoint's fingerprint of the initial model). */
    String initialSha256() {
        return initialSha256;
    }

    /** One step: draws the batch (unless full), zeroes the gradient, evaluates loss and gradient, updates. Returns the loss. */
    public double step() {
        int t = step + 1;
        double l = loss.evaluate(t);
        adam.update(model.parameters(), loss.gradient());
        model.parametersChanged();
        step = t;
        lastLoss = l;
        return l;
    }

    /** Draws and lays out step t's minibatch (on this thread; for tests). */
    void drawBatch(int t) {
        loss.drawBatch(t);
    }

    /**
     * Runs the remaining steps up to {@link Options#steps()}, telling the listener after each, and writes a checkpoint
     * to {@code checkpoint} (if not null) every {@link Options#checkpointEvery()} steps before the last. Stops with an
     * {@link IllegalStateException} if the loss or, at the end, a parameter is not finite.
     */
    public void train(Listener listener, Path checkpoint) throws IOException {
        int every = options.checkpointEvery();
        while (step < options.steps()) {
            double l = step();
            if (!Double.isFinite(l)) {
                throw new IllegalStateException("training diverged: the loss is " + l + " at step " + step
                        + " (try a smaller learning rate)");
            }
            listener.stepDone(step, l);
            if (checkpoint != null && every > 0 && step % every == 0 && step < options.steps()) {
                Checkpoint.save(checkpoint, this);
            }
        }
        double[] theta = model.parameters().toArray();
        for (int i = 0; i < theta.length; i++) {
            if (!Double.isFinite(theta[i])) {
                throw new IllegalStateException("training diverged: parameter " + i + " is " + theta[i] + " after step " + step
                        + " (try a smaller learning rate)");
            }
        }
    }

    /** Continues from a checkpoint: model parameters, Adam moments and the step count (see {@link Checkpoint#restore}). */
    void restore(int steps, double[] parameters, double[] firstMoment, double[] secondMoment) {
        if (steps > options.steps()) {
            throw new IllegalArgumentException("checkpoint is at step " + steps + ", beyond the " + options.steps() + " steps of this run");
        }
        model.parameters().copyFrom(parameters);
        model.parametersChanged();
        adam.restore(steps, firstMoment, secondMoment);
        step = steps;
    }

    // ------------------------------------------------------------------------------------------ minibatch draws
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    /** The SplitMix64 output function (Steele, Lea, Flood 2014): a bijective 64-bit finaliser. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /**
     * The index-th stencil of step t's minibatch, uniform in [0, total): element index + 1 of a SplitMix64 sequence
     * whose start is derived from (seed, t), mapped to the range by the high word of a 64 x 64-bit product (Lemire).
     */
    static long draw(long seed, long t, int index, long total) {
        long start = mix64(mix64(seed) + t * GOLDEN_GAMMA);
        long r = mix64(start + (index + 1L) * GOLDEN_GAMMA);
        return Math.unsignedMultiplyHigh(r, total);
    }

    @Override
    public void close() {
        loss.close();
        adam.close();
    }
}
