package org.dtlm.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Streams a float64 {@code .npy} file of a shape fixed up front, in constant memory: values are appended
 * in C order, in any block sizes. {@link #close()} checks that exactly the shape's element count was
 * appended and then renames the file into place; otherwise it deletes the temporary file and throws, so
 * a failed or short run leaves nothing behind. Arrays larger than 2^31 elements are fine here.
 *
 * <pre>{@code
 * try (NpyStreamWriter w = NpyStreamWriter.create(path, steps, trajectories, d)) {
 *     for (...) w.append(stateSegment);   // (trajectories, d) doubles per step
 * }
 * }</pre>
 */
public final class NpyStreamWriter implements AutoCloseable {

    /** Doubles converted to little-endian per channel write (1 MiB). */
    private static final int STAGING_DOUBLES = 1 << 17;
    private static final ValueLayout.OfDouble LITTLE_ENDIAN_DOUBLE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final String shape;
    private final long expected;
    private final AtomicOutput out;
    private final ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_DOUBLES * Double.BYTES);
    private final MemorySegment stagingSegment = MemorySegment.ofBuffer(staging);
    private long written;
    private boolean closed;

    private NpyStreamWriter(Path file, int[] shape, AtomicOutput out) {
        this.file = file;
        this.shape = NdArray.shapeString(shape);
        this.expected = NdArray.sizeOf(shape);
        this.out = out;
    }

    /** Opens a temporary file next to {@code file} and writes the header for {@code shape}. */
    public static NpyStreamWriter create(Path file, int... shape) throws IOException {
        NdArray.sizeOf(shape); // rejects negative extents before a file exists
        AtomicOutput out = AtomicOutput.create(file);
        try {
            ByteBuffer header = ByteBuffer.wrap(Npy.header(NdArray.Dtype.FLOAT64, shape));
            while (header.hasRemaining()) {
                out.channel().write(header);
            }
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
        return new NpyStreamWriter(file, shape, out);
    }

    /** Appends all of {@code values}. */
    public void append(double[] values) throws IOException {
        append(MemorySegment.ofArray(values));
    }

    /** Appends {@code values[from .. from + count)}. */
    public void append(double[] values, int from, int count) throws IOException {
        append(MemorySegment.ofArray(values).asSlice((long) from * Double.BYTES, (long) count * Double.BYTES));
    }

    /** Appends the doubles (native byte order, any alignment) that fill {@code values}. */
    public void append(MemorySegment values) throws IOException {
        if (values.byteSize() % Double.BYTES != 0) {
            throw new IllegalArgumentException(file + ": segment of " + values.byteSize()
                    + " bytes is not a whole number of doubles");
        }
        long count = values.byteSize() / Double.BYTES;
        if (count > expected - written) {
            throw new IllegalStateException(file + ": appending " + count + " values after " + written
                    + " would exceed the " + expected + " of shape " + shape);
        }
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(STAGING_DOUBLES, count - done);
            MemorySegment.copy(values, ValueLayout.JAVA_DOUBLE_UNALIGNED, done * Double.BYTES,
                    stagingSegment, LITTLE_ENDIAN_DOUBLE, 0, n);
            staging.clear().limit(n * Double.BYTES);
            while (staging.hasRemaining()) {
                out.channel().write(staging);
            }
            done += n;
            written += n;
        }
    }

    /** Number of values appended so far. */
    public long written() {
        return written;
    }

    /** Renames the file into place if the count is complete; otherwise deletes it and throws. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try (out) {
            if (written != expected) {
                throw new IOException(file + ": closed after " + written + " of the " + expected
                        + " values of shape " + shape + "; nothing written");
            }
            out.commit();
        }
    }
}
