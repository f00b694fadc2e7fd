package org.dtlm.rollout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.dtlm.nn.Mlp;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.Model;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The network passes of a rollout over B trajectories, split into contiguous shards of rows that run on their own
 * threads, each with its own {@link Workspace} and the row-exact products of {@link RowExactBlas}: a row's result
 * does not depend on the shard it falls in, so the split changes the speed, never the bits.
 *
 * <p>Every shard's workspace holds two regions of forward rows, 0 and 1 (q^n in one, the iterate or the next point in
 * the other, SPEC §3), and pair rows for the chains. Buffers passed in are (B, d) row-major; shard s reads and writes
 * its own rows of them.
 *
 * <p>The caller's thread runs shard 0 and hands the others to resident worker threads (daemon, one per extra shard),
 * woken without allocation; the handoff and the completion count give the happens-before edges. Not thread-safe:
 * one caller at a time.
 */
final class ShardedNetwork implements AutoCloseable {

    /** Fewest rows worth a thread of their own (bench/README.md, ## Rollouts). */
    static final int MIN_SHARD_ROWS = 32;
    /**
     * Spins (~10 µs) before a waiting thread parks: long enough to catch the next pass of a busy rollout, short enough
     * not to starve the working threads on a machine with few cores.
     */
    private static final int SPINS = 200;

    private enum Op { FORWARD, DISCRETE_GRADIENT, GRADIENT, TANGENT }

    private final Mlp mlp;
    private final Parameters params;
    private final int d;
    private final int[] first;
    private final int[] count;
    private final Workspace[] workspaces;
    private final Worker[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile Thread caller;
    private volatile Throwable failure;
    private volatile boolean shutdown;

    // The current operation, written before a dispatch (published by the volatile generation).
    private Op op;
    private int region;
    private int otherRegion;
    private MemorySegment in;
    private MemorySegment out;
    private boolean partials;

    /**
     * @param threads the most threads to use (shards hold at least {@link #MIN_SHARD_ROWS} rows, but one shard always)
     */
    ShardedNetwork(Model model, int trajectories, int threads, Arena arena) {
        this.params = model.parameters();
        this.mlp = new Mlp(params.layout(), new RowExactBlas(model.mlp().blas(), params, arena));
        this.d = model.dimension();
        int shards = Math.max(1, Math.min(threads, trajectories / MIN_SHARD_ROWS));
        first = new int[shards];
        count = new int[shards];
        workspaces = new Workspace[shards];
        for (int s = 0; s < shards; s++) {
            first[s] = (int) ((long) trajectories * s / shards);
            count[s] = (int) ((long) trajectories * (s + 1) / shards) - first[s];
            workspaces[s] = new Workspace(model.shape(), 2 * count[s], count[s]);
        }
        workers = new Worker[shards - 1];
        for (int s = 1; s < shards; s++) {
            workers[s - 1] = new Worker(s);
            Thread t = new Thread(workers[s - 1], "dtlm-rollout-shard-" + s);
            t.setDaemon(true);
            workers[s - 1].thread = t;
            t.start();
        }
    }

    int shards() {
        return workspaces.length;
    }

    /** Forward pass of x (B, d) into the forward rows of {@code region}. */
    void forward(int region, MemorySegment x) {
        dispatch(Op.FORWARD, region, 0, x, null, false);
    }

    /** g (B, d) = DG(x_b, y_b) for x in {@code xRegion}, y in {@code yRegion}; with partials for {@link #tangent}. */
    void discreteGradient(int xRegion, int yRegion, MemorySegment g, boolean partials) {
        dispatch(Op.DISCRETE_GRADIENT, xRegion, yRegion, null, g, partials);
    }

    /** g (B, d) = grad V at the points of {@code region}. */
    void gradient(int region, MemorySegment g) {
        dispatch(Op.GRADIENT, region, 0, null, g, false);
    }

    /** out (B, d) = d DG(x, y)/dx . v (B, d) for the pairs of the last discreteGradient with partials (x in xRegion). */
    void tangent(int xRegion, MemorySegment v, MemorySegment out) {
        dispatch(Op.TANGENT, xRegion, 0, v, out, false);
    }

    /** V at trajectory b's point of {@code region}, from the last forward pass there. */
    double value(int region, int b) {
        int s = shardOf(b);
        return workspaces[s].value().getAtIndex(JAVA_DOUBLE, (long) region * count[s] + b - first[s]);
    }

    private int shardOf(int b) {
        int s = workspaces.length - 1;
        while (first[s] > b) s--;
        return s;
    }

    private void dispatch(Op op, int region, int otherRegion, MemorySegment in, MemorySegment out, boolean partials) {
        this.op = op;
        this.region = region;
        this.otherRegion = otherRegion;
        this.in = in;
        this.out = out;
        this.partials = partials;
        if (workers.length == 0) {
            execute(0);
            return;
        }
        caller = Thread.currentThread();
        pending.set(workers.length);
        generation++; // publishes the operation
        for (Worker w : workers) LockSupport.unpark(w.thread);
        Throwable own = null;
        try {
            execute(0);
        } catch (RuntimeException | Error e) {
            own = e;
        }
        for (int spin = 0; pending.get() > 0; spin++) {
            if (spin < SPINS) Thread.onSpinWait();
            else LockSupport.park(this);
        }
        Throwable theirs = failure;
        failure = null;
        if (own != null) rethrow(own);
        if (theirs != null) rethrow(theirs);
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }

    /** The current operation on shard s's rows. */
    private void execute(int s) {
        Workspace w = workspaces[s];
        int rows = count[s];
        long offset = (long) first[s] * d;
        switch (op) {
            case FORWARD -> mlp.forward(w, params, in, offset, region * rows, rows);
            case DISCRETE_GRADIENT -> mlp.discreteGradient(w, params, region * rows, otherRegion * rows, rows, out, offset, partials);
            case GRADIENT -> mlp.gradient(w, params, region * rows, rows, out, offset, false);
            case TANGENT -> mlp.chainTangent(w, params, region * rows, rows, in, offset, out, offset);
        }
    }

    /** Runs its shard of every dispatched operation until shutdown. */
    private final class Worker implements Runnable {
        private final int shard;
        private Thread thread;

        Worker(int shard) {
            this.shard = shard;
        }

        @Override
        public void run() {
            int seen = 0;
            while (true) {
                for (int spin = 0; generation == seen && !shutdown; spin++) {
                    if (spin < SPINS) Thread.onSpinWait();
                    else LockSupport.park(this);
                }
                if (shutdown) return;
                seen = generation;
                try {
                    execute(shard);
                } catch (RuntimeException | Error e) {
                    failure = e;
                }
                if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
            }
        }
    }

    /** Stops the workers and releases the workspaces. */
    @Override
    public void close() {
        shutdown = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
            try {
                w.thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Workspace w : workspaces) w.close();
    }
}
