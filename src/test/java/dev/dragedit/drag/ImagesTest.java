package dev.dragedit.drag;

import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Images: DragDiffusion's preprocess_image arithmetic (float32(p)/127.5 − 1), PNG write/read round trips of every
 * pixel value (also non-square, odd sizes), the tensor → pixel conversions (rounded, and truncated as latent2image
 * does), greyscale and alpha files, JPEG, and one clear IOException for each kind of bad file.
 */
class ImagesTest {
    private static Images.Rgb random(int h, int w, long seed) {
        byte[] px = new byte[3 * h * w];
        new Random(seed).nextBytes(px);
        return new Images.Rgb(h, w, px);
    }

    @Test
    void preprocessIsFloat32DivisionThenSubtraction() {
        assertEquals(-1f, Images.preprocess(0));
        assertEquals(1f, Images.preprocess(255));
        for (int p = 0; p < 256; p++) {
            float q = (float) p / 127.5f;               // one float32 rounding, as torch's float tensor / 127.5
            assertEquals(Float.floatToIntBits(q - 1f), Float.floatToIntBits(Images.preprocess(p)), "pixel " + p);
        }
    }

    @Test
    void tensorLayoutIsOneChannelsHeightWidth() {
        Images.Rgb img = random(5, 7, 1);
        Tensor t = Images.toTensor(img);
        assertArrayEquals(new int[]{1, 3, 5, 7}, t.shape());
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
                for (int c = 0; c < 3; c++)
                    assertEquals(Images.preprocess(img.get(y, x, c)), t.getFloat((c * 5 + y) * 7 + x));
        // The same pixels as an [H, W, 3] value tensor (the fixture's layout) give the same tensor.
        float[] hwc = new float[3 * 35];
        for (int i = 0; i < hwc.length; i++) hwc[i] = img.pixels()[i] & 0xff;
        assertArrayEquals(t.data(), Images.hwcToTensor(Tensor.of(hwc, 5, 7, 3)).data());
        assertThrows(IllegalArgumentException.class, () -> Images.hwcToTensor(Tensor.of(new float[]{0.5f, 0, 0}, 1, 1, 3)));
        assertThrows(IllegalArgumentException.class, () -> Images.hwcToTensor(Tensor.of(new float[]{256f, 0, 0}, 1, 1, 3)));
        assertThrows(IllegalArgumentException.class, () -> Images.hwcToTensor(Tensor.zeros(4, 4, 4)));
    }

    @Test
    void pixelsRoundTripThroughTensorsWhenRounded() {
        byte[] all = new byte[3 * 256];
        for (int i = 0; i < 256; i++) all[3 * i] = all[3 * i + 1] = all[3 * i + 2] = (byte) i;
        Images.Rgb img = new Images.Rgb(16, 16, all);
        assertArrayEquals(all, Images.toPixels(Images.toTensor(img), false).pixels());
        // latent2image truncates: (x/2 + 0.5)·255 lands just below some integers, so some values come back one lower.
        byte[] trunc = Images.toPixels(Images.toTensor(img), true).pixels();
        for (int i = 0; i < all.length; i++) {
            int d = (all[i] & 0xff) - (trunc[i] & 0xff);
            assertTrue(d == 0 || d == 1, "truncation moved " + (all[i] & 0xff) + " to " + (trunc[i] & 0xff));
        }
        // Out-of-range values clamp, NaN becomes 0.
        Tensor odd = Tensor.of(new float[]{-3f, 2f, Float.NaN}, 1, 3, 1, 1);
        assertArrayEquals(new byte[]{0, (byte) 255, 0}, Images.toPixels(odd, false).pixels());
        assertThrows(IllegalArgumentException.class, () -> Images.toPixels(Tensor.zeros(2, 3, 4, 4), false));
    }

    @Test
    void pngRoundTripIsExact(@TempDir Path tmp) throws IOException {
        for (int[] hw : new int[][]{{1, 1}, {13, 29}, {64, 48}}) {
            Images.Rgb img = random(hw[0], hw[1], hw[0] * 31L + hw[1]);
            Path f = tmp.resolve("sub").resolve("img" + hw[0] + "x" + hw[1] + ".png");
            Images.write(f, img);
            Images.Rgb back = Images.read(f);
            assertEquals(img.height(), back.height());
            assertEquals(img.width(), back.width());
            assertArrayEquals(img.pixels(), back.pixels(), "pixels of " + img.size());
        }
        try (var s = Files.list(tmp.resolve("sub"))) {
            assertEquals(3, s.count(), "no temporary files are left behind");
        }
    }

    @Test
    void greyAndAlphaImagesReadAsRgb(@TempDir Path tmp) throws IOException {
        BufferedImage grey = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setPixels(0, 0, 3, 2, new int[]{0, 17, 100, 128, 200, 255});
        Path g = tmp.resolve("grey.png");
        ImageIO.write(grey, "png", g.toFile());
        Images.Rgb rg = Images.read(g);
        int[] want = {0, 17, 100, 128, 200, 255};
        for (int i = 0; i < 6; i++)
            for (int c = 0; c < 3; c++) assertEquals(want[i], rg.get(i / 3, i % 3, c), "grey value kept as stored, pixel " + i);

        BufferedImage rgba = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        rgba.setRGB(0, 0, 0x00112233);   // fully transparent: the colour is kept, not composited
        rgba.setRGB(1, 0, 0x80ff0010);
        Path a = tmp.resolve("alpha.png");
        ImageIO.write(rgba, "png", a.toFile());
        Images.Rgb ra = Images.read(a);
        assertArrayEquals(new byte[]{0x11, 0x22, 0x33, (byte) 0xff, 0x00, 0x10}, ra.pixels());
    }

    @Test
    void jpegIsReadAndWritten(@TempDir Path tmp) throws IOException {
        byte[] px = new byte[3 * 16 * 24];
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 24; x++) {
                px[(y * 24 + x) * 3] = (byte) (x * 10);
                px[(y * 24 + x) * 3 + 1] = (byte) (y * 15);
                px[(y * 24 + x) * 3 + 2] = (byte) 128;
            }
        Images.Rgb img = new Images.Rgb(16, 24, px);
        Path f = tmp.resolve("smooth.jpg");
        Images.write(f, img);
        Images.Rgb back = Images.read(f);
        assertEquals(24, back.width());
        assertEquals(16, back.height());
        int maxErr = 0;
        for (int i = 0; i < px.length; i++) maxErr = Math.max(maxErr, Math.abs((px[i] & 0xff) - (back.pixels()[i] & 0xff)));
        assertTrue(maxErr < 40, "a smooth gradient survives JPEG within its lossy error; max error " + maxErr);
    }

    /** An APP1 Exif segment holding only IFD0 tag 0x0112 = o, in either byte order. */
    private static byte[] exifSegment(int o, boolean littleEndian) {
        byte[] tiff = littleEndian
                ? new byte[]{'I', 'I', 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, (byte) o, 0, 0, 0, 0, 0, 0, 0}
                : new byte[]{'M', 'M', 0, 0x2A, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) o, 0, 0, 0, 0, 0, 0};
        int len = 2 + 6 + tiff.length;
        byte[] seg = new byte[2 + len];
        seg[0] = (byte) 0xFF;
        seg[1] = (byte) 0xE1;
        seg[2] = (byte) (len >> 8);
        seg[3] = (byte) len;
        System.arraycopy(new byte[]{'E', 'x', 'i', 'f', 0, 0}, 0, seg, 4, 6);
        System.arraycopy(tiff, 0, seg, 10, tiff.length);
        return seg;
    }

    @Test
    void jpegsAreTurnedUprightByTheirExifOrientation(@TempDir Path tmp) throws IOException {
        // 32 wide, 16 high: the left half white, the right half black.
        byte[] px = new byte[3 * 16 * 32];
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++) Arrays.fill(px, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3, (byte) 255);
        Path plain = tmp.resolve("plain.jpg");
        Images.write(plain, new Images.Rgb(16, 32, px));
        byte[] jpeg = Files.readAllBytes(plain);
        assertEquals(1, Images.exifOrientation(jpeg));
        int app0End = 4 + (((jpeg[4] & 0xff) << 8) | (jpeg[5] & 0xff)); // SOI, then the JFIF APP0 segment
        for (boolean le : new boolean[]{false, true}) {
            for (int o : new int[]{6, 8}) {
                byte[] seg = exifSegment(o, le);
                byte[] tagged = new byte[jpeg.length + seg.length];
                System.arraycopy(jpeg, 0, tagged, 0, app0End);
                System.arraycopy(seg, 0, tagged, app0End, seg.length);
                System.arraycopy(jpeg, app0End, tagged, app0End + seg.length, jpeg.length - app0End);
                assertEquals(o, Images.exifOrientation(tagged), "orientation " + o + (le ? " II" : " MM"));
                Path f = Files.write(tmp.resolve("o" + o + le + ".jpg"), tagged);
                Images.Rgb img = Images.read(f);
                assertEquals(16, img.width());
                assertEquals(32, img.height());
                // 6 (rotate clockwise): the white left half ends on top; 8 (counter-clockwise): at the bottom.
                int top = img.get(4, 8, 0), bottom = img.get(28, 8, 0);
                assertTrue(o == 6 ? top > 200 && bottom < 50 : top < 50 && bottom > 200, "o " + o + ": top " + top + ", bottom " + bottom);
            }
        }
        // Every orientation against its definition on a 3×2 image of distinct pixels.
        byte[] small = new byte[18];
        for (int i = 0; i < 6; i++) small[3 * i] = (byte) i;
        Images.Rgb s = new Images.Rgb(2, 3, small);   // values by (y, x): 0 1 2 / 3 4 5
        int[][] want = {null, {0, 1, 2, 3, 4, 5}, {2, 1, 0, 5, 4, 3}, {5, 4, 3, 2, 1, 0}, {3, 4, 5, 0, 1, 2},
                {0, 3, 1, 4, 2, 5}, {3, 0, 4, 1, 5, 2}, {5, 2, 4, 1, 3, 0}, {2, 5, 1, 4, 0, 3}};
        for (int o = 1; o <= 8; o++) {
            Images.Rgb r = Images.orient(s, o);
            assertEquals(o >= 5 ? 2 : 3, r.width(), "width for " + o);
            int[] got = new int[6];
            for (int i = 0; i < 6; i++) got[i] = r.pixels()[3 * i];
            assertArrayEquals(want[o], got, "orientation " + o);
        }
        assertEquals(1, Images.exifOrientation(new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE1, 0, 4, 'E', 'x'}));
    }

    @Test
    void badFilesGiveOneClearMessage(@TempDir Path tmp) throws IOException {
        assertMessage(tmp.resolve("missing.png"), "no such image file");
        assertMessage(tmp, "is a folder");
        Path empty = Files.createFile(tmp.resolve("empty.png"));
        assertMessage(empty, "is empty");
        Path text = Files.writeString(tmp.resolve("notes.png"), "this is not an image at all");
        assertMessage(text, "not an image format");

        Images.write(tmp.resolve("ok.png"), random(32, 32, 7));
        byte[] full = Files.readAllBytes(tmp.resolve("ok.png"));
        Path cut = Files.write(tmp.resolve("cut.png"), Arrays.copyOf(full, full.length / 2));
        assertMessage(cut, "not a readable PNG image");

        var e = assertThrows(IOException.class, () -> Images.write(tmp.resolve("out.gif"), random(2, 2, 1)));
        assertTrue(e.getMessage().contains(".png, .jpg or .jpeg"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out.gif")));
        assertThrows(IllegalArgumentException.class, () -> new Images.Rgb(2, 2, new byte[5]));
    }

    private static void assertMessage(Path file, String part) {
        IOException e = assertThrows(IOException.class, () -> Images.read(file));
        assertTrue(e.getMessage().contains(part) && e.getMessage().contains(file.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
