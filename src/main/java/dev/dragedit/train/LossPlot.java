// A loss curve as a PNG, drawn with Java2D (headless): the per-step losses in a light colour, their moving average
// (window ≈ 2% of the run, at least 1) in a dark one, on a log-scaled y axis (diffusion and reconstruction losses fall
// over decades) with decade and half-decade grid lines, x axis in steps, axis labels and a title.
package dev.dragedit.train;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

final class LossPlot {
    private LossPlot() {}

    static void write(Path file, String title, String yLabel, float[] losses) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 800, h = 480, left = 80, right = 20, top = 40, bottom = 60;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            int pw = w - left - right, ph = h - top - bottom;
            int n = losses.length;
            float[] avg = movingAverage(losses, Math.max(1, n / 50));
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (float v : losses) if (v > 0 && Float.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
            if (!(lo < hi)) { lo = lo == Double.POSITIVE_INFINITY ? 0.1 : lo / 2; hi = lo * 4; }
            double l0 = Math.floor(Math.log10(lo) * 2) / 2, l1 = Math.ceil(Math.log10(hi) * 2) / 2;
            if (l1 <= l0) l1 = l0 + 0.5;
            final double y0 = l0, y1 = l1;
            java.util.function.DoubleUnaryOperator py = v -> top + ph * (1 - (Math.log10(Math.max(v, 1e-30)) - y0) / (y1 - y0));
            java.util.function.IntToDoubleFunction px = i -> left + (n <= 1 ? 0 : pw * (double) i / (n - 1));

            // grid and y ticks (every half decade)
            for (double e = y0; e <= y1 + 1e-9; e += 0.5) {
                int y = (int) Math.round(top + ph * (1 - (e - y0) / (y1 - y0)));
                g.setColor(new Color(225, 225, 225));
                g.drawLine(left, y, left + pw, y);
                g.setColor(Color.DARK_GRAY);
                String s = String.format(Locale.ROOT, "%.3g", Math.pow(10, e));
                g.drawString(s, left - 8 - g.getFontMetrics().stringWidth(s), y + 4);
            }
            // x ticks
            int ticks = 5;
            for (int k = 0; k <= ticks; k++) {
                int step = (int) Math.round((double) Math.max(n, 1) * k / ticks);
                int x = left + pw * k / ticks;
                g.setColor(new Color(225, 225, 225));
                g.drawLine(x, top, x, top + ph);
                g.setColor(Color.DARK_GRAY);
                String s = Integer.toString(step);
                g.drawString(s, x - g.getFontMetrics().stringWidth(s) / 2, top + ph + 18);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, pw, ph);

            if (n > 0) {
                g.setColor(new Color(150, 180, 230));
                g.setStroke(new BasicStroke(1f));
                g.draw(curve(losses, px, py));
                g.setColor(new Color(20, 60, 160));
                g.setStroke(new BasicStroke(2f));
                g.draw(curve(avg, px, py));
            }
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, left, top - 14);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            String xl = "training step";
            g.drawString(xl, left + pw / 2 - g.getFontMetrics().stringWidth(xl) / 2, h - 18);
            Graphics2D r = (Graphics2D) g.create();
            r.rotate(-Math.PI / 2);
            String yl = yLabel + " (log scale)";
            r.drawString(yl, -(top + ph / 2) - r.getFontMetrics().stringWidth(yl) / 2, 18);
            r.dispose();
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.setColor(new Color(150, 180, 230));
            g.drawString("per step", left + pw - 150, top + 16);
            g.setColor(new Color(20, 60, 160));
            g.drawString("moving average (" + Math.max(1, n / 50) + " steps)", left + pw - 150, top + 30);
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static Path2D curve(float[] v, java.util.function.IntToDoubleFunction px, java.util.function.DoubleUnaryOperator py) {
        Path2D.Double p = new Path2D.Double();
        boolean started = false;
        for (int i = 0; i < v.length; i++) {
            if (!(v[i] > 0) || !Float.isFinite(v[i])) continue;
            double x = px.applyAsDouble(i), y = py.applyAsDouble(v[i]);
            if (!started) { p.moveTo(x, y); started = true; } else p.lineTo(x, y);
        }
        return p;
    }

    static float[] movingAverage(float[] v, int window) {
        float[] out = new float[v.length];
        double s = 0;
        for (int i = 0; i < v.length; i++) {
            s += v[i];
            if (i >= window) s -= v[i - window];
            out[i] = (float) (s / Math.min(i + 1, window));
        }
        return out;
    }
}
