package org.dtlm.io;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An n-dimensional array as stored in a {@code .npy} file: values in C (row-major) order and a shape.
 * Values are held as {@code double} whatever the element type; {@link Dtype} only says how the array is
 * stored on disk ({@code UINT8} is the 1-D byte array that carries a model file's JSON {@code meta}).
 *
 * <p>Immutable except for {@link #data()}, which is the backing array itself (no copy): callers must not
 * modify it after handing it over. The shape is copied in and out.
 */
public final class NdArray {

    /** On-disk element type. */
    public enum Dtype {
        /** {@code '<f8'}: little-endian IEEE double. */
        FLOAT64("<f8", 8),
        /** {@code '|u1'}: unsigned byte; values are the integers 0..255. */
        UINT8("|u1", 1);

        final String descr;
        final int bytes;

        Dtype(String descr, int bytes) {
            this.descr = descr;
            this.bytes = bytes;
        }
    }

    private final Dtype dtype;
    private final double[] data; // (size()) in C order
    private final int[] shape;

    NdArray(Dtype dtype, double[] data, int[] shape) {
        long size = sizeOf(shape);
        if (size != data.length) {
            throw new IllegalArgumentException("data.length = " + data.length + " does not match shape "
                    + shapeString(shape) + " (" + size + " elements)");
        }
        this.dtype = dtype;
        this.data = data;
        this.shape = shape.clone();
    }

    /** A float64 array; {@code data} (C order) is taken over without a copy; its length must equal the shape's product. */
    public static NdArray of(double[] data, int... shape) {
        return new NdArray(Dtype.FLOAT64, data, shape);
    }

    /** A float64 array of shape {@code ()}. */
    public static NdArray scalar(double value) {
        return of(new double[] {value});
    }

    /** A 1-D uint8 array holding the UTF-8 bytes of {@code text} (how a model file stores its JSON {@code meta}). */
    public static NdArray ofUtf8(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        double[] values = new double[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            values[i] = Byte.toUnsignedInt(bytes[i]);
        }
        return new NdArray(Dtype.UINT8, values, new int[] {bytes.length});
    }

    /** The text of a 1-D uint8 array made by {@link #ofUtf8} (or numpy's {@code np.frombuffer(s.encode(), np.uint8)}). */
    public String decodeUtf8() {
        if (dtype != Dtype.UINT8 || shape.length != 1) {
            throw new IllegalStateException("UTF-8 text needs a 1-D uint8 array, this is " + this);
        }
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) data[i];
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("uint8 array is not valid UTF-8: " + e.getMessage(), e);
        }
    }

    public Dtype dtype() {
        return dtype;
    }

    /** The values in C order; the backing array, not a copy. */
    public double[] data() {
        return data;
    }

    /** A copy of the shape; {@code []} for a scalar. */
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Extent of axis {@code axis}. */
    public int dim(int axis) {
        return shape[axis];
    }

    /** Number of elements (1 for a scalar). */
    public int size() {
        return data.length;
    }

    /** The shape as numpy prints it: {@code ()}, {@code (5,)}, {@code (3, 4, 2)}. */
    public String shapeString() {
        return shapeString(shape);
    }

    @Override
    public String toString() {
        return dtype.name().toLowerCase() + " " + shapeString();
    }

    static String shapeString(int[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return s.append(')').toString();
    }

    /** Product of the extents, which must be non-negative; may exceed an int (streamed arrays). */
    static long sizeOf(int[] shape) {
        long size = 1;
        for (int n : shape) {
            if (n < 0) {
                throw new IllegalArgumentException("negative extent in shape " + Arrays.toString(shape));
            }
            size = Math.multiplyExact(size, (long) n);
        }
        return size;
    }
}
