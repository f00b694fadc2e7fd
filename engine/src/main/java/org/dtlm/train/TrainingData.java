package org.dtlm.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import org.dtlm.io.ArrayChecks;
import org.dtlm.io.NdArray;
import org.dtlm.scheme.Scheme;

/**
 * Observed positions to learn from (SPEC §6: the learner sees positions only): {@code positions} (trajectories, points,
 * d) C order, sampled every {@code dt}. Validated on construction: finite values (the first bad value is named by
 * trajectory, point and coordinate), dt &gt; 0 and finite, at least one trajectory of one coordinate. Not copied: the
 * caller must not modify the array afterwards.
 *
 * @param name the data's name in error messages, e.g. the file name
 */
public record TrainingData(double[] positions, int trajectories, int points, int d, double dt, String name) {

    public TrainingData {
        if (trajectories < 1 || points < 1 || d < 1) {
            throw new IllegalArgumentException(name + ": shape (" + trajectories + ", " + points + ", " + d
                    + ") needs at least one trajectory, point and coordinate");
        }
        if ((long) trajectories * points * d != positions.length) {
            throw new IllegalArgumentException(name + ": " + positions.length + " values for shape (" + trajectories + ", "
                    + points + ", " + d + ")");
        }
        if (!(dt > 0) || !Double.isFinite(dt)) throw new IllegalArgumentException("dt = " + dt + ": must be > 0 and finite");
        ArrayChecks.requireFinite(NdArray.of(positions, trajectories, points, d), name);
    }

    /** From a (trajectories, points, d) array as read from a .npy file. */
    public static TrainingData of(NdArray positions, double dt, String name) {
        if (positions.rank() != 3) {
            throw new IllegalArgumentException(name + ": positions must have shape (trajectories, points, d), got "
                    + positions.shapeString());
        }
        return new TrainingData(positions.data(), positions.dim(0), positions.dim(1), positions.dim(2), dt, name);
    }

    /** Fails unless every trajectory holds at least one training stencil of the scheme (SPEC §4-5). */
    public void requireStencils(Scheme scheme) {
        if (scheme.stencils(points) < 1) {
            throw new IllegalArgumentException(name + ": " + points + " points per trajectory; scheme " + scheme.id()
                    + " needs at least " + (scheme.reach() + 2) + " (q^{n-1} .. q^{n+" + scheme.reach() + "})");
        }
    }

    /** Number of (trajectory, centre) stencils of the scheme. */
    public long stencils(Scheme scheme) {
        return (long) trajectories * scheme.stencils(points);
    }

    /** SHA-256 of the shape, dt and every value's bits: what a checkpoint records to recognise its data. */
    public String sha256() {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
        ByteBuffer head = ByteBuffer.allocate(3 * Integer.BYTES + Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        head.putInt(trajectories).putInt(points).putInt(d).putDouble(dt);
        md.update(head.array());
        ByteBuffer chunk = ByteBuffer.allocate(8192 * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < positions.length; ) {
            chunk.clear();
            for (int k = 0; k < 8192 && i < positions.length; k++) chunk.putDouble(positions[i++]);
            md.update(chunk.array(), 0, chunk.position());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
