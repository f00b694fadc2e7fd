package org.dtlm.io;

import static org.dtlm.io.Fixtures.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NpyTest {

    /** Values whose bits a careless encoder loses: signed zeros, subnormals, extremes, infinities. */
    private static final double[] SPECIAL = {
        0.0, -0.0, Double.MIN_VALUE, -Double.MIN_VALUE, Math.nextDown(Double.MIN_NORMAL), Double.MIN_NORMAL,
        Double.MAX_VALUE, -Double.MAX_VALUE, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN,
        1.0 / 3, -Math.PI, Math.ulp(1.0)
    };

    @TempDir
    Path dir;

    @Test
    void roundTripIsBitExact() throws IOException {
        Random random = new Random(20240601L);
        double[] values = new double[4 * 5 * 6];
        for (int i = 0; i < values.length; i++) {
            double r = Double.longBitsToDouble(random.nextLong()); // every exponent, both signs
            values[i] = i < SPECIAL.length ? SPECIAL[i] : Double.isNaN(r) ? 0.5 : r;
        }
        NdArray a = NdArray.of(values, 4, 5, 6);
        Path file = dir.resolve("a.npy");
        Npy.write(file, a);
        assertBitEqual(a, Npy.read(file));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0", "0,3", "2,0,5", "7", "1,1,1,1"})
    void roundTripsEveryRankAndEmptyArrays(String shapeText) throws IOException {
        int[] shape = shapeText.isEmpty() ? new int[0]
                : Arrays.stream(shapeText.split(",")).mapToInt(Integer::parseInt).toArray();
        double[] values = new double[(int) NdArray.sizeOf(shape)];
        Arrays.setAll(values, i -> i - 2.25);
        NdArray a = NdArray.of(values, shape);
        Path file = dir.resolve("a.npy");
        Npy.write(file, a);
        NdArray back = Npy.read(file);
        assertBitEqual(a, back);
        assertArrayEquals(shape, back.shape());
    }

    @Test
    void writesTheBytesNumpyWrites() throws IOException {
        // numpy pads the header with spaces to a 64-byte boundary; for this shape its spare room and ours
        // end at the same boundary, so the files agree byte for byte.
        Path file = dir.resolve("small.npy");
        Npy.write(file, NdArray.of(Fixtures.smallValues(), 3, 4, 2));
        byte[] ours = Files.readAllBytes(file);
        assertArrayEquals(Files.readAllBytes(Fixtures.file("small.npy")), ours);
        int headerEnd = 10 + Short.toUnsignedInt(ByteBuffer.wrap(ours, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort());
        assertEquals(0, headerEnd % 64);
        assertEquals('\n', ours[headerEnd - 1]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"small.npy", "small_v2.npy", "small_v3.npy", "small_f4.npy"})
    void readsNumpyFiles(String name) throws IOException {
        assertBitEqual(NdArray.of(Fixtures.smallValues(), 3, 4, 2), Npy.read(Fixtures.file(name)));
    }

    @Test
    void utf8ByteArrayRoundTrips() throws IOException {
        String text = "{\"format\": \"dtlm-model/1\", \"note\": \"Δt ≈ 0.1\"}";
        NdArray meta = NdArray.ofUtf8(text);
        Path file = dir.resolve("meta.npy");
        Npy.write(file, meta);
        NdArray back = Npy.read(file);
        assertEquals(NdArray.Dtype.UINT8, back.dtype());
        assertEquals(text, back.decodeUtf8());
        assertTrue(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).contains("'descr': '|u1'"));
    }

    @Test
    void decodeUtf8RejectsFloatArrays() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NdArray.of(new double[] {65, 66}, 2).decodeUtf8());
        assertEquals("UTF-8 text needs a 1-D uint8 array, this is float64 (2,)", e.getMessage());
    }

    @Test
    void rejectsFortranOrderAndBigEndianNumpyFiles() {
        Path fortran = Fixtures.file("small_fortran.npy");
        assertEquals(fortran + ": fortran_order=True not supported (save a C-ordered array, e.g. np.ascontiguousarray(a))",
                assertThrows(IOException.class, () -> Npy.read(fortran)).getMessage());
        Path bigEndian = Fixtures.file("small_bigendian.npy");
        assertEquals(bigEndian + ": dtype '>f8' not supported (need little-endian float64 '<f8'; also read: '<f4', '|u1')",
                assertThrows(IOException.class, () -> Npy.read(bigEndian)).getMessage());
    }

    @Test
    void corruptFilesGiveClearErrors() throws IOException {
        byte[] good = Files.readAllBytes(Fixtures.file("small.npy"));
        assertReadFails("x.npy: not a .npy file (bad magic)", "hello, world".getBytes(StandardCharsets.US_ASCII));
        assertReadFails("x.npy: not a .npy file (bad magic)", new byte[0]);
        assertReadFails("x.npy: truncated: ends inside the header", Arrays.copyOf(good, 40));
        assertReadFails("x.npy: truncated: data end after 187 of 192 bytes", Arrays.copyOf(good, good.length - 5));
        assertReadFails("x.npy: bytes after the data (the file is longer than shape (3, 4, 2) needs)",
                Arrays.copyOf(good, good.length + 1));
        byte[] version4 = good.clone();
        version4[6] = 4;
        assertReadFails("x.npy: .npy format version 4.0 not supported (1.0, 2.0, 3.0)", version4);
        assertReadFails("x.npy: dtype '<i8' not supported (need little-endian float64 '<f8'; also read: '<f4', '|u1')",
                rawNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", new byte[16]));
        assertReadFails("x.npy: bad header {'descr': '<f8', 'fortran_order': False, }: 'shape' missing or not a tuple",
                rawNpy("{'descr': '<f8', 'fortran_order': False, }", new byte[0]));
        assertReadFails("x.npy: bad header {'descr': '<f8' 'shape': (2,)}: expected ',' or '}' at offset 16",
                rawNpy("{'descr': '<f8' 'shape': (2,)}", new byte[16]));
        assertReadFails("x.npy: bad header {'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (), }: "
                        + "expected a string, True, False or a tuple at offset 10",
                rawNpy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (), }", new byte[8]));
        assertReadFails("x.npy: bad header {'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }: "
                        + "expected a non-negative int extent at offset 51",
                rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", new byte[0]));
        assertReadFails("x.npy: bad header {'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': True}: "
                        + "unexpected key 'x'",
                rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': True}", new byte[16]));
    }

    @Test
    void failedWriteLeavesNoFile() {
        Path file = dir.resolve("missing-directory").resolve("a.npy");
        assertThrows(IOException.class, () -> Npy.write(file, NdArray.scalar(1)));
        assertTrue(Files.notExists(file.getParent()));
    }

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporary() throws IOException {
        Path file = dir.resolve("a.npy");
        Npy.write(file, NdArray.scalar(1));
        Npy.write(file, NdArray.of(new double[] {2, 3}, 2));
        assertBitEqual(NdArray.of(new double[] {2, 3}, 2), Npy.read(file));
        assertEquals(List.of("a.npy"), Fixtures.listing(dir));
    }

    private void assertReadFails(String message, byte[] content) throws IOException {
        Path file = dir.resolve("x.npy");
        Files.write(file, content);
        IOException e = assertThrows(IOException.class, () -> Npy.read(file));
        assertEquals(message.replace("x.npy", file.toString()), e.getMessage());
    }

    /** A version 1.0 file with an arbitrary header dict. */
    private static byte[] rawNpy(String dict, byte[] data) {
        byte[] text = dict.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(Npy.MAGIC);
        out.writeBytes(new byte[] {1, 0, (byte) text.length, (byte) (text.length >> 8)});
        out.writeBytes(text);
        out.writeBytes(data);
        return out.toByteArray();
    }
}
