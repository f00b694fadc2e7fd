package org.dtlm.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.dtlm.nn.Mlp;
import org.dtlm.nn.Parameters;
import org.dtlm.nn.Workspace;
import org.dtlm.potential.MassMatrix;
import org.dtlm.potential.Model;
import org.dtlm.scheme.Scheme;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The training losses of SPEC §4-5 in acceleration form, with exact gradients with respect to every parameter:
 * <ul>
 * <li>proposed: mean over stencils and coordinates of (a^n + 1/2 M^{-1} [DG(q^{n+1}, q^n) + DG(q^n, q^{n-1})])^2;</li>
 * <li>leapfrog: mean (a^n + M^{-1} grad V(q^n))^2;</li>
 * <li>euler, symplectic-euler: mean ((vhat^{n+1} - vhat^n)/dt + M^{-1} grad V(q^n))^2.</li>
 * </ul>
 * The residual's cotangent flows back through M^{-1} (to the mass parameters) and through DG or grad V to the network
 * by {@link Mlp#chainBackward} and {@link Mlp#forwardBackward} (the double backward). Preallocated for a batch
 * capacity; one instance per thread.
 */
final class Loss implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Model model;
    private final Scheme scheme;
    private final int d;
    private final Workspace workspace;
    private final MemorySegment g;     // (rows, d): DG of the batch's pairs, or grad V at its rows
    private final MemorySegment cot;   // (rows, d): dL/dG
    private final double[] f, res, dMinv;

    Loss(Model model, Scheme scheme, Batch batch) {
        this.model = model;
        this.scheme = scheme;
        this.d = model.dimension();
        int rows = batch.maxRows();
        this.workspace = new Workspace(model.shape(), rows, rows);
        this.g = arena.allocate(JAVA_DOUBLE, (long) rows * d);
        this.cot = arena.allocate(JAVA_DOUBLE, (long) rows * d);
        this.f = new double[d];
        this.res = new double[d];
        this.dMinv = new double[d * d];
    }

    /** The loss of the batch; adds its gradient with respect to every parameter into grad. */
    double evaluate(Batch b, Parameters grad) {
        return evaluate(b, grad, b.stencils);
    }

    /**
     * The batch's share of the loss of a larger batch of {@code total} stencils split into parts (the mean's terms
     * divided by total); adds its gradient with respect to every parameter into grad. Summing the shares and the
     * gradients of the parts gives the loss and gradient of the whole.
     */
    double evaluate(Batch b, Parameters grad, int total) {
        Mlp mlp = model.mlp();
        Parameters p = model.parameters();
        MassMatrix mass = model.mass();
        boolean proposed = scheme == Scheme.PROPOSED;
        int rows = b.rows, n = b.stencils;
        mlp.forward(workspace, p, b.points, 0, rows);
        int chainRows = proposed ? b.pairs : rows;
        if (proposed) {
            mlp.discreteGradient(workspace, p, b.pairX, b.pairY, chainRows, g, 0, true); // g[i] = DG(row pairX + i, row pairY + i)
        } else {
            mlp.gradient(workspace, p, 0, rows, g, 0, true);
        }
        cot.asSlice(0, (long) chainRows * d * Double.BYTES).fill((byte) 0);
        Arrays.fill(dMinv, 0);
        double sum = 0, scale = 2.0 / ((double) total * d);
        for (int s = 0; s < n; s++) {
            int up = b.upper[s], lo = b.lower[s];
            // the force term f = 1/2 [DG(q^{n+1}, q^n) + DG(q^n, q^{n-1})] or grad V(q^n); r = a + M^{-1} f
            for (int i = 0; i < d; i++) f[i] = force(up, lo, i, proposed);
            for (int i = 0; i < d; i++) {
                double ri = b.accel.getAtIndex(JAVA_DOUBLE, (long) s * d + i);
                for (int j = 0; j < d; j++) ri += mass.inverse(i, j) * f[j];
                res[i] = ri;
                sum += ri * ri;
            }
            // R = dL/dr = 2 r/(n d); dL/dM^{-1} += R f^T; dL/df = M^{-T} R
            for (int i = 0; i < d; i++) {
                double Ri = scale * res[i];
                for (int j = 0; j < d; j++) dMinv[i * d + j] += Ri * f[j];
            }
            for (int j = 0; j < d; j++) {
                double df = 0;
                for (int i = 0; i < d; i++) df += mass.inverse(i, j) * scale * res[i];
                if (proposed) {
                    addCot(up, j, 0.5 * df);
                    addCot(lo, j, 0.5 * df);
                } else {
                    addCot(up, j, df);
                }
            }
        }
        mlp.zeroPreActivationGradients(workspace, rows);
        if (proposed) {
            mlp.chainBackward(workspace, p, grad, cot, 0, b.pairX, b.pairY, chainRows, false);
        } else {
            mlp.chainBackward(workspace, p, grad, cot, 0, 0, 0, chainRows, true);
        }
        mlp.forwardBackward(workspace, p, grad, b.points, 0, rows);
        mass.backward(p, grad, dMinv);
        return sum / ((double) total * d);
    }

    private double force(int up, int lo, int i, boolean proposed) {
        double at = g.getAtIndex(JAVA_DOUBLE, (long) up * d + i);
        return proposed ? 0.5 * (at + g.getAtIndex(JAVA_DOUBLE, (long) lo * d + i)) : at;
    }

    private void addCot(int row, int j, double v) {
        long at = (long) row * d + j;
        cot.setAtIndex(JAVA_DOUBLE, at, cot.getAtIndex(JAVA_DOUBLE, at) + v);
    }

    @Override
    public void close() {
        workspace.close();
        arena.close();
    }
}
