package org.dtlm.rollout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.dtlm.nn.ColumnShare;
import org.dtlm.nn.Mlp;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.Model;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The network passes of a rollout over B trajectories on several threads ("lanes"), with the row-exact products of
 * {@link RowExactBlas}. With at least {@link #MIN_SHARD_ROWS} trajectories a lane, the rows are split into contiguous
 * shards, each with its own {@link Workspace}; with fewer (one trajectory, say), every lane works on all rows in one
 * workspace and computes its share of the columns of every layer ({@link ColumnShare}), so that one trajectory's passes
 * over the weights are shared by the cores (each core streams its part of each weight matrix from its own cache).
 * Neither split changes an element's arithmetic: the bits do not depend on the lanes.
 *
 * <p>Every workspace holds two regions of forward rows, 0 and 1 (q^n in one, the iterate or the next point in the
 * other, SPEC §3), and pair rows for the chains. Buffers passed in are (B, d) row-major; shard s reads and writes its
 * own rows of them. With a column split the lanes meet at a barrier between layers, and the caller's lane alone
 * writes the outputs; when the split does not pay on the cores at hand, the caller runs whole passes alone (see
 * {@link #WINDOW}).
 *
 * <p>The caller's thread runs lane 0 and hands the others to resident worker threads (daemon, one per extra lane),
 * woken without allocation; the handoff and the completion count give the happens-before edges. Not thread-safe:
 * one caller at a time.
 */
final class ShardedNetwork implements AutoCloseable {

    /** Fewest rows worth a shard of their own (bench/README.md, ## Rollouts); fewer rows share columns instead. */
    static final int MIN_SHARD_ROWS = 32;
    /**
     * How long a thread waiting for the next operation (or for the workers) spins before it parks: longer than the
     * serial work of a step between two passes (the solver's, the observer's), so that a busy rollout's threads never
     * sleep (waking one costs tens of µs, several passes), short enough to free the cores soon when a rollout pauses.
     */
    private static final long SPIN_NANOS = 100_000;
    /** Spins between two reads of the clock while waiting, and before a barrier yields the core (~25 ns a spin). */
    private static final int SPINS = 64;
    /**
     * Column split: whether it pays depends on where the cores are. Two cores that share a cache exchange a layer's
     * columns in a fraction of a half pass; on a VM the host may place the two virtual CPUs on different dies, where
     * each exchange costs more than the split saves (bench/README.md, ### Column split), or the other core may be
     * busy. So the operations run in windows of {@code WINDOW}, and every {@code TRIAL_EVERY} windows one window of
     * each way (the split, then the caller alone) is timed, its first {@code WARM} operations left out (caches, a
     * waking worker); the faster way runs until the next trial. The bits are the same either way.
     */
    private static final int WINDOW = 256;
    private static final int WARM = 64;
    private static final int TRIAL_EVERY = 32;

    private enum Op { FORWARD, DISCRETE_GRADIENT, GRADIENT, TANGENT }

    private final Parameters params;
    private final int d;
    // per lane: its passes, workspace and rows (with a column split, every lane has the same workspace and rows)
    private final Mlp[] mlps;
    private final int[] first;
    private final int[] count;
    private final Workspace[] workspaces;
    private final Worker[] workers;
    /** The passes of every column: the caller's alone when a column split does not pay, and V. */
    private final Mlp whole;
    /** Whether V of forward region 0, 1 has been computed since its last forward pass. */
    private final boolean[] valueKnown = new boolean[2];
    private final boolean columnSplit;
    private boolean alone;       // the caller runs the passes alone (column split only)
    private int operation;       // in the current window
    private int window;          // windows since the last trial began; 0 and 1 are its two timed windows
    private long windowStart;
    private long splitNanos;     // time of the last trial's split window
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int phase;
    private volatile int generation;
    private volatile Thread caller;
    private volatile boolean callerParked;
    private volatile Throwable failure;
    private volatile boolean broken;
    private volatile boolean shutdown;

    // The current operation, written before a dispatch (published by the volatile generation).
    private Op op;
    private int region;
    private int otherRegion;
    private MemorySegment in;
    private MemorySegment out;
    private MemorySegment tangent; // the forward pass's xDot, or the discrete gradient's gDot; null for none
    private boolean partials;

    /**
     * @param threads the threads to use: shards of at least {@link #MIN_SHARD_ROWS} rows each, as many as there are
     *                threads and rows for; if that is one shard, all {@code threads} share its columns
     */
    ShardedNetwork(Model model, int trajectories, int threads, Arena arena) {
        this.params = model.parameters();
        this.d = model.dimension();
        RowExactBlas blas = new RowExactBlas(model.mlp().blas(), params, arena);
        int shards = Math.max(1, Math.min(threads, trajectories / MIN_SHARD_ROWS));
        int lanes = shards > 1 ? shards : Math.max(1, threads);
        mlps = new Mlp[lanes];
        first = new int[lanes];
        count = new int[lanes];
        workspaces = new Workspace[lanes];
        whole = new Mlp(params.layout(), blas);
        columnSplit = shards == 1 && lanes > 1;
        for (int s = 0; s < lanes; s++) {
            if (shards > 1 || lanes == 1) {
                first[s] = (int) ((long) trajectories * s / shards);
                count[s] = (int) ((long) trajectories * (s + 1) / shards) - first[s];
                workspaces[s] = new Workspace(model.shape(), 2 * count[s], count[s]);
                mlps[s] = whole;
            } else {
                count[s] = trajectories;
                workspaces[s] = s == 0 ? new Workspace(model.shape(), 2 * trajectories, trajectories) : workspaces[0];
                mlps[s] = new Mlp(params.layout(), blas, new ColumnShare(s, lanes, this::await));
            }
        }
        workers = new Worker[lanes - 1];
        for (int s = 1; s < lanes; s++) {
            workers[s - 1] = new Worker(s);
            Thread t = new Thread(workers[s - 1], "dtlm-rollout-shard-" + s);
            t.setDaemon(true);
            workers[s - 1].thread = t;
            t.start();
        }
    }

    /**
     * Forward pass of x (B, d) into the forward rows of {@code region} (V when {@link #value} asks for it); with xDot
     * (B, d) not null, also its forward tangents along xDot, for a {@link #discreteGradient} with a gDot.
     */
    void forward(int region, MemorySegment x, MemorySegment xDot) {
        valueKnown[region] = false;
        dispatch(Op.FORWARD, region, 0, x, null, xDot, false);
    }

    /**
     * g (B, d) = DG(x_b, y_b) for x in {@code xRegion}, y in {@code yRegion}; with partials for {@link #tangent}; with
     * gDot (B, d) not null (and partials), also gDot = d DG(x, y)/dx . xDot for the xDot of the last forward pass of
     * xRegion, the same bits as {@link #tangent} of xDot, in the same passes.
     */
    void discreteGradient(int xRegion, int yRegion, MemorySegment g, boolean partials, MemorySegment gDot) {
        dispatch(Op.DISCRETE_GRADIENT, xRegion, yRegion, null, g, gDot, partials);
    }

    /** g (B, d) = grad V at the points of {@code region}. */
    void gradient(int region, MemorySegment g) {
        dispatch(Op.GRADIENT, region, 0, null, g, null, false);
    }

    /** out (B, d) = d DG(x, y)/dx . v (B, d) for the pairs of the last discreteGradient with partials (x in xRegion). */
    void tangent(int xRegion, MemorySegment v, MemorySegment out) {
        dispatch(Op.TANGENT, xRegion, 0, v, out, null, false);
    }

    /**
     * V at trajectory b's point of {@code region}, from the last forward pass there: computed on the caller's thread
     * for all the region's points at the first call after the pass (a step needs V at its converged point only, not at
     * every Newton iterate).
     */
    double value(int region, int b) {
        if (!valueKnown[region]) {
            for (int s = 0; s < workspaces.length; s++) {
                if (s > 0 && workspaces[s] == workspaces[0]) break; // a column split: one workspace
                whole.value(workspaces[s], params, region * count[s], count[s]);
            }
            valueKnown[region] = true;
        }
        int s = shardOf(b);
        return workspaces[s].value().getAtIndex(JAVA_DOUBLE, (long) region * count[s] + b - first[s]);
    }

    private int shardOf(int b) {
        int s = workspaces.length - 1;
        while (first[s] > b) s--;
        return s;
    }

    private void dispatch(Op op, int region, int otherRegion, MemorySegment in, MemorySegment out, MemorySegment tangent,
                          boolean partials) {
        this.op = op;
        this.region = region;
        this.otherRegion = otherRegion;
        this.in = in;
        this.out = out;
        this.tangent = tangent;
        this.partials = partials;
        if (workers.length == 0) {
            execute(0);
            return;
        }
        if (columnSplit) countOperation();
        if (alone) {
            execute(whole, 0); // every column on this thread, the same bits; the workers idle
            return;
        }
        broken = false;
        arrived.set(0);
        caller = Thread.currentThread();
        pending.set(workers.length);
        generation++; // publishes the operation
        for (Worker w : workers) {
            if (w.parked) LockSupport.unpark(w.thread);
        }
        Throwable own = null;
        try {
            execute(0);
        } catch (RuntimeException | Error e) {
            own = e;
            broken = true;
        }
        long start = System.nanoTime();
        for (int spin = 1; pending.get() > 0; spin++) {
            if (spin % SPINS != 0 || System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
                continue;
            }
            callerParked = true; // then a worker that finishes reads it (or this thread reads pending = 0)
            if (pending.get() > 0) LockSupport.park(this);
            callerParked = false;
        }
        Throwable theirs = failure;
        failure = null;
        // the first failure, not a lane's report that another lane failed
        if (own != null && !(own instanceof BrokenPass)) rethrow(own);
        if (theirs != null) rethrow(theirs);
        if (own != null) rethrow(own);
    }

    /**
     * Column split: counts an operation about to run, and at window boundaries runs the trials (see {@link #WINDOW}):
     * window 0 of a trial runs split, window 1 alone, and the faster way runs the windows after them.
     */
    private void countOperation() {
        if (operation == WARM && window < 2) {
            windowStart = System.nanoTime();
        }
        if (++operation <= WINDOW) return;
        operation = 1;
        long now = System.nanoTime();
        if (window == 0) {
            splitNanos = now - windowStart;
        } else if (window == 1) {
            alone = now - windowStart < splitNanos;
        }
        window = (window + 1) % TRIAL_EVERY;
        if (window < 2) alone = window == 1;
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }

    /**
     * Returns once every lane of the current operation has called it (the barrier between the layers of a column
     * split); throws if another lane failed meanwhile. Spinning, then yielding: the waits are a fraction of a pass.
     */
    private void await() {
        int p = phase;
        if (arrived.incrementAndGet() == workspaces.length) {
            arrived.set(0);
            phase = p + 1;
            return;
        }
        for (int spin = 0; phase == p; spin++) {
            if (broken) throw new BrokenPass();
            if (spin < SPINS) Thread.onSpinWait();
            else Thread.yield();
        }
    }

    /** The current operation on lane s's rows (and columns). */
    private void execute(int s) {
        execute(mlps[s], s);
    }

    private void execute(Mlp mlp, int s) {
        Workspace w = workspaces[s];
        int rows = count[s];
        long offset = (long) first[s] * d;
        switch (op) {
            case FORWARD -> mlp.forwardLayers(w, params, in, offset, region * rows, rows, tangent, offset);
            case DISCRETE_GRADIENT -> mlp.discreteGradient(w, params, region * rows, otherRegion * rows, rows, out, offset,
                    partials, tangent, offset);
            case GRADIENT -> mlp.gradient(w, params, region * rows, rows, out, offset, false);
            case TANGENT -> mlp.chainTangent(w, params, region * rows, rows, in, offset, out, offset);
        }
    }

    /** Thrown at a barrier when another lane of the pass has failed (the caller rethrows that lane's failure). */
    private static final class BrokenPass extends IllegalStateException {
        BrokenPass() {
            super("another thread of the network pass failed");
        }
    }

    /** Runs its lane of every dispatched operation until shutdown. */
    private final class Worker implements Runnable {
        private final int lane;
        private Thread thread;
        private volatile boolean parked;

        Worker(int lane) {
            this.lane = lane;
        }

        @Override
        public void run() {
            int seen = 0;
            while (true) {
                long start = System.nanoTime();
                for (int spin = 1; generation == seen && !shutdown; spin++) {
                    if (spin % SPINS != 0 || System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                        continue;
                    }
                    parked = true; // then the caller reads it after a dispatch (or this thread sees the generation)
                    if (generation == seen && !shutdown) LockSupport.park(this);
                    parked = false;
                }
                if (shutdown) return;
                seen = generation;
                try {
                    execute(lane);
                } catch (RuntimeException | Error e) {
                    if (!(e instanceof BrokenPass)) failure = e;
                    broken = true;
                }
                if (pending.decrementAndGet() == 0 && callerParked) LockSupport.unpark(caller);
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
        workspaces[0].close();
        for (int s = 1; s < workspaces.length; s++) {
            if (workspaces[s] != workspaces[0]) workspaces[s].close();
        }
    }
}
