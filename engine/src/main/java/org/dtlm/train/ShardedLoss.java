package org.dtlm.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

import org.dtlm.nn.Parameters;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Loss and gradient of a training step's batch (SPEC §4-5), with the batch split into shards evaluated in parallel,
 * one per worker thread: the full batch by contiguous ranges of trajectories, a minibatch by contiguous ranges of
 * its draws. Each shard has its own batch, workspace and gradient; the shards' losses and gradients are summed in
 * shard order, so the result depends on the number of shards, never on timing. One shard runs on the calling thread;
 * workers wait on volatile counters and park, so a step allocates nothing.
 *
 * <p>Minibatch draws: {@code batch} stencils uniformly with replacement from all (trajectory, centre) stencils by a
 * stateless counter-based generator ({@link Trainer#draw}), so that step t's batch depends on (seed, t) alone.
 */
final class ShardedLoss implements AutoCloseable {
    /** Busy-wait iterations before parking while waiting for a step or for the workers. */
    private static final int SPINS = 2000;

    private final Arena arena = Arena.ofShared();
    private final TrainingData data;
    private final Trainer.Options options;
    private final int perTrajectory, total;
    private final long allStencils;
    private final int[] drawTrajectory, drawCentre;   // (total): the stencils of the batch
    private final Shard[] shards;
    private final Thread[] workers;                  // workers[k] runs shards[k], k >= 1; shard 0 runs on the caller
    private volatile int token;                      // the step the workers are asked to evaluate
    private volatile boolean closing;
    private volatile Thread caller;

    /** One part of the batch: stencils from .. from + count - 1 of the draws. */
    private final class Shard implements Runnable {
        final int from, count;
        final Batch batch;
        final Loss loss;
        final Parameters grad;
        double value;
        Throwable error;
        volatile int done;

        Shard(Model model, Scheme scheme, int from, int count, int maxRows, Batch.Layout layout) {
            this.from = from;
            this.count = count;
            this.batch = new Batch(scheme, data.d(), count, maxRows, layout);
            this.loss = new Loss(model, scheme, batch);
            this.grad = Parameters.allocate(model.parameters().layout(), arena);
        }

        void evaluate() {
            if (!options.fullBatch()) fill();
            grad.zero();
            value = loss.evaluate(batch, grad, total);
        }

        void fill() {
            batch.fill(data.positions(), data.points(), data.dt(), drawTrajectory, drawCentre, from, count);
        }

        /** Worker loop: evaluate every step asked for, until closed. */
        @Override
        public void run() {
            int seen = 0;
            while (true) {
                int t = awaitChange(seen);
                if (t == seen) return; // closing
                seen = t;
                try {
                    evaluate();
                } catch (Throwable e) {
                    error = e;
                }
                done = t;
                LockSupport.unpark(caller);
            }
        }

        private int awaitChange(int seen) {
            for (int spin = 0; ; spin++) {
                int t = token;
                if (t != seen || closing) return t;
                if (spin < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }
    }

    ShardedLoss(Model model, TrainingData data, Trainer.Options options, int threads) {
        if (threads < 1) throw new IllegalArgumentException("workers = " + threads + ": must be >= 1");
        this.data = data;
        this.options = options;
        Scheme scheme = options.scheme();
        this.perTrajectory = scheme.stencils(data.points());
        this.allStencils = data.stencils(scheme);
        if (options.fullBatch()) {
            if (allStencils > Integer.MAX_VALUE / 3) {
                throw new IllegalArgumentException(data.name() + ": " + allStencils + " stencils are too many for one full batch; use --batch");
            }
            total = (int) allStencils;
        } else {
            total = options.batch();
        }
        drawTrajectory = new int[total];
        drawCentre = new int[total];
        if (options.fullBatch()) {
            for (int i = 0; i < total; i++) {
                drawTrajectory[i] = i / perTrajectory;
                drawCentre[i] = 1 + i % perTrajectory;
            }
        }
        // full batch: whole trajectories per shard, so that pairs stay shared; minibatch: ranges of draws
        int parts = options.fullBatch() ? Math.min(threads, data.trajectories()) : Math.min(threads, total);
        shards = new Shard[parts];
        for (int k = 0; k < parts; k++) {
            if (options.fullBatch()) {
                int t0 = (int) ((long) k * data.trajectories() / parts), t1 = (int) ((long) (k + 1) * data.trajectories() / parts);
                shards[k] = new Shard(model, scheme, t0 * perTrajectory, (t1 - t0) * perTrajectory,
                        Batch.fullRows(scheme, t1 - t0, data.points()), Batch.Layout.RUNS);
                shards[k].fill();
            } else {
                int from = (int) ((long) k * total / parts), to = (int) ((long) (k + 1) * total / parts);
                int count = to - from;
                shards[k] = new Shard(model, scheme, from, count, scheme == Scheme.PROPOSED ? 3 * count : count, Batch.Layout.CHEAPER);
            }
        }
        workers = new Thread[parts];
        for (int k = 1; k < parts; k++) {
            workers[k] = new Thread(shards[k], "dtlm-train-shard-" + k);
            workers[k].setDaemon(true);
            workers[k].start();
        }
    }

    int shards() {
        return shards.length;
    }

    /** Stencils in every step's batch. */
    int stencils() {
        return total;
    }

    /** The summed gradient of the last {@link #evaluate}. */
    Parameters gradient() {
        return shards[0].grad;
    }

    /** Draws step t's minibatch (for a full batch: nothing) and lays it out in every shard, on this thread. */
    void drawBatch(int t) {
        if (options.fullBatch()) return;
        draw(t);
        for (Shard s : shards) s.fill();
    }

    private void draw(int t) {
        for (int i = 0; i < total; i++) {
            long s = Trainer.draw(options.seed(), t, i, allStencils);
            drawTrajectory[i] = (int) (s / perTrajectory);
            drawCentre[i] = 1 + (int) (s % perTrajectory);
        }
    }

    /** Loss of step t's batch; its gradient is then {@link #gradient()}. */
    double evaluate(int t) {
        if (!options.fullBatch()) draw(t);
        if (shards.length == 1) {
            shards[0].evaluate();
            return shards[0].value;
        }
        caller = Thread.currentThread();
        token = t;
        for (int k = 1; k < shards.length; k++) LockSupport.unpark(workers[k]);
        shards[0].evaluate();
        double loss = shards[0].value;
        MemorySegment sum = shards[0].grad.slab();
        long n = shards[0].grad.layout().size();
        for (int k = 1; k < shards.length; k++) {
            Shard s = shards[k];
            for (int spin = 0; s.done != t; spin++) {
                if (spin < SPINS) Thread.onSpinWait(); else LockSupport.park(this);
            }
            if (s.error != null) {
                if (s.error instanceof RuntimeException e) throw e;
                if (s.error instanceof Error e) throw e;
                throw new IllegalStateException(s.error);
            }
            loss += s.value;
            MemorySegment g = s.grad.slab();
            for (long i = 0; i < n; i++) sum.setAtIndex(JAVA_DOUBLE, i, sum.getAtIndex(JAVA_DOUBLE, i) + g.getAtIndex(JAVA_DOUBLE, i));
        }
        return loss;
    }

    /** Stops the workers (after the step they may be in) and frees the shards. */
    @Override
    public void close() {
        closing = true;
        boolean interrupted = false;
        for (int k = 1; k < workers.length; k++) {
            while (workers[k].isAlive()) {
                LockSupport.unpark(workers[k]);
                try {
                    workers[k].join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        for (Shard s : shards) {
            s.loss.close();
            s.batch.close();
        }
        arena.close();
    }
}
