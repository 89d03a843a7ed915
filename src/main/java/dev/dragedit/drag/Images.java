package dev.dragedit.drag;

import dev.dragedit.tensor.Tensor;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;

/**
 * Images in and out of the drag pipeline: PNG/JPEG files read and written with javax.imageio, and the conversion
 * between 8-bit RGB pixels and the [1, 3, H, W] tensors in [−1, 1] that the VAE takes. It mirrors DragDiffusion
 * (ebe659a) utils/ui_utils.py {@code preprocess_image} — {@code torch.from_numpy(image).float() / 127.5 - 1}, then
 * "h w c -> 1 c h w" — and, for the way back, drag_pipeline.py {@code latent2image}: {@code (x / 2 + 0.5).clamp(0, 1)},
 * {@code (· * 255).astype(np.uint8)} (a truncation; {@link #toPixels} also offers rounding, which makes a write/read
 * round trip exact).
 * <p>
 * Pixels are held as {@link Rgb}: H×W×3 bytes, row-major, RGB interleaved — the layout of the numpy array DragDiffusion
 * receives from its UI (and of the fixture's {@code source_image_hwc_uint8_values}). Reading keeps the stored sample
 * values where the file is already 8-bit sRGB or grey (no colour management, as PIL does), drops alpha without
 * compositing (PIL's {@code convert("RGB")}), scales 16-bit samples to 8 bits, and turns JPEGs upright by their EXIF
 * orientation (DragDiffusion's store_img calls PIL's exif_transpose). Every failure is an
 * {@link IOException} with one line naming the file and what is wrong.
 */
public final class Images {
    private Images() {}

    /** Largest side accepted when reading (a 16384² RGB image is 0.8 GB as float32 already). */
    public static final int MAX_SIDE = 16384;

    /** H×W RGB pixels, 3 bytes per pixel, row-major: element (y, x, c) at (y·W + x)·3 + c. */
    public record Rgb(int height, int width, byte[] pixels) {
        public Rgb {
            if (height < 1 || width < 1) throw new IllegalArgumentException("image size " + width + "×" + height + " must be positive");
            if (pixels.length != 3L * height * width)
                throw new IllegalArgumentException("image " + width + "×" + height + " needs " + 3L * height * width
                        + " bytes of RGB, got " + pixels.length);
        }

        /** The value 0..255 of channel c at (y, x). */
        public int get(int y, int x, int c) { return pixels[(y * width + x) * 3 + c] & 0xff; }

        /** "W×H", the way users read image sizes. */
        public String size() { return width + "×" + height; }
    }

    // ------------------------------------------------------------------ files

    /** Reads a PNG, JPEG (or any other format javax.imageio knows, e.g. BMP, GIF) as 8-bit RGB. */
    public static Rgb read(Path file) throws IOException {
        if (!Files.exists(file)) throw new IOException(file + ": no such image file");
        if (Files.isDirectory(file)) throw new IOException(file + ": is a folder, expected a PNG or JPEG image");
        if (!Files.isReadable(file)) throw new IOException(file + ": cannot be read (permissions)");
        if (Files.size(file) == 0) throw new IOException(file + ": is empty, expected a PNG or JPEG image");
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new IOException(file + ": cannot be opened as an image");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IOException(file + ": not an image format that can be read (expected PNG or JPEG)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0), h = reader.getHeight(0);
                // Checked before decoding, so a huge (or maliciously declared) size fails fast instead of exhausting memory.
                if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
                    throw new IOException(file + ": image is " + w + "×" + h + "; sides of 1.." + MAX_SIDE + " pixels are supported");
                BufferedImage img = reader.read(0);
                Rgb rgb = fromBuffered(img, file.toString());
                // DragDiffusion's store_img applies PIL's exif_transpose: a photo is edited the way up it is shown.
                boolean jpeg = reader.getFormatName().toLowerCase(Locale.ROOT).startsWith("jp");
                return jpeg ? orient(rgb, exifOrientation(Files.readAllBytes(file))) : rgb;
            } catch (IOException | RuntimeException e) {
                // Our own messages already name the file; decoder failures (truncated data, a CMYK JPEG, a bad
                // chunk) are wrapped into one line that does.
                if (e instanceof IOException && !(e instanceof IIOException) && String.valueOf(e.getMessage()).startsWith(file.toString())) throw (IOException) e;
                throw new IOException(file + ": not a readable " + reader.getFormatName().toUpperCase(Locale.ROOT)
                        + " image (" + firstLine(e) + ")", e);
            } finally {
                reader.dispose();
            }
        }
    }

    /** The pixels of a decoded image as 8-bit RGB (what = the source, for messages). */
    public static Rgb fromBuffered(BufferedImage img, String what) throws IOException {
        int w = img.getWidth(), h = img.getHeight();
        byte[] px = new byte[3 * w * h];
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        int type = cm.getColorSpace().getType();
        boolean gray = !(cm instanceof IndexColorModel) && type == ColorSpace.TYPE_GRAY && r.getNumBands() >= 1;
        boolean srgb = !(cm instanceof IndexColorModel) && type == ColorSpace.TYPE_RGB && cm.getColorSpace().isCS_sRGB()
                && r.getNumBands() >= 3 && cm.getNumColorComponents() == 3;
        if (gray || srgb) {
            // The stored samples as they are: getRGB would colour-convert grey (linear in Java2D) and change the values.
            int[] bits = cm.getComponentSize();
            int[] row = new int[w * r.getNumBands()];
            for (int y = 0; y < h; y++) {
                r.getPixels(0, y, w, 1, row);
                int nb = r.getNumBands();
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int band = gray ? 0 : c;
                        px[(y * w + x) * 3 + c] = (byte) to8Bits(row[x * nb + band], bits[band]);
                    }
                }
            }
        } else if (type == ColorSpace.TYPE_RGB || cm instanceof IndexColorModel) {
            // Palette images and other RGB colour models: Java2D's conversion to 8-bit sRGB.
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < argb.length; i++) {
                px[3 * i] = (byte) (argb[i] >> 16);
                px[3 * i + 1] = (byte) (argb[i] >> 8);
                px[3 * i + 2] = (byte) argb[i];
            }
        } else {
            throw new IOException(what + ": colour space " + colourSpaceName(type) + " is not supported; save the image as RGB or greyscale");
        }
        return new Rgb(h, w, px);
    }

    /**
     * The pixels as a {@link BufferedImage#TYPE_INT_RGB} image (for drawing on with Java2D, or for javax.imageio);
     * {@link #fromBuffered} turns it back into the same pixels.
     */
    public static BufferedImage toBuffered(Rgb img) {
        int w = img.width(), h = img.height();
        byte[] px = img.pixels();
        int[] argb = new int[w * h];
        for (int i = 0; i < argb.length; i++)
            argb[i] = (px[3 * i] & 0xff) << 16 | (px[3 * i + 1] & 0xff) << 8 | (px[3 * i + 2] & 0xff);
        BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        bi.setRGB(0, 0, w, h, argb, 0, w);
        return bi;
    }

    /** Writes pixels as PNG (lossless), or JPEG when the name ends in .jpg/.jpeg; atomically (a temporary file, then a rename). */
    public static void write(Path file, Rgb img) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String format = name.endsWith(".jpg") || name.endsWith(".jpeg") ? "jpeg" : name.endsWith(".png") ? "png" : null;
        if (format == null) throw new IOException(file + ": the image name must end in .png, .jpg or .jpeg");
        BufferedImage bi = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_3BYTE_BGR);
        int[] row = new int[img.width() * 3];
        for (int y = 0; y < img.height(); y++) {
            for (int i = 0; i < row.length; i++) row[i] = img.pixels()[y * row.length + i] & 0xff;
            bi.getRaster().setPixels(0, y, img.width(), 1, row);
        }
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            if (!ImageIO.write(bi, format, tmp.toFile())) throw new IOException(file + ": no " + format + " writer in this Java runtime");
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    // ------------------------------------------------------------------ pixels ↔ tensors

    /**
     * DragDiffusion's preprocess_image: [1, 3, H, W] with value float32(pixel) / 127.5 − 1, each operation rounded to
     * float32 as torch computes it (so the result equals the reference bit for bit).
     */
    public static Tensor toTensor(Rgb img) {
        int h = img.height(), w = img.width(), hw = h * w;
        float[] out = new float[3 * hw];
        byte[] px = img.pixels();
        for (int i = 0; i < hw; i++)
            for (int c = 0; c < 3; c++) out[c * hw + i] = preprocess(px[3 * i + c] & 0xff);
        return Tensor.of(out, 1, 3, h, w);
    }

    /**
     * preprocess_image on an [H, W, 3] tensor of pixel values 0..255 stored as numbers (the fixture's
     * {@code source_image_hwc_uint8_values}); values that are not integers in 0..255 are refused.
     */
    public static Tensor hwcToTensor(Tensor hwc) {
        int[] s = hwc.shape();
        if (s.length != 3 || s[2] != 3 || s[0] < 1 || s[1] < 1)
            throw new IllegalArgumentException("image values have shape " + Arrays.toString(s) + ", expected [height, width, 3] (RGB)");
        byte[] px = new byte[hwc.numel()];
        for (int i = 0; i < px.length; i++) {
            double v = hwc.getDouble(i);
            if (!(v >= 0 && v <= 255 && v == Math.rint(v)))
                throw new IllegalArgumentException("image value " + v + " at flat index " + i + " is not an integer in 0..255");
            px[i] = (byte) (int) v;
        }
        return toTensor(new Rgb(s[0], s[1], px));
    }

    /** float32(p) / 127.5 − 1 in float32 arithmetic (127.5 is exact in float32, so the division is one rounding). */
    static float preprocess(int p) { return (float) p / 127.5f - 1f; }

    /**
     * A [1, 3, H, W] (or [3, H, W]) tensor in about [−1, 1] back to pixels: v = clamp(x / 2 + 0.5, 0, 1) · 255, then
     * truncated like DragDiffusion's {@code astype(np.uint8)} when {@code truncate}, else rounded to the nearest
     * integer (exact inverse of {@link #toTensor}). NaN becomes 0.
     */
    public static Rgb toPixels(Tensor t, boolean truncate) {
        Tensor x = t.onDevice() ? t.toCpu() : t;
        int[] s = x.shape();
        if (!((s.length == 4 && s[0] == 1 && s[1] == 3) || (s.length == 3 && s[0] == 3)))
            throw new IllegalArgumentException("image tensor has shape " + Arrays.toString(s) + ", expected [1, 3, H, W] or [3, H, W]");
        int h = s[s.length - 2], w = s[s.length - 1], hw = h * w;
        byte[] px = new byte[3 * hw];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < hw; i++) {
                float v = x.getFloat(c * hw + i) / 2f + 0.5f;
                v = v > 1f ? 1f : v >= 0f ? v : 0f; // NaN → 0
                float scaled = v * 255f;
                px[3 * i + c] = (byte) (truncate ? (int) scaled : Math.round(scaled));
            }
        }
        return new Rgb(h, w, px);
    }

    // ------------------------------------------------------------------ EXIF orientation

    /**
     * The EXIF orientation (1..8) of a JPEG file's bytes: tag 0x0112 of IFD0 in the first APP1 "Exif" segment; 1 when
     * there is none or the data is malformed (as PIL treats an unreadable tag).
     */
    static int exifOrientation(byte[] b) {
        if (b.length < 4 || (b[0] & 0xff) != 0xFF || (b[1] & 0xff) != 0xD8) return 1;
        int p = 2;
        while (p + 4 <= b.length) {
            if ((b[p] & 0xff) != 0xFF) return 1;
            int m = b[p + 1] & 0xff;
            if (m == 0xFF) { p++; continue; }                                   // fill byte
            if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { p += 2; continue; }    // markers without a length
            if (m == 0xDA || m == 0xD9) return 1;                               // image data: no metadata after it
            int len = u16(b, p + 2, false);
            int end = Math.min(b.length, p + 2 + len);
            if (m == 0xE1 && len >= 8 && p + 10 <= end && b[p + 4] == 'E' && b[p + 5] == 'x' && b[p + 6] == 'i' && b[p + 7] == 'f'
                    && b[p + 8] == 0 && b[p + 9] == 0)
                return tiffOrientation(b, p + 10, end);
            p += 2 + len;
        }
        return 1;
    }

    private static int tiffOrientation(byte[] b, int start, int end) {
        if (start + 8 > end) return 1;
        boolean le;
        if (b[start] == 'I' && b[start + 1] == 'I') le = true;
        else if (b[start] == 'M' && b[start + 1] == 'M') le = false;
        else return 1;
        long ifd = start + u32(b, start + 4, le);
        if (ifd < start || ifd + 2 > end) return 1;
        int n = u16(b, (int) ifd, le);
        for (int i = 0; i < n; i++) {
            int e = (int) ifd + 2 + 12 * i;
            if (e + 12 > end) return 1;
            if (u16(b, e, le) == 0x0112) {
                int v = u16(b, e + 2, le) == 3 ? u16(b, e + 8, le) : 1;   // type SHORT, value in the entry itself
                return v >= 1 && v <= 8 ? v : 1;
            }
        }
        return 1;
    }

    private static int u16(byte[] b, int i, boolean le) {
        int x = b[i] & 0xff, y = b[i + 1] & 0xff;
        return le ? x | y << 8 : x << 8 | y;
    }

    private static long u32(byte[] b, int i, boolean le) {
        long hi = u16(b, le ? i + 2 : i, le), lo = u16(b, le ? i : i + 2, le);
        return hi << 16 | lo;
    }

    /**
     * The pixels turned upright for EXIF orientation o, as PIL's exif_transpose: 2 mirror left-right, 3 rotate 180°,
     * 4 mirror top-bottom, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise.
     */
    static Rgb orient(Rgb img, int o) {
        if (o <= 1 || o > 8) return img;
        int w = img.width(), h = img.height();
        boolean swap = o >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        byte[] out = new byte[img.pixels().length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx, sy;
                switch (o) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; }   // 8
                }
                System.arraycopy(img.pixels(), (sy * w + sx) * 3, out, (y * ow + x) * 3, 3);
            }
        }
        return new Rgb(oh, ow, out);
    }

    // ------------------------------------------------------------------ helpers

    private static int to8Bits(int v, int bits) {
        if (bits == 8) return v;
        int max = (1 << bits) - 1;
        return (int) Math.round(v * 255.0 / max);
    }

    private static String colourSpaceName(int type) {
        return switch (type) {
            case ColorSpace.TYPE_CMYK -> "CMYK";
            case ColorSpace.TYPE_YCbCr -> "YCbCr";
            case ColorSpace.TYPE_Lab -> "Lab";
            default -> "type " + type;
        };
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.strip().lines().findFirst().orElse(m);
    }
}
