package org.dtlm.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Imports positions from CSV (data/README.md): a header {@code trajectory,time,q0,q1,...} and one row per
 * sample, in any order. Every column after {@code time} is a coordinate. Trajectories are sorted by id and
 * their samples by time; all must have the same number of points and one uniform time step.
 */
public final class Csv {

    /**
     * Each time step may differ from the inferred Δt by this fraction of Δt: room for times printed with
     * about six significant digits, far below a skipped or doubled sample.
     */
    static final double TIME_STEP_RELATIVE_TOLERANCE = 1e-4;

    private Csv() {
    }

    /**
     * Positions of shape (trajectories, points, d), trajectories in increasing id order, and the time step
     * Δt = (t_last − t_first) / (points − 1) of the trajectory with the smallest id.
     */
    public record Positions(NdArray positions, double dt) {
    }

    private record Row(int line, long trajectory, double time, double[] q) {
    }

    public static Positions readPositions(Path file) throws IOException {
        String source = file.toString();
        List<Row> rows = new ArrayList<>();
        String[] header;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = reader.readLine();
            if (first == null) {
                throw new IOException(source + ": empty file (need the header trajectory,time,q0,q1,...)");
            }
            header = fields(first.startsWith("\uFEFF") ? first.substring(1) : first);
            if (header.length < 3 || !header[0].equals("trajectory") || !header[1].equals("time")) {
                throw new IOException(source + ": line 1: header must be trajectory,time,q0,q1,... (at least one"
                        + " coordinate), got '" + first + "'");
            }
            int line = 1;
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                line++;
                if (!text.isBlank()) {
                    rows.add(row(text, line, header, source));
                }
            }
        }
        if (rows.isEmpty()) {
            throw new IOException(source + ": no data rows after the header");
        }
        rows.sort(Comparator.comparingLong(Row::trajectory).thenComparingDouble(Row::time));
        return assemble(rows, header.length - 2, source);
    }

    private static Row row(String text, int line, String[] header, String source) throws IOException {
        String[] f = fields(text);
        if (f.length != header.length) {
            throw new IOException(source + ": line " + line + ": " + f.length + " fields, the header has " + header.length);
        }
        long trajectory;
        try {
            trajectory = Long.parseLong(f[0]);
        } catch (NumberFormatException e) {
            throw new IOException(source + ": line " + line + ", column 1 (trajectory): '" + f[0] + "' is not an integer");
        }
        double[] values = new double[f.length - 1]; // time, q0 .. q(d-1)
        for (int c = 1; c < f.length; c++) {
            String where = source + ": line " + line + ", column " + (c + 1) + " (" + header[c] + "): '" + f[c] + "'";
            try {
                values[c - 1] = Double.parseDouble(f[c]);
            } catch (NumberFormatException e) {
                throw new IOException(where + " is not a number");
            }
            if (!Double.isFinite(values[c - 1])) {
                throw new IOException(where + " is not finite");
            }
        }
        return new Row(line, trajectory, values[0], Arrays.copyOfRange(values, 1, values.length));
    }

    /** Rows sorted by (trajectory, time) into (trajectories, points, d), checking counts and the time grid. */
    private static Positions assemble(List<Row> rows, int d, String source) throws IOException {
        List<Integer> starts = new ArrayList<>(); // index in rows of each trajectory's first sample
        for (int i = 0; i < rows.size(); i++) {
            if (i == 0 || rows.get(i).trajectory != rows.get(i - 1).trajectory) {
                starts.add(i);
            }
        }
        int trajectories = starts.size();
        int points = trajectories > 1 ? starts.get(1) : rows.size();
        if (points < 2) {
            throw new IOException(source + ": trajectory " + rows.get(0).trajectory + " has 1 point; at least 2 are"
                    + " needed to infer the time step");
        }
        double dt = (rows.get(points - 1).time - rows.get(0).time) / (points - 1);
        double[] data = new double[rows.size() * d];
        for (int b = 0; b < trajectories; b++) {
            int start = starts.get(b);
            int end = b + 1 < trajectories ? starts.get(b + 1) : rows.size();
            if (end - start != points) {
                throw new IOException(source + ": trajectory " + rows.get(start).trajectory + " has " + (end - start)
                        + " points, trajectory " + rows.get(0).trajectory + " has " + points
                        + " (every trajectory needs the same number)");
            }
            for (int i = start; i < end; i++) {
                Row r = rows.get(i);
                if (i > start) {
                    Row previous = rows.get(i - 1);
                    double step = r.time - previous.time;
                    if (step == 0) {
                        throw new IOException(source + ": lines " + previous.line + " and " + r.line + ": trajectory "
                                + r.trajectory + " has time " + r.time + " twice");
                    }
                    if (Math.abs(step - dt) > TIME_STEP_RELATIVE_TOLERANCE * dt) {
                        throw new IOException(source + ": line " + r.line + ": trajectory " + r.trajectory + " steps from"
                                + " time " + previous.time + " to " + r.time + ", but the time step is " + dt
                                + " (from trajectory " + rows.get(0).trajectory + "); sampling must be uniform");
                    }
                }
                System.arraycopy(r.q, 0, data, i * d, d);
            }
        }
        return new Positions(NdArray.of(data, trajectories, points, d), dt);
    }

    private static String[] fields(String line) {
        String[] f = line.split(",", -1);
        for (int i = 0; i < f.length; i++) {
            f[i] = f[i].strip();
        }
        return f;
    }
}
