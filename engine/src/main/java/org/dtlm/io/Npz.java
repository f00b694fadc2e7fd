package org.dtlm.io;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/** NumPy {@code .npz} archives: a zip of {@code name.npy} entries, stored ({@code np.savez}) or deflated ({@code np.savez_compressed}). */
public final class Npz {

    private Npz() {
    }

    /**
     * Reads every entry, in archive order, keyed by its name without {@code .npy}. Each entry's CRC is
     * checked. Errors name the archive, and the entry where there is one ({@code model.npz/W1.npy: ...}).
     */
    public static Map<String, NdArray> read(Path file) throws IOException {
        String source = file.toString();
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new IOException(source + ": corrupt archive: " + e.getMessage(), e);
        }
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        try (zip) {
            for (ZipEntry entry : Collections.list(zip.entries())) {
                String name = entry.getName();
                if (entry.isDirectory() || !name.endsWith(".npy")) {
                    throw new IOException(source + ": entry '" + name + "' is not a .npy array");
                }
                arrays.put(name.substring(0, name.length() - ".npy".length()), readEntry(zip, entry, source));
            }
        }
        return arrays;
    }

    /** One entry, CRC checked; a bad .npy image in an entry that also fails its CRC is reported as archive damage. */
    private static NdArray readEntry(ZipFile zip, ZipEntry entry, String source) throws IOException {
        String name = entry.getName();
        CRC32 crc = new CRC32();
        try (CheckedInputStream in = new CheckedInputStream(new BufferedInputStream(zip.getInputStream(entry)), crc)) {
            NdArray array = null;
            IOException badArray = null;
            try {
                array = Npy.read(in, source + "/" + name);
            } catch (ZipException | EOFException e) {
                throw e;
            } catch (IOException e) {
                badArray = e;
                in.transferTo(OutputStream.nullOutputStream()); // so that the CRC covers the whole entry
            }
            if (crc.getValue() != entry.getCrc()) {
                throw new IOException(source + ": corrupt archive: entry '" + name + "' fails its CRC check", badArray);
            }
            if (badArray != null) {
                throw badArray;
            }
            return array;
        } catch (ZipException | EOFException e) {
            throw new IOException(source + ": corrupt archive: entry '" + name + "': " + e.getMessage(), e);
        }
    }

    /** Writes {@code arrays} as stored entries, in map order, atomically (see {@link NpzWriter}). */
    public static void write(Path file, Map<String, NdArray> arrays) throws IOException {
        try (NpzWriter writer = NpzWriter.create(file)) {
            for (Map.Entry<String, NdArray> e : arrays.entrySet()) {
                writer.put(e.getKey(), e.getValue());
            }
            writer.commit();
        }
    }
}
