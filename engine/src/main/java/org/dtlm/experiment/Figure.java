package org.dtlm.experiment;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import javax.imageio.ImageIO;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The poster's Figure 1 for one task (SPEC §6): for one test trajectory, the first position coordinate, the true energy
 * and the modeled energy against time, one line per scheme, as three panels stacked in one PNG. The modeled energy is
 * drawn as its relative deviation |E^n - E^2| / |E^2| on a log axis, so that rounding-level drift (1e-16) and a
 * drifting scheme (1e-3) are both visible; exact zeros are drawn at {@link #LOG_FLOOR}.
 */
final class Figure {
    static final double LOG_FLOOR = 1e-18;
    private static final int WIDTH = 900, PANEL = 330;

    /** One line of the figure: a scheme's series over the time axis (NaN where it has no value). */
    record Line(String name, double[] position, double[] trueEnergy, double[] modeledEnergy) {
    }

    private Figure() {
    }

    static void write(Path png, String task, double[] time, double[] truePosition, double[] trueEnergy, List<Line> lines)
            throws IOException {
        XYChart pos = chart(task + ": position q_1", "q_1");
        XYChart energy = chart(task + ": true energy H_true(q, M_true v)", "H");
        XYChart modeled = chart(task + ": modeled energy, |E^n - E^2| / |E^2|", "relative drift");
        modeled.getStyler().setYAxisLogarithmic(true);
        modeled.getStyler().setYAxisDecimalPattern("0E0");
        add(pos, "truth", time, truePosition, Color.BLACK);
        add(energy, "truth", time, trueEnergy, Color.BLACK);
        Color[] palette = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd)};
        for (int i = 0; i < lines.size(); i++) {
            Line l = lines.get(i);
            Color c = palette[i % palette.length];
            add(pos, l.name(), time, l.position(), c);
            add(energy, l.name(), time, l.trueEnergy(), c);
            add(modeled, l.name(), time, relativeDrift(l.modeledEnergy()), c);
        }
        BufferedImage out = new BufferedImage(WIDTH, 3 * PANEL, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.drawImage(BitmapEncoder.getBufferedImage(pos), 0, 0, null);
        g.drawImage(BitmapEncoder.getBufferedImage(energy), 0, PANEL, null);
        g.drawImage(BitmapEncoder.getBufferedImage(modeled), 0, 2 * PANEL, null);
        g.dispose();
        Path tmp = png.resolveSibling("." + png.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            if (!ImageIO.write(out, "png", os)) throw new IOException("no PNG writer available");
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, png, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** |E^n - E^first| / |E^first| from the first finite value on, floored for the log axis. */
    static double[] relativeDrift(double[] e) {
        double[] out = new double[e.length];
        double e0 = Double.NaN;
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e0) && Double.isFinite(e[i])) e0 = e[i];
            out[i] = Double.isNaN(e0) || !Double.isFinite(e[i]) ? Double.NaN
                    : Math.max(LOG_FLOOR, Math.abs(e[i] - e0) / Math.max(Math.abs(e0), Double.MIN_NORMAL));
        }
        return out;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(PANEL).title(title).xAxisTitle("t").yAxisTitle(yTitle).build();
        c.getStyler().setMarkerSize(0);
        c.getStyler().setLegendVisible(true);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setXAxisDecimalPattern("0.#");
        return c;
    }

    private static void add(XYChart c, String name, double[] t, double[] y, Color color) {
        // XChart cannot draw NaN gaps on every axis type: keep only the finite points of the series
        int n = 0;
        for (double v : y) if (Double.isFinite(v)) n++;
        if (n == 0) return;
        double[] xs = new double[n], ys = new double[n];
        for (int i = 0, j = 0; i < y.length; i++) {
            if (Double.isFinite(y[i])) {
                xs[j] = t[i];
                ys[j++] = y[i];
            }
        }
        XYSeries s = c.addSeries(name, xs, ys);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
    }
}
