package org.dtlm.nn;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.DoubleVector;
import org.dtlm.blas.Blas;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static org.dtlm.nn.TanhKernels.L;
import static org.dtlm.nn.TanhKernels.NO;
import static org.dtlm.nn.TanhKernels.S;
import static org.dtlm.nn.TanhKernels.vectorEnd;

/**
 * Hand-written passes of the potential network V(q) = w^T tanh(W_L ... tanh(W_1 q + b_1) ... + b_L) (SPEC §1) over
 * batches of points in native memory, GEMMs through {@link Blas}:
 * <ul>
 * <li>{@link #forward}: pre-activations and activations of every layer, and V;</li>
 * <li>{@link #gradient} and {@link #discreteGradient}: the backward chain W_1^T S_1 ... W_L^T S_L w with per-unit
 * factors S_k = sech^2(a_k) for grad V, or, by ADD (SPEC §2), the divided differences of the two points'
 * pre-activations for DG(x, y);</li>
 * <li>{@link #chainBackward} then {@link #forwardBackward}: exact parameter gradients of sum_i c_i . G_i for the last
 * chain G (grad V or DG), a "double backward" through the factors and their partial derivatives (SPEC §4);</li>
 * <li>{@link #chainTangent}: the Jacobian-vector product d DG(x, y)/dx . xdot by forward-mode differentiation (SPEC §3).</li>
 * </ul>
 * Points are rows of a (rows, d) row-major buffer; a workspace holds one forward pass, and a chain reads pairs of its
 * rows (x = row xRow + i, y = row yRow + i, i &lt; n). Backward passes accumulate into caller-owned gradients (STYLE 2).
 */
public final class Mlp {
    private final MlpShape shape;
    private final ParameterLayout layout;
    private final Blas blas;
    private final int layers;
    private final ColumnShare share;

    public Mlp(ParameterLayout layout, Blas blas) {
        this(layout, blas, ColumnShare.ALL);
    }

    /**
     * Passes that compute only {@code share}'s columns of each layer (with the other threads of the share on the same
     * workspace, {@link ColumnShare}); {@link #chainBackward} and {@link #forwardBackward} take
     * {@link ColumnShare#ALL} only.
     */
    public Mlp(ParameterLayout layout, Blas blas, ColumnShare share) {
        this.layout = layout;
        this.shape = layout.shape();
        this.blas = blas;
        this.layers = shape.layers();
        this.share = java.util.Objects.requireNonNull(share, "share");
    }

    public MlpShape shape() {
        return shape;
    }

    public ParameterLayout layout() {
        return layout;
    }

    public Blas blas() {
        return blas;
    }

    // --------------------------------------------------------------------------------------------------- forward
    /**
     * Forward pass of {@code rows} points and V at each. x: (rows, d) at element xOff, not modified; fills the
     * workspace's a_k, tanh a_k, omega(a_k) (rows, H_k) and value (rows).
     */
    public void forward(Workspace w, Parameters p, MemorySegment x, long xOff, int rows) {
        forward(w, p, x, xOff, 0, rows);
    }

    /**
     * As {@link #forward(Workspace, Parameters, MemorySegment, long, int)}, into workspace rows row0 .. row0 + rows - 1,
     * leaving the other rows as they are (e.g. a rollout keeps q^n in some rows while it iterates on q^{n+1}).
     */
    public void forward(Workspace w, Parameters p, MemorySegment x, long xOff, int row0, int rows) {
        if (!share.whole()) {
            throw new IllegalStateException("a column split runs forwardLayers on every thread, then value on one");
        }
        forwardLayers(w, p, x, xOff, row0, rows);
        value(w, p, row0, rows);
    }

    /**
     * V = tanh(a_L) w of the forward rows row0 .. row0 + rows - 1, from their last {@link #forwardLayers}, into the
     * workspace's value. Whole rows: after a pass shared by several threads, one of them, once the pass is over.
     */
    public void value(Workspace w, Parameters p, int row0, int rows) {
        checkRows(w, row0 + rows);
        int h = shape.lastWidth();
        // V = tanh(a_L) w: (rows, H_L) x (H_L)
        blas.dgemv(false, rows, h, 1.0, w.t[layers - 1], (long) row0 * h, h, p.slab(), layout.output(), 1, 0.0,
                w.value, row0, 1);
    }

    /** The layers of a forward pass (a_k, tanh a_k, omega(a_k)) of rows row0 .. row0 + rows - 1, without V. */
    public void forwardLayers(Workspace w, Parameters p, MemorySegment x, long xOff, int row0, int rows) {
        forwardLayers(w, p, x, xOff, row0, rows, null, 0);
    }

    /**
     * As {@link #forwardLayers(Workspace, Parameters, MemorySegment, long, int, int)}, and with xDot (rows, d) at
     * xdOff not null, also the forward tangents along xDot that {@link #chainTangent} computes first (the same bits),
     * each layer's two products in one {@link Blas#dgemmPair}; for a {@link #discreteGradient} with a gDot.
     */
    public void forwardLayers(Workspace w, Parameters p, MemorySegment x, long xOff, int row0, int rows,
                              MemorySegment xDot, long xdOff) {
        checkRows(w, row0 + rows);
        if (xDot != null) checkPairs(w, rows, row0 + rows);
        MemorySegment slab = p.slab();
        int d = shape.inputDim();
        for (int r0 = 0; r0 < rows; r0 += BLOCK) {
            int m = Math.min(BLOCK, rows - r0);
            MemorySegment in = x, inDot = xDot, next = w.tmpA;
            long inOff = xOff + (long) r0 * d, inDotOff = xdOff + (long) r0 * d;
            for (int k = 0; k < layers; k++) {
                int h = shape.width(k), f = shape.fanIn(k), j0 = share.from(h), n = share.to(h) - j0;
                MemorySegment ak = w.a[k];
                long bias = layout.bias(k), base = (long) (row0 + r0) * h, dotBase = (long) r0 * h;
                for (int r = 0; r < m; r++) {
                    MemorySegment.copy(slab, (bias + j0) * Double.BYTES, ak, (base + (long) r * h + j0) * Double.BYTES,
                            (long) n * Double.BYTES);
                    if (xDot != null) {
                        w.aDot[k].asSlice((dotBase + (long) r * h + j0) * Double.BYTES, (long) n * Double.BYTES).fill((byte) 0);
                    }
                }
                if (k > 0) share.await(); // every column of h_{k-1} (and of its tangent factor)
                // a_k = h_{k-1} W_k^T + b_k: (m, f) x (f, h), this share's columns; aDot_k = (its factor) W_k^T
                long wk = layout.weight(k) + (long) j0 * f;
                if (xDot == null) {
                    blas.dgemm(false, true, m, n, f, 1.0, in, inOff, f, slab, wk, f, 1.0, ak, base + j0, h);
                } else {
                    blas.dgemmPair(true, m, n, f, in, inOff, inDot, inDotOff, f, slab, wk, f, 1.0, ak, base + j0,
                            w.aDot[k], dotBase + j0, h);
                }
                if (share.whole()) {
                    TanhKernels.activate(w.t[k], w.o[k], ak, base, (long) m * h);
                } else {
                    for (int r = 0; r < m; r++) TanhKernels.activate(w.t[k], w.o[k], ak, base + (long) r * h + j0, n);
                }
                if (xDot != null && k < layers - 1) {
                    // the tangent factor sech^2(a_k) aDot_k of this share's columns, into tmpA or tmpB in turn
                    int calls = share.whole() ? 1 : m;
                    long span = share.whole() ? (long) m * h : n;
                    for (int r = 0; r < calls; r++) {
                        long e = dotBase + (long) r * h + (share.whole() ? 0 : j0);
                        sech2Times(next, w.aDot[k], w.t[k], w.o[k], base + (e - dotBase), e, span);
                    }
                    inDot = next;
                    inDotOff = dotBase;
                    next = next == w.tmpA ? w.tmpB : w.tmpA;
                }
                in = w.t[k];
                inOff = base;
            }
        }
    }

    /** Rows per block of a forward pass or a chain (system property dtlm.block, default 512): a block's buffers stay in
     *  cache (L3) from one pass to the next; larger blocks mean fewer, larger GEMM calls. */
    static final int BLOCK = Integer.getInteger("dtlm.block", 512);

    // ------------------------------------------------------------------------------------------------ the chains
    /**
     * grad V at the forward rows row0 .. row0 + n - 1 into g: (n, d) at gOff. With {@code derivatives}, also keeps
     * d sech^2(a)/da for a following {@link #chainBackward}.
     */
    public void gradient(Workspace w, Parameters p, int row0, int n, MemorySegment g, long gOff, boolean derivatives) {
        checkPairs(w, n, row0 + n);
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int m = Math.min(BLOCK, n - i0);
            for (int k = 0; k < layers; k++) {
                long h = shape.width(k);
                int j0 = share.from((int) h), cols = share.to((int) h) - j0;
                // this share's columns: the whole block at once, or row by row
                int calls = share.whole() ? 1 : m;
                long span = share.whole() ? m * h : cols;
                for (int r = 0; r < calls; r++) {
                    long e = (i0 + r) * h + j0, x = (row0 + i0 + r) * h + j0;
                    if (derivatives) {
                        TanhKernels.sech2WithDerivative(w.s[k], w.sa[k], e, w.t[k], w.o[k], x, span);
                    } else {
                        TanhKernels.sech2(w.s[k], e, w.t[k], w.o[k], x, span);
                    }
                }
            }
            chain(w, p, i0, m, g, gOff, null, 0);
        }
    }

    /**
     * DG(x_i, y_i) by ADD for the pairs x_i = forward row xRow + i, y_i = row yRow + i, i &lt; n, into g: (n, d) at
     * gOff. With {@code partials}, also keeps ds/da_x and ds/da_y for {@link #chainBackward} or {@link #chainTangent}.
     */
    public void discreteGradient(Workspace w, Parameters p, int xRow, int yRow, int n, MemorySegment g, long gOff,
                                 boolean partials) {
        discreteGradient(w, p, xRow, yRow, n, g, gOff, partials, null, 0);
    }

    /**
     * As {@link #discreteGradient(Workspace, Parameters, int, int, int, MemorySegment, long, boolean)} with partials,
     * and with gDot (n, d) at gdOff not null, also gDot = d DG(x_i, y_i)/dx_i . xDot_i for the forward tangents of the
     * last {@link #forwardLayers} with an xDot (of the x rows): what {@link #chainTangent} computes, the same bits, each
     * layer's two products in one {@link Blas#dgemmPair}.
     */
    public void discreteGradient(Workspace w, Parameters p, int xRow, int yRow, int n, MemorySegment g, long gOff,
                                 boolean partials, MemorySegment gDot, long gdOff) {
        if (gDot != null && !partials) throw new IllegalArgumentException("a tangent of DG needs its partials");
        checkPairs(w, n, Math.max(xRow, yRow) + n);
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int m = Math.min(BLOCK, n - i0);
            for (int k = 0; k < layers; k++) {
                long h = shape.width(k);
                int j0 = share.from((int) h), cols = share.to((int) h) - j0;
                int calls = share.whole() ? 1 : m;
                long span = share.whole() ? m * h : cols;
                for (int r = 0; r < calls; r++) {
                    long e = (i0 + r) * h + j0, x = (xRow + i0 + r) * h + j0, y = (yRow + i0 + r) * h + j0;
                    if (partials) {
                        TanhKernels.dividedDifferenceWithPartials(w.s[k], w.sa[k], w.sb[k], e, w.a[k], w.t[k], w.o[k],
                                x, y, span);
                    } else {
                        TanhKernels.dividedDifference(w.s[k], e, w.a[k], w.t[k], w.o[k], x, y, span);
                    }
                }
            }
            chain(w, p, i0, m, g, gOff, gDot, gdOff);
        }
    }

    /** g = W_1^T S_1 ... W_L^T S_L w per row for the chain rows i0 .. i0 + m - 1, from the factors s_k in the
     *  workspace: delta_L = w * s_L, u_k = delta_{k+1} W_{k+1}, delta_k = u_k * s_k, g = delta_1 W_1; with gDot not
     *  null, also its tangent, as {@link #chainTangent}'s second half, from the forward tangents aDot_k. */
    private void chain(Workspace w, Parameters p, int i0, int m, MemorySegment g, long gOff, MemorySegment gDot,
                       long gdOff) {
        MemorySegment slab = p.slab();
        int top = layers - 1;
        int ht = shape.width(top);
        scaleColumns(w.delta[top], w.s[top], (long) i0 * ht, slab, layout.output(), m, ht, share.from(ht), share.to(ht));
        if (gDot != null) {
            // deltaDot_L = w sDot_L, sDot_k = sa_k aDot_k
            scaleColumnsOfProduct(w.deltaDot[top], w.aDot[top], w.sa[top], (long) i0 * ht, slab, layout.output(), m, ht,
                    share.from(ht), share.to(ht));
        }
        for (int k = top - 1; k >= 0; k--) {
            int h = shape.width(k), hn = shape.width(k + 1), j0 = share.from(h), n = share.to(h) - j0;
            long base = (long) i0 * h, wk = layout.weight(k + 1) + j0;
            share.await(); // every column of delta_{k+1}
            // u_k = delta_{k+1} W_{k+1}: (m, hn) x (hn, h), this share's columns (and deltaDot_{k+1} W_{k+1} into tmpA)
            if (gDot == null) {
                blas.dgemm(false, false, m, n, hn, 1.0, w.delta[k + 1], (long) i0 * hn, hn, slab, wk, h, 0.0,
                        w.u[k], base + j0, h);
            } else {
                blas.dgemmPair(false, m, n, hn, w.delta[k + 1], (long) i0 * hn, w.deltaDot[k + 1], (long) i0 * hn, hn,
                        slab, wk, h, 0.0, w.u[k], base + j0, w.tmpA, base + j0, h);
            }
            int calls = share.whole() ? 1 : m;
            long span = share.whole() ? (long) m * h : n;
            for (int r = 0; r < calls; r++) {
                long e = base + (long) r * h + (share.whole() ? 0 : j0);
                multiply(w.delta[k], w.u[k], w.s[k], e, span);
                // deltaDot_k = (deltaDot_{k+1} W_{k+1}) s_k + u_k sDot_k
                if (gDot != null) productSum(w.deltaDot[k], w.tmpA, w.s[k], w.u[k], w.aDot[k], w.sa[k], e, span);
            }
        }
        share.await();
        if (share.leader()) {
            int d = shape.inputDim(), h0 = shape.width(0);
            // g = delta_1 W_1: (m, H_1) x (H_1, d)
            if (gDot == null) {
                blas.dgemm(false, false, m, d, h0, 1.0, w.delta[0], (long) i0 * h0, h0, slab, layout.weight(0), d, 0.0,
                        g, gOff + (long) i0 * d, d);
            } else {
                blas.dgemmPair(false, m, d, h0, w.delta[0], (long) i0 * h0, w.deltaDot[0], (long) i0 * h0, h0, slab,
                        layout.weight(0), d, 0.0, g, gOff + (long) i0 * d, gDot, gdOff + (long) i0 * d, d);
            }
        }
    }

    // -------------------------------------------------------------------------------------------- double backward
    /**
     * Parameter gradients of J = sum_i c_i . G_i for the last chain G (computed with derivatives or partials), through
     * the chain's weights and factors. c: (n, d) at cOff, not modified. Accumulates dJ/dW and dJ/dw into grad, and
     * dJ/da_k of the forward rows into the workspace (for {@link #forwardBackward}); {@code pointwise} says the chain
     * was a gradient (factor sech^2 of one row, partial in sa) rather than a discrete gradient of two rows.
     */
    public void chainBackward(Workspace w, Parameters p, Parameters grad, MemorySegment c, long cOff,
                              int xRow, int yRow, int n, boolean pointwise) {
        checkPairs(w, n, Math.max(xRow, yRow) + n);
        MemorySegment slab = p.slab(), gs = grad.slab();
        int d = shape.inputDim(), h0 = shape.width(0);
        // dW_1 += delta_1^T c: (H_1, n) x (n, d);  eps_1 = dJ/d delta_1 = c W_1^T: (n, d) x (d, H_1)
        blas.dgemm(true, false, h0, d, n, 1.0, w.delta[0], 0, h0, c, cOff, d, 1.0, gs, layout.weight(0), d);
        MemorySegment eps = w.tmpA, next = w.tmpB;
        blas.dgemm(false, true, n, h0, d, 1.0, c, cOff, d, slab, layout.weight(0), d, 0.0, eps, 0, h0);
        for (int k = 0; k < layers; k++) {
            int h = shape.width(k);
            boolean top = k == layers - 1;
            // sigma = eps * u_k is dJ/ds_k; its share through s_k(a_x, a_y) goes to the rows' pre-activations;
            // then eps becomes zeta = eps * s_k = dJ/du_k.
            factorBackward(w, k, eps, top ? null : w.u[k], slab, top ? layout.output() : 0, xRow, yRow, n, h, pointwise);
            if (top) {
                // dw += column sums of zeta: (n, H_L)^T x ones
                blas.dgemv(true, n, h, 1.0, eps, 0, h, w.ones, 0, 1, 1.0, gs, layout.output(), 1);
            } else {
                int hn = shape.width(k + 1);
                // dW_{k+1} += delta_{k+1}^T zeta: (hn, n) x (n, h);  eps_{k+1} = zeta W_{k+1}^T: (n, h) x (h, hn)
                blas.dgemm(true, false, hn, h, n, 1.0, w.delta[k + 1], 0, hn, eps, 0, h, 1.0, gs, layout.weight(k + 1), h);
                blas.dgemm(false, true, n, hn, h, 1.0, eps, 0, h, slab, layout.weight(k + 1), h, 0.0, next, 0, hn);
                MemorySegment swap = eps;
                eps = next;
                next = swap;
            }
        }
    }

    /** For layer k: aBar_k[x rows] += eps u sa, aBar_k[y rows] += eps u sb (pointwise: only the first), then
     *  eps *= s_k. u is the buffer u_k, or (u == null) the output weights broadcast over rows. eps: (n, h). */
    private static void factorBackward(Workspace w, int k, MemorySegment eps, MemorySegment u, MemorySegment slab,
                                       long outOff, int xRow, int yRow, int n, int h, boolean pointwise) {
        MemorySegment s = w.s[k], sa = w.sa[k], sb = w.sb[k], bar = w.aBar[k];
        long xBase = (long) xRow * h, yBase = (long) yRow * h;
        // u_k[i, j] at uSeg[uBase + i uStride + j]: the output weights have row stride 0 (no vector merges in the loop)
        MemorySegment uSeg = u == null ? slab : u;
        long uBase = u == null ? outOff : 0, uStride = u == null ? 0 : h;
        long end = vectorEnd(h);
        for (long i = 0; i < n; i++) {
            long row = i * h, uRow = uBase + i * uStride;
            for (long j = 0; j < end; j += L) {
                long e = (row + j) * Double.BYTES, ex = e + xBase * Double.BYTES, ey = e + yBase * Double.BYTES;
                DoubleVector ej = DoubleVector.fromMemorySegment(S, eps, e, NO);
                DoubleVector sigma = ej.mul(DoubleVector.fromMemorySegment(S, uSeg, (uRow + j) * Double.BYTES, NO));
                sigma.fma(DoubleVector.fromMemorySegment(S, sa, e, NO), DoubleVector.fromMemorySegment(S, bar, ex, NO))
                        .intoMemorySegment(bar, ex, NO);
                if (!pointwise) {
                    sigma.fma(DoubleVector.fromMemorySegment(S, sb, e, NO),
                            DoubleVector.fromMemorySegment(S, bar, ey, NO)).intoMemorySegment(bar, ey, NO);
                }
                ej.mul(DoubleVector.fromMemorySegment(S, s, e, NO)).intoMemorySegment(eps, e, NO);
            }
            for (long j = end; j < h; j++) {
                long e = row + j;
                double ej = get(eps, e);
                double sigma = ej * get(uSeg, uRow + j);
                put(bar, xBase + e, Math.fma(sigma, get(sa, e), get(bar, xBase + e)));
                if (!pointwise) put(bar, yBase + e, Math.fma(sigma, get(sb, e), get(bar, yBase + e)));
                put(eps, e, ej * get(s, e));
            }
        }
    }

    /** Zeroes the accumulated dJ/da_k of the first {@code rows} forward rows; call before a set of chainBackward calls. */
    public void zeroPreActivationGradients(Workspace w, int rows) {
        for (int k = 0; k < layers; k++) {
            w.aBar[k].asSlice(0, (long) rows * shape.width(k) * Double.BYTES).fill((byte) 0);
        }
    }

    /**
     * Back-propagates the accumulated dJ/da_k of the forward rows through the forward pass of x (rows, d) at xOff
     * (the same points the forward ran on): accumulates dJ/dW_k and dJ/db_k into grad. Destroys the accumulators.
     */
    public void forwardBackward(Workspace w, Parameters p, Parameters grad, MemorySegment x, long xOff, int rows) {
        checkRows(w, rows);
        MemorySegment slab = p.slab(), gs = grad.slab();
        for (int k = layers - 1; k >= 0; k--) {
            int h = shape.width(k), f = shape.fanIn(k);
            MemorySegment in = k == 0 ? x : w.t[k - 1];
            long inOff = k == 0 ? xOff : 0;
            // dW_k += aBar_k^T h_{k-1}: (h, rows) x (rows, f);  db_k += column sums of aBar_k
            blas.dgemm(true, false, h, f, rows, 1.0, w.aBar[k], 0, h, in, inOff, f, 1.0, gs, layout.weight(k), f);
            blas.dgemv(true, rows, h, 1.0, w.aBar[k], 0, h, w.ones, 0, 1, 1.0, gs, layout.bias(k), 1);
            if (k > 0) {
                // aBar_{k-1} += (aBar_k W_k) * sech^2(a_{k-1}): (rows, h) x (h, f)
                blas.dgemm(false, false, rows, f, h, 1.0, w.aBar[k], 0, h, slab, layout.weight(k), f, 0.0, w.tmpA, 0, f);
                TanhKernels.sech2(w.tmpB, 0, w.t[k - 1], w.o[k - 1], 0, (long) rows * f);
                multiplyAdd(w.aBar[k - 1], w.tmpA, w.tmpB, (long) rows * f);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ forward-mode JVP
    /**
     * gDot = d DG(x_i, y_i)/dx_i . xDot_i for the pairs of the last {@link #discreteGradient} (with partials).
     * xDot: (n, d) at xdOff, not modified; gDot: (n, d) at gdOff, written.
     */
    public void chainTangent(Workspace w, Parameters p, int xRow, int n, MemorySegment xDot, long xdOff,
                             MemorySegment gDot, long gdOff) {
        checkPairs(w, n, xRow + n);
        MemorySegment slab = p.slab();
        int d = shape.inputDim();
        // forward tangents: aDot_1 = xDot W_1^T, aDot_{k+1} = (sech^2(a_k) aDot_k) W_{k+1}^T; the factor of layer k
        // goes to tmpA or tmpB in turn, so that a share writes one while the others may still read the other
        MemorySegment in = xDot, next = w.tmpA;
        long inOff = xdOff;
        for (int k = 0; k < layers; k++) {
            int h = shape.width(k), f = shape.fanIn(k), j0 = share.from(h), cols = share.to(h) - j0;
            if (k > 0) share.await(); // every column of the factor of layer k - 1
            blas.dgemm(false, true, n, cols, f, 1.0, in, inOff, f, slab, layout.weight(k) + (long) j0 * f, f, 0.0,
                    w.aDot[k], j0, h);
            if (k < layers - 1) {
                if (share.whole()) {
                    sech2Times(next, w.aDot[k], w.t[k], w.o[k], (long) xRow * h, 0, (long) n * h);
                } else {
                    for (int r = 0; r < n; r++) {
                        long e = (long) r * h + j0;
                        sech2Times(next, w.aDot[k], w.t[k], w.o[k], (long) xRow * h + e, e, cols);
                    }
                }
                in = next;
                inOff = 0;
                next = next == w.tmpA ? w.tmpB : w.tmpA;
            }
        }
        // chain tangents, sDot_k = sa_k aDot_k: deltaDot_L = w sDot_L; deltaDot_k = (deltaDot_{k+1} W_{k+1}) s_k + u_k sDot_k
        int top = layers - 1, ht = shape.width(top);
        scaleColumnsOfProduct(w.deltaDot[top], w.aDot[top], w.sa[top], 0, slab, layout.output(), n, ht, share.from(ht),
                share.to(ht));
        for (int k = top - 1; k >= 0; k--) {
            int h = shape.width(k), hn = shape.width(k + 1), j0 = share.from(h), cols = share.to(h) - j0;
            share.await(); // every column of deltaDot_{k+1}, and no share still reading tmpA
            blas.dgemm(false, false, n, cols, hn, 1.0, w.deltaDot[k + 1], 0, hn, slab, layout.weight(k + 1) + j0, h,
                    0.0, w.tmpA, j0, h);
            if (share.whole()) {
                productSum(w.deltaDot[k], w.tmpA, w.s[k], w.u[k], w.aDot[k], w.sa[k], 0, (long) n * h);
            } else {
                for (int r = 0; r < n; r++) {
                    productSum(w.deltaDot[k], w.tmpA, w.s[k], w.u[k], w.aDot[k], w.sa[k], (long) r * h + j0, cols);
                }
            }
        }
        share.await();
        if (share.leader()) {
            blas.dgemm(false, false, n, d, shape.width(0), 1.0, w.deltaDot[0], 0, shape.width(0), slab,
                    layout.weight(0), d, 0.0, gDot, gdOff, d);
        }
    }

    // ---------------------------------------------------------------------------------------- element-wise helpers
    // Vector API loops with scalar tails, as TanhKernels (-Ddtlm.vector=false runs the tails only; why the loop bodies
    // call the Vector API directly: the note in TanhKernels).

    private static double get(MemorySegment m, long i) {
        return m.getAtIndex(JAVA_DOUBLE, i);
    }

    private static void put(MemorySegment m, long i, double v) {
        m.setAtIndex(JAVA_DOUBLE, i, v);
    }

    /** out[i, j] = w[j] s[i, j] for columns j0 &lt;= j &lt; j1; out, s: (n, h) row-major at element off; w: (h) at wOff
     *  of the slab. */
    private static void scaleColumns(MemorySegment out, MemorySegment s, long off, MemorySegment slab, long wOff,
                                     int n, int h, int j0, int j1) {
        long end = j0 + vectorEnd(j1 - j0);
        for (long i = 0; i < n; i++) {
            long row = off + i * h;
            for (long j = j0; j < end; j += L) {
                long b = (row + j) * Double.BYTES;
                DoubleVector.fromMemorySegment(S, slab, (wOff + j) * Double.BYTES, NO)
                        .mul(DoubleVector.fromMemorySegment(S, s, b, NO)).intoMemorySegment(out, b, NO);
            }
            for (long j = end; j < j1; j++) put(out, row + j, get(slab, wOff + j) * get(s, row + j));
        }
    }

    /** out = x * y element-wise over m elements from element off of each (out may alias x). */
    private static void multiply(MemorySegment out, MemorySegment x, MemorySegment y, long off, long m) {
        long end = vectorEnd(m);
        for (long i = 0; i < end; i += L) {
            long b = (off + i) * Double.BYTES;
            DoubleVector.fromMemorySegment(S, x, b, NO).mul(DoubleVector.fromMemorySegment(S, y, b, NO))
                    .intoMemorySegment(out, b, NO);
        }
        for (long i = off + end; i < off + m; i++) put(out, i, get(x, i) * get(y, i));
    }

    /** out += x * y element-wise over m elements. */
    private static void multiplyAdd(MemorySegment out, MemorySegment x, MemorySegment y, long m) {
        long end = vectorEnd(m);
        for (long i = 0; i < end; i += L) {
            long b = i * Double.BYTES;
            DoubleVector.fromMemorySegment(S, x, b, NO).fma(DoubleVector.fromMemorySegment(S, y, b, NO),
                    DoubleVector.fromMemorySegment(S, out, b, NO)).intoMemorySegment(out, b, NO);
        }
        for (long i = end; i < m; i++) put(out, i, Math.fma(get(x, i), get(y, i), get(out, i)));
    }

    /** out = x y + z (v a) element-wise over m elements from element off of each. */
    private static void productSum(MemorySegment out, MemorySegment x, MemorySegment y, MemorySegment z,
                                   MemorySegment v, MemorySegment a, long off, long m) {
        long end = vectorEnd(m);
        for (long i = off; i < off + end; i += L) {
            long b = i * Double.BYTES;
            DoubleVector va = DoubleVector.fromMemorySegment(S, v, b, NO).mul(DoubleVector.fromMemorySegment(S, a, b, NO));
            DoubleVector zv = DoubleVector.fromMemorySegment(S, z, b, NO).mul(va);
            DoubleVector.fromMemorySegment(S, x, b, NO).fma(DoubleVector.fromMemorySegment(S, y, b, NO), zv)
                    .intoMemorySegment(out, b, NO);
        }
        for (long i = off + end; i < off + m; i++) {
            put(out, i, Math.fma(get(x, i), get(y, i), get(z, i) * (get(v, i) * get(a, i))));
        }
    }

    /** out = x sech^2 over m elements, sech^2 from t and o at element tOff on (as {@link Tanh#sech2}); x, out from
     *  element off. */
    private static void sech2Times(MemorySegment out, MemorySegment x, MemorySegment t, MemorySegment o, long tOff,
                                   long off, long m) {
        long end = vectorEnd(m);
        for (long i = 0; i < end; i += L) {
            long b = (off + i) * Double.BYTES, bt = (tOff + i) * Double.BYTES;
            DoubleVector vo = DoubleVector.fromMemorySegment(S, o, bt, NO);
            DoubleVector sech2 = DoubleVector.fromMemorySegment(S, t, bt, NO).abs().fma(vo, vo);
            DoubleVector.fromMemorySegment(S, x, b, NO).mul(sech2).intoMemorySegment(out, b, NO);
        }
        for (long i = end; i < m; i++) put(out, off + i, get(x, off + i) * Tanh.sech2(get(t, tOff + i), get(o, tOff + i)));
    }

    /** out[i, j] = w[j] (x[i, j] a[i, j]) for columns j0 &lt;= j &lt; j1; out, x, a: (n, h) row-major from element off;
     *  w: (h) at wOff of the slab. */
    private static void scaleColumnsOfProduct(MemorySegment out, MemorySegment x, MemorySegment a, long off,
                                              MemorySegment slab, long wOff, int n, int h, int j0, int j1) {
        long end = j0 + vectorEnd(j1 - j0);
        for (long i = 0; i < n; i++) {
            long row = off + i * h;
            for (long j = j0; j < end; j += L) {
                long b = (row + j) * Double.BYTES;
                DoubleVector xa = DoubleVector.fromMemorySegment(S, x, b, NO).mul(DoubleVector.fromMemorySegment(S, a, b, NO));
                DoubleVector.fromMemorySegment(S, slab, (wOff + j) * Double.BYTES, NO).mul(xa).intoMemorySegment(out, b, NO);
            }
            for (long j = end; j < j1; j++) put(out, row + j, get(slab, wOff + j) * (get(x, row + j) * get(a, row + j)));
        }
    }

    private static void checkRows(Workspace w, int rows) {
        if (rows < 1 || rows > w.rows) {
            throw new IllegalArgumentException("rows = " + rows + " outside 1.." + w.rows + " of the workspace");
        }
    }

    private static void checkPairs(Workspace w, int n, int lastRow) {
        if (n < 1 || n > w.pairs) {
            throw new IllegalArgumentException("pairs = " + n + " outside 1.." + w.pairs + " of the workspace");
        }
        if (lastRow > w.rows) {
            throw new IllegalArgumentException("pair rows reach " + lastRow + " > " + w.rows + " workspace rows");
        }
    }
}
