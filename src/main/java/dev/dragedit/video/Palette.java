package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;

import java.util.ArrayList;
import java.util.List;

/**
 * Colour quantisation of one RGB frame to a 256-entry palette for GIF, by median cut: colours are counted in a
 * 32×32×32 histogram (5 bits a channel), the occupied cells are split at the weighted median of their widest channel
 * until there are {@value #CUT} boxes, and each box's palette entry is the mean of the exact colours in it. The last
 * four entries are reserved for pure red, blue, white and black, which pixels of exactly those colours always get —
 * so drawn handles stay (255, 0, 0) and targets (0, 0, 255). Other pixels get the nearest entry (per histogram cell,
 * cached). No dithering: previews are small and dithering would fringe the drawn points.
 */
final class Palette {
    /** Entries found by median cut; the rest of the 256 are the reserved exact colours. */
    static final int CUT = 252;
    private static final int[] RESERVED = {0xff0000, 0x0000ff, 0xffffff, 0x000000};

    /** 256 palette colours as 0xRRGGBB. */
    final int[] colours = new int[256];
    /** The palette index of each pixel. */
    final byte[] indices;

    Palette(Rgb img) {
        byte[] px = img.pixels();
        int n = px.length / 3;
        int[] count = new int[1 << 15];
        long[] sr = new long[1 << 15], sg = new long[1 << 15], sb = new long[1 << 15];
        for (int i = 0; i < n; i++) {
            int r = px[3 * i] & 0xff, g = px[3 * i + 1] & 0xff, b = px[3 * i + 2] & 0xff;
            int cell = cell(r, g, b);
            count[cell]++;
            sr[cell] += r;
            sg[cell] += g;
            sb[cell] += b;
        }
        List<int[]> boxes = cut(count);
        for (int k = 0; k < boxes.size(); k++) {
            long c = 0, r = 0, g = 0, b = 0;
            for (int cell : boxes.get(k)) { c += count[cell]; r += sr[cell]; g += sg[cell]; b += sb[cell]; }
            colours[k] = (int) ((r + c / 2) / c) << 16 | (int) ((g + c / 2) / c) << 8 | (int) ((b + c / 2) / c);
        }
        int used = boxes.size();
        for (int k = used; k < CUT; k++) colours[k] = used > 0 ? colours[0] : 0;   // unused: duplicates
        for (int k = 0; k < RESERVED.length; k++) colours[CUT + k] = RESERVED[k];

        int[] nearest = new int[1 << 15];
        java.util.Arrays.fill(nearest, -1);
        indices = new byte[n];
        for (int i = 0; i < n; i++) {
            int r = px[3 * i] & 0xff, g = px[3 * i + 1] & 0xff, b = px[3 * i + 2] & 0xff;
            int rgb = r << 16 | g << 8 | b, idx = -1;
            for (int k = 0; k < RESERVED.length; k++) if (rgb == RESERVED[k]) idx = CUT + k;
            if (idx < 0) {
                int cell = cell(r, g, b);
                if (nearest[cell] < 0) nearest[cell] = nearest((int) (sr[cell] / count[cell]), (int) (sg[cell] / count[cell]),
                        (int) (sb[cell] / count[cell]), used);
                idx = nearest[cell];
            }
            indices[i] = (byte) idx;
        }
    }

    private static int cell(int r, int g, int b) { return (r >> 3) << 10 | (g >> 3) << 5 | (b >> 3); }

    private static int channel(int cell, int c) { return cell >> (10 - 5 * c) & 31; }

    /** The nearest of the palette's entries (the cut ones and the reserved ones) to (r, g, b). */
    private int nearest(int r, int g, int b, int used) {
        int best = 0;
        long bestD = Long.MAX_VALUE;
        for (int k = 0; k < 256; k++) {
            if (k >= used && k < CUT) continue;
            int c = colours[k];
            long dr = (c >> 16 & 0xff) - r, dg = (c >> 8 & 0xff) - g, db = (c & 0xff) - b;
            long d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;   // rough perceptual weights
            if (d < bestD) { bestD = d; best = k; }
        }
        return best;
    }

    /** Median cut of the occupied histogram cells into at most {@value #CUT} boxes (arrays of cell numbers). */
    private static List<int[]> cut(int[] count) {
        int occupied = 0;
        for (int c : count) if (c > 0) occupied++;
        int[] all = new int[occupied];
        for (int cell = 0, j = 0; cell < count.length; cell++) if (count[cell] > 0) all[j++] = cell;
        List<int[]> boxes = new ArrayList<>();
        if (occupied > 0) boxes.add(all);
        while (boxes.size() < CUT) {
            // The box with the widest channel range (ties: the most pixels) is split next.
            int pick = -1, pickChannel = 0, pickRange = 0;
            long pickPixels = 0;
            for (int k = 0; k < boxes.size(); k++) {
                int[] box = boxes.get(k);
                if (box.length < 2) continue;
                int channel = 0, range = -1;
                for (int c = 0; c < 3; c++) {
                    int lo = 31, hi = 0;
                    for (int cell : box) { int v = channel(cell, c); lo = Math.min(lo, v); hi = Math.max(hi, v); }
                    if (hi - lo > range) { range = hi - lo; channel = c; }
                }
                long pixels = pixels(box, count);
                if (range > pickRange || (range == pickRange && pixels > pickPixels)) {
                    pick = k; pickChannel = channel; pickRange = range; pickPixels = pixels;
                }
            }
            if (pick < 0) break;                       // every box is a single cell
            int[] box = boxes.get(pick);
            final int ch = pickChannel;
            int[] sorted = java.util.Arrays.stream(box).boxed()
                    .sorted((a, b) -> Integer.compare(channel(a, ch), channel(b, ch))).mapToInt(Integer::intValue).toArray();
            long half = pixels(sorted, count) / 2, acc = 0;
            int split = 1;
            for (int i = 0; i < sorted.length - 1; i++) {
                acc += count[sorted[i]];
                split = i + 1;
                if (acc >= half) break;
            }
            // Keep equal channel values on one side where possible, so the two boxes do not overlap.
            while (split < sorted.length - 1 && channel(sorted[split], ch) == channel(sorted[split - 1], ch)) split++;
            if (channel(sorted[split], ch) == channel(sorted[split - 1], ch)) {
                split = 1;
                while (split < sorted.length && channel(sorted[split], ch) == channel(sorted[0], ch)) split++;
            }
            boxes.set(pick, java.util.Arrays.copyOfRange(sorted, 0, split));
            boxes.add(java.util.Arrays.copyOfRange(sorted, split, sorted.length));
        }
        return boxes;
    }

    private static long pixels(int[] box, int[] count) {
        long s = 0;
        for (int cell : box) s += count[cell];
        return s;
    }
}
