package org.dtlm.io;

import static org.dtlm.io.Fixtures.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NpzTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"small.npz", "small_compressed.npz"})
    void readsNumpyArchives(String name) throws IOException {
        Map<String, NdArray> arrays = Npz.read(Fixtures.file(name));
        assertEquals(List.of("q", "dt", "meta", "empty"), List.copyOf(arrays.keySet()));
        assertBitEqual(NdArray.of(Fixtures.smallValues(), 3, 4, 2), arrays.get("q"));
        assertBitEqual(NdArray.scalar(0.1), arrays.get("dt"));
        assertEquals(Files.readString(Fixtures.file("meta.txt"), StandardCharsets.UTF_8), arrays.get("meta").decodeUtf8());
        assertArrayEquals(new int[] {0, 3}, arrays.get("empty").shape());
    }

    @Test
    void roundTripIsBitExactStoredAndDeterministic() throws IOException {
        Random random = new Random(11);
        double[] w1 = new double[3 * 2];
        Arrays.setAll(w1, i -> random.nextGaussian());
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        arrays.put("W1", NdArray.of(w1, 3, 2));
        arrays.put("b1", NdArray.of(new double[] {-0.0, Double.MIN_VALUE, Double.NEGATIVE_INFINITY}, 3));
        arrays.put("Minv", NdArray.of(new double[] {1, 0, 0, 1}, 2, 2));
        arrays.put("meta", NdArray.ofUtf8("{\"format\": \"dtlm-model/1\"}"));
        arrays.put("dt", NdArray.scalar(0.05));
        Path a = dir.resolve("a.npz");
        Path b = dir.resolve("b.npz");
        Npz.write(a, arrays);
        Npz.write(b, arrays);

        Map<String, NdArray> back = Npz.read(a);
        assertEquals(List.copyOf(arrays.keySet()), List.copyOf(back.keySet()));
        for (String name : arrays.keySet()) {
            assertBitEqual(arrays.get(name), back.get(name));
        }
        try (ZipFile zip = new ZipFile(a.toFile())) {
            for (ZipEntry entry : Collections.list(zip.entries())) {
                assertEquals(ZipEntry.STORED, entry.getMethod(), entry.getName() + " stored, as np.savez does");
            }
        }
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "same arrays, same bytes");
    }

    @Test
    void streamsAnNpyFileIntoAnEntry() throws IOException {
        double[] values = new double[4 * 3 * 2];
        Arrays.setAll(values, i -> Math.sin(i));
        Path npy = dir.resolve(".q.npy.part");
        try (NpyStreamWriter w = NpyStreamWriter.create(npy, 4, 3, 2)) {
            for (int step = 0; step < 4; step++) {
                w.append(values, step * 6, 6);
            }
        }
        Path npz = dir.resolve("rollout.npz");
        try (NpzWriter w = NpzWriter.create(npz)) {
            w.putNpyFile("q", npy);
            w.put("dt", NdArray.scalar(0.1));
            w.commit();
        }
        Map<String, NdArray> back = Npz.read(npz);
        assertBitEqual(NdArray.of(values, 4, 3, 2), back.get("q"));
        assertBitEqual(NdArray.scalar(0.1), back.get("dt"));
    }

    @Test
    void putNpyFileChecksTheFile() throws IOException {
        Path npy = dir.resolve("short.npy");
        byte[] good = Files.readAllBytes(Fixtures.file("small.npy"));
        Files.write(npy, Arrays.copyOf(good, good.length - 92));
        try (NpzWriter w = NpzWriter.create(dir.resolve("out.npz"))) {
            IOException e = assertThrows(IOException.class, () -> w.putNpyFile("q", npy));
            assertEquals(npy + ": 100 data bytes, shape (3, 4, 2) needs 192", e.getMessage());
        }
        assertEquals(List.of("short.npy"), Fixtures.listing(dir), "no archive, no temporary file");
    }

    @Test
    void failedOrUncommittedWriteLeavesNoFile() throws IOException {
        Path npz = dir.resolve("model.npz");
        try (NpzWriter w = NpzWriter.create(npz)) {
            w.put("W1", NdArray.scalar(1));
            ZipException e = assertThrows(ZipException.class, () -> w.put("W1", NdArray.scalar(2)));
            assertTrue(e.getMessage().contains("duplicate entry"), e.getMessage());
        }
        try (NpzWriter w = NpzWriter.create(npz)) {
            w.put("W1", NdArray.scalar(1));
        }
        assertEquals(List.of(), Fixtures.listing(dir));
    }

    @Test
    void corruptArchivesGiveClearErrors() throws IOException {
        byte[] stored = Files.readAllBytes(Fixtures.file("small.npz"));
        assertReadFails(": corrupt archive: zip file is empty", new byte[0]);
        assertReadFails(": corrupt archive: zip END header not found", Arrays.copyOf(stored, stored.length / 2));

        byte[] flipped = stored.clone();
        int firstNpy = indexOf(stored, Npy.MAGIC);
        flipped[firstNpy + 128 + 10] ^= 1; // inside q.npy's data, which follows its 128-byte header
        assertReadFails(": corrupt archive: entry 'q.npy' fails its CRC check", flipped);

        byte[] compressed = Files.readAllBytes(Fixtures.file("small_compressed.npz"));
        byte[] garbled = compressed.clone();
        garbled[60] ^= (byte) 0xff; // in the deflate stream of the first entry, q.npy
        assertReadFails(": corrupt archive: entry 'q.npy' fails its CRC check", garbled); // inflates to a bad .npy

        Path foreign = dir.resolve("x.npz");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(foreign))) {
            zip.putNextEntry(new ZipEntry("notes.txt"));
            zip.write("hello".getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals(foreign + ": entry 'notes.txt' is not a .npy array",
                assertThrows(IOException.class, () -> Npz.read(foreign)).getMessage());

        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(foreign))) {
            zip.putNextEntry(new ZipEntry("q.npy")); // an intact entry holding a bad array
            zip.write("hello".getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals(foreign + "/q.npy: not a .npy file (bad magic)",
                assertThrows(IOException.class, () -> Npz.read(foreign)).getMessage());
    }

    private void assertReadFails(String messageAfterName, byte[] content) throws IOException {
        Path file = dir.resolve("x.npz");
        Files.write(file, content);
        IOException e = assertThrows(IOException.class, () -> Npz.read(file));
        assertEquals(file + messageAfterName, e.getMessage());
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
