package org.dtlm.io;

import static org.dtlm.io.Fixtures.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyStreamWriterTest {

    @TempDir
    Path dir;

    @Test
    void blocksFromArraysAndSegmentsMakeTheSameFileAsNpyWrite() throws IOException {
        int steps = 5, trajectories = 3, d = 2;
        double[] all = new double[steps * trajectories * d];
        Random random = new Random(7);
        for (int i = 0; i < all.length; i++) {
            all[i] = random.nextGaussian();
        }
        Path streamed = dir.resolve("streamed.npy");
        try (Arena arena = Arena.ofConfined();
             NpyStreamWriter w = NpyStreamWriter.create(streamed, steps, trajectories, d)) {
            w.append(Arrays.copyOfRange(all, 0, 6));             // step 0: whole array
            w.append(all, 6, 6);                                             // step 1: a slice
            MemorySegment native3 = arena.allocate(ValueLayout.JAVA_DOUBLE, 18); // steps 2..4: native memory
            MemorySegment.copy(all, 12, native3, ValueLayout.JAVA_DOUBLE, 0, 18);
            w.append(native3);
            assertEquals(all.length, w.written());
        }
        Path whole = dir.resolve("whole.npy");
        Npy.write(whole, NdArray.of(all, steps, trajectories, d));
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(streamed));
    }

    @Test
    void blocksLargerThanTheStagingBufferAndEmptyShapes() throws IOException {
        double[] values = new double[3 * 100_000]; // 2.4 MB: spans several 1 MiB staging rounds
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25;
        }
        Path file = dir.resolve("big.npy");
        try (NpyStreamWriter w = NpyStreamWriter.create(file, 3, 100_000)) {
            w.append(values);
        }
        assertBitEqual(NdArray.of(values, 3, 100_000), Npy.read(file));

        Path empty = dir.resolve("empty.npy");
        try (NpyStreamWriter w = NpyStreamWriter.create(empty, 0, 3)) {
            assertEquals(0, w.written());
        }
        assertArrayEquals(new int[] {0, 3}, Npy.read(empty).shape());
    }

    @Test
    void shortCountLeavesNothingAndKeepsTheOldFile() throws IOException {
        Path file = dir.resolve("out.npy");
        Npy.write(file, NdArray.scalar(42));
        NpyStreamWriter w = NpyStreamWriter.create(file, 2, 3);
        w.append(new double[4]);
        IOException e = assertThrows(IOException.class, w::close);
        assertEquals(file + ": closed after 4 of the 6 values of shape (2, 3); nothing written", e.getMessage());
        assertEquals(List.of("out.npy"), Fixtures.listing(dir));
        assertBitEqual(NdArray.scalar(42), Npy.read(file));
    }

    @Test
    void overlongAppendIsRejectedAndAFailedRunLeavesNoFile() throws IOException {
        Path file = dir.resolve("out.npy");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            try (NpyStreamWriter w = NpyStreamWriter.create(file, 2, 3)) {
                w.append(new double[4]);
                w.append(new double[3]);
            }
        });
        assertEquals(file + ": appending 3 values after 4 would exceed the 6 of shape (2, 3)", e.getMessage());
        assertEquals(1, e.getSuppressed().length, "close reports the short count as suppressed");
        assertEquals(List.of(), Fixtures.listing(dir));
    }

    @Test
    void rejectsSegmentsThatAreNotWholeDoubles() throws IOException {
        try (Arena arena = Arena.ofConfined();
             NpyStreamWriter w = NpyStreamWriter.create(dir.resolve("out.npy"), 1)) {
            assertThrows(IllegalArgumentException.class, () -> w.append(arena.allocate(12)));
            w.append(new double[] {1});
        }
    }
}
