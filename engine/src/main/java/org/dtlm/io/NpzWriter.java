package org.dtlm.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes an {@code .npz} archive as {@code np.savez} does (one stored, uncompressed {@code name.npy} entry
 * per array), entry by entry and in constant memory: each entry is passed over twice, once for its CRC and
 * once to copy it, as a stored zip entry needs its CRC before its data. Atomic: the archive appears only on
 * {@link #commit()}; closing without it deletes the temporary file.
 *
 * <pre>{@code
 * try (NpzWriter w = NpzWriter.create(path)) {
 *     w.put("dt", NdArray.scalar(dt));
 *     w.putNpyFile("q", streamedNpy);   // e.g. written by NpyStreamWriter
 *     w.commit();
 * }
 * }</pre>
 */
public final class NpzWriter implements AutoCloseable {

    /** Fixed entry time (the zip epoch), so that equal arrays give byte-identical archives. */
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);
    private static final int BUFFER_BYTES = 1 << 16;

    private final Path file;
    private final AtomicOutput out;
    private final BufferedOutputStream buffered;
    private final ZipOutputStream zip;

    private NpzWriter(Path file, AtomicOutput out) {
        this.file = file;
        this.out = out;
        this.buffered = new BufferedOutputStream(out.stream(), BUFFER_BYTES);
        this.zip = new ZipOutputStream(buffered);
    }

    public static NpzWriter create(Path file) throws IOException {
        return new NpzWriter(file, AtomicOutput.create(file));
    }

    /** Adds {@code a} as entry {@code name + ".npy"}. */
    public void put(String name, NdArray a) throws IOException {
        CRC32 crc = new CRC32();
        Npy.write(new CheckedOutputStream(OutputStream.nullOutputStream(), crc), a);
        beginEntry(name, Npy.encodedBytes(a), crc.getValue());
        Npy.write(zip, a);
        zip.closeEntry();
    }

    /** Adds the existing .npy file {@code npy} as entry {@code name + ".npy"}, streaming it; checks its header and length. */
    public void putNpyFile(String name, Path npy) throws IOException {
        CRC32 crc = new CRC32();
        long size;
        try (InputStream in = new CheckedInputStream(new BufferedInputStream(Files.newInputStream(npy), BUFFER_BYTES), crc)) {
            Npy.Header header = Npy.readHeader(in, npy.toString());
            long dataBytes = in.transferTo(OutputStream.nullOutputStream());
            if (dataBytes != header.dataBytes()) {
                throw new IOException(npy + ": " + dataBytes + " data bytes, shape "
                        + NdArray.shapeString(header.shape()) + " needs " + header.dataBytes());
            }
            size = Files.size(npy);
        }
        beginEntry(name, size, crc.getValue());
        Files.copy(npy, zip);
        zip.closeEntry();
    }

    private void beginEntry(String name, long size, long crc) throws IOException {
        if (name.isEmpty()) {
            throw new IllegalArgumentException(file + ": empty array name");
        }
        ZipEntry entry = new ZipEntry(name + ".npy");
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(size);
        entry.setCompressedSize(size);
        entry.setCrc(crc);
        entry.setTimeLocal(ENTRY_TIME);
        zip.putNextEntry(entry);
    }

    /** Writes the zip directory and renames the archive into place. */
    public void commit() throws IOException {
        zip.finish();
        buffered.flush();
        out.commit();
    }

    /** Releases the zip stream; without a prior {@link #commit()}, deletes the temporary file. */
    @Override
    public void close() throws IOException {
        try (out) {
            zip.close(); // after a commit this only frees the deflater; otherwise it finishes into the doomed file
        }
    }
}
