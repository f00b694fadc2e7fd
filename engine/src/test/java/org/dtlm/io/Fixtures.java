package org.dtlm.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The numpy-written files of data/fixtures (made by make_fixtures.py) and shared assertions. */
final class Fixtures {

    private Fixtures() {
    }

    /** Surefire runs in the module directory, engine/. */
    static Path file(String name) {
        Path path = Path.of("..", "data", "fixtures", name);
        assertTrue(Files.isRegularFile(path), "fixture missing: " + path.toAbsolutePath());
        return path;
    }

    /** What make_fixtures.py stores as {@code small}: arange(24).reshape(3, 4, 2) * 0.5 - 1. */
    static double[] smallValues() {
        double[] v = new double[24];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5 - 1;
        }
        return v;
    }

    /** Same shape, same dtype, and every value with the same bits. */
    static void assertBitEqual(NdArray expected, NdArray actual) {
        assertEquals(expected.dtype(), actual.dtype());
        assertEquals(expected.shapeString(), actual.shapeString());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(Double.doubleToRawLongBits(expected.data()[i]), Double.doubleToRawLongBits(actual.data()[i]),
                    "element " + i + ": expected " + expected.data()[i] + ", got " + actual.data()[i]);
        }
    }

    /** Names in {@code dir}, including hidden temporary files. */
    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
