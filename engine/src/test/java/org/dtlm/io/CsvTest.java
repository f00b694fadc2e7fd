package org.dtlm.io;

import static org.dtlm.io.Fixtures.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvTest {

    /** Δt inferred from decimal times carries their binary rounding. */
    private static final double DT_TOLERANCE = 1e-15;

    @TempDir
    Path dir;

    @Test
    void sortsByTrajectoryThenTimeAndInfersTheStep() throws IOException {
        Path file = write("""
                \uFEFFtrajectory, time, q0, q1
                7,0.2,70.2,-70.2
                3,0.1,30.1,-30.1
                7,0.0,70.0,-70.0

                3,0.2,30.2,-30.2
                3,0.0,30.0,-30.0
                7,0.1,70.1,-70.1
                """);
        Csv.Positions p = Csv.readPositions(file);
        assertBitEqual(NdArray.of(new double[] {
            30.0, -30.0, 30.1, -30.1, 30.2, -30.2,   // trajectory 3 (the smaller id first)
            70.0, -70.0, 70.1, -70.1, 70.2, -70.2    // trajectory 7
        }, 2, 3, 2), p.positions());
        assertEquals(0.1, p.dt(), DT_TOLERANCE);
    }

    @Test
    void acceptsTimesPrintedWithSixDigitsAndOtherStartTimes() throws IOException {
        Path file = write("""
                trajectory,time,x
                0,0.000000,1
                0,0.0333333,2
                0,0.0666667,3
                1,5.0000000,4
                1,5.0333333,5
                1,5.0666667,6
                """);
        Csv.Positions p = Csv.readPositions(file);
        assertEquals(0.0666667 / 2, p.dt(), DT_TOLERANCE);
        assertEquals("(2, 3, 1)", p.positions().shapeString());
    }

    @Test
    void badFilesNameTheLineAndColumn() throws IOException {
        assertFails(": empty file (need the header trajectory,time,q0,q1,...)", "");
        assertFails(": line 1: header must be trajectory,time,q0,q1,... (at least one coordinate), got 'traj,time,q0'",
                "traj,time,q0\n");
        assertFails(": no data rows after the header", "trajectory,time,q0\n\n");
        assertFails(": line 3: 2 fields, the header has 3", "trajectory,time,q0\n0,0,1\n0,1\n");
        assertFails(": line 2, column 1 (trajectory): '0.5' is not an integer", "trajectory,time,q0\n0.5,0,1\n");
        assertFails(": line 3, column 3 (q0): 'abc' is not a number", "trajectory,time,q0\n0,0,1\n0,1,abc\n");
        assertFails(": line 2, column 4 (q1): 'NaN' is not finite", "trajectory,time,q0,q1\n0,0,1,NaN\n");
        assertFails(": trajectory 0 has 1 point; at least 2 are needed to infer the time step",
                "trajectory,time,q0\n0,0,1\n");
        assertFails(": trajectory 2 has 2 points, trajectory 1 has 3 (every trajectory needs the same number)",
                "trajectory,time,q0\n1,0,1\n1,1,1\n1,2,1\n2,0,1\n2,1,1\n");
        assertFails(": lines 2 and 4: trajectory 1 has time 1.0 twice",
                "trajectory,time,q0\n1,1,1\n1,0,1\n1,1,2\n1,3,1\n");
        assertFails(": line 6: trajectory 1 steps from time 1.0 to 3.0, but the time step is 1.0 (from trajectory 0);"
                        + " sampling must be uniform",
                "trajectory,time,q0\n0,0,1\n0,1,1\n0,2,1\n1,1,1\n1,3,1\n1,0,1\n");
    }

    private void assertFails(String messageAfterName, String content) throws IOException {
        Path file = write(content);
        assertEquals(file + messageAfterName, assertThrows(IOException.class, () -> Csv.readPositions(file)).getMessage());
    }

    private Path write(String content) throws IOException {
        Path file = dir.resolve("positions.csv");
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }
}
