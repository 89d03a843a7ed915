package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Node;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class GifVideoWriterTest {
    @TempDir Path dir;

    /** A smooth-ish random image with a few pure red, blue, white and black pixels. */
    static Rgb frame(int h, int w, long seed) {
        Random rnd = new Random(seed);
        byte[] px = new byte[3 * h * w];
        int br = rnd.nextInt(200), bg = rnd.nextInt(200), bb = rnd.nextInt(200);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int i = 3 * (y * w + x);
                px[i] = (byte) (br + 3 * x + rnd.nextInt(8));
                px[i + 1] = (byte) (bg + 5 * y + rnd.nextInt(8));
                px[i + 2] = (byte) (bb + x + y + rnd.nextInt(8));
            }
        set(px, w, 1, 1, 255, 0, 0);
        set(px, w, 2, 3, 0, 0, 255);
        set(px, w, 4, 5, 255, 255, 255);
        set(px, w, 6, 7, 0, 0, 0);
        set(px, w, 8, 16, 254, 1, 0);   // near-red: need not be exact
        return new Rgb(h, w, px);
    }

    static void set(byte[] px, int w, int y, int x, int r, int g, int b) {
        if (y >= px.length / 3 / w || x >= w) return;
        int i = 3 * (y * w + x);
        px[i] = (byte) r; px[i + 1] = (byte) g; px[i + 2] = (byte) b;
    }

    static List<Path> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) { return s.sorted().toList(); }
    }

    @Test
    void roundTripThreeFrames() throws Exception {
        Path out = dir.resolve("anim.GIF");
        Rgb[] frames = {frame(9, 17, 1), frame(9, 17, 2), frame(9, 17, 3)};
        try (VideoWriter w = VideoWriter.open(out, 4)) {
            assertInstanceOf(GifVideoWriter.class, w);
            for (Rgb f : frames) w.add(f);
            assertEquals(3, w.frames());
            assertFalse(Files.exists(out), "nothing at out before finish");
            w.finish();
        }
        assertEquals(List.of(out), listing(dir), "no temporary file left");
        if (Files.getFileStore(out).supportsFileAttributeView("posix"))
            assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));

        try (ImageInputStream in = ImageIO.createImageInputStream(out.toFile())) {
            ImageReader r = ImageIO.getImageReaders(in).next();
            r.setInput(in);
            assertEquals(3, r.getNumImages(true));
            boolean loop = false;
            for (int i = 0; i < 3; i++) {
                BufferedImage img = r.read(i);
                assertEquals(17, img.getWidth());
                assertEquals(9, img.getHeight());
                IIOMetadataNode root = (IIOMetadataNode) r.getImageMetadata(i).getAsTree("javax_imageio_gif_image_1.0");
                IIOMetadataNode gce = (IIOMetadataNode) root.getElementsByTagName("GraphicControlExtension").item(0);
                assertEquals(i == 2 ? "175" : "25", gce.getAttribute("delayTime"), "delay of frame " + i);
                assertEquals("none", gce.getAttribute("disposalMethod"));
                for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling())
                    if (n.getNodeName().equals("ApplicationExtensions")) {
                        IIOMetadataNode app = (IIOMetadataNode) n.getFirstChild();
                        if ("NETSCAPE".equals(app.getAttribute("applicationID")) && "2.0".equals(app.getAttribute("authenticationCode"))) {
                            byte[] data = (byte[]) app.getUserObject();
                            assertEquals(1, data[0]);
                            assertEquals(0, data[1] | data[2], "loop count 0 = forever");
                            loop = true;
                        }
                    }
                Rgb f = frames[i];
                int worst = 0;
                for (int y = 0; y < 9; y++)
                    for (int x = 0; x < 17; x++) {
                        int argb = img.getRGB(x, y);
                        int[] got = {argb >> 16 & 0xff, argb >> 8 & 0xff, argb & 0xff};
                        for (int c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(got[c] - f.get(y, x, c)));
                    }
                assertTrue(worst <= 8, "frame " + i + ": worst channel error " + worst);
                assertEquals(0xff0000, img.getRGB(1, 1) & 0xffffff, "pure red exact");
                assertEquals(0x0000ff, img.getRGB(3, 2) & 0xffffff, "pure blue exact");
                assertEquals(0xffffff, img.getRGB(5, 4) & 0xffffff, "white exact");
                assertEquals(0x000000, img.getRGB(7, 6) & 0xffffff, "black exact");
            }
            assertTrue(loop, "NETSCAPE2.0 loop extension present");
            r.dispose();
        }
    }

    @Test
    void manyColoursAreQuantisedCloselyAndDrawnPointsSurvive() throws Exception {
        byte[] px = new byte[3 * 64 * 64];                 // a smooth picture: 4096 colours
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) set(px, 64, y, x, 4 * x, 4 * y, 128 + x - y);
        Rgb base = new Rgb(64, 64, px);
        Rgb up = Overlay.upscale(base, 256);
        Rgb drawn = Overlay.drawPoints(up, new double[][] {{10, 12}}, new double[][] {{40, 50}}, 4);
        Path out = dir.resolve("points.gif");
        try (VideoWriter w = VideoWriter.open(out, 10)) {
            w.add(up);
            w.add(drawn);
            w.finish();
        }
        BufferedImage img = ImageIO.read(out.toFile());   // first frame
        assertEquals(256, img.getWidth());
        try (ImageInputStream in = ImageIO.createImageInputStream(out.toFile())) {
            ImageReader r = ImageIO.getImageReaders(in).next();
            r.setInput(in);
            BufferedImage second = r.read(1);
            assertEquals(0xff0000, second.getRGB((int) (10.5 * 4), (int) (12.5 * 4)) & 0xffffff);
            assertEquals(0x0000ff, second.getRGB((int) (40.5 * 4), (int) (50.5 * 4)) & 0xffffff);
            long err = 0;
            for (int y = 0; y < 256; y++)
                for (int x = 0; x < 256; x++) {
                    int argb = img.getRGB(x, y);
                    err += Math.abs((argb >> 16 & 0xff) - up.get(y, x, 0)) + Math.abs((argb >> 8 & 0xff) - up.get(y, x, 1))
                            + Math.abs((argb & 0xff) - up.get(y, x, 2));
                }
            double mean = err / (3.0 * 256 * 256);
            assertTrue(mean < 4, "mean channel error " + mean);
            r.dispose();
        }
    }

    @Test
    void lastFrameAloneHoldsLonger() throws Exception {
        Path out = dir.resolve("one.gif");
        try (GifVideoWriter w = new GifVideoWriter(out, 0.5)) {
            assertEquals(200, w.delayCentiseconds());
            w.add(frame(3, 3, 9));
            w.finish();
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(out.toFile())) {
            ImageReader r = ImageIO.getImageReaders(in).next();
            r.setInput(in);
            assertEquals(1, r.getNumImages(true));
            IIOMetadataNode root = (IIOMetadataNode) r.getImageMetadata(0).getAsTree("javax_imageio_gif_image_1.0");
            assertEquals("350", ((IIOMetadataNode) root.getElementsByTagName("GraphicControlExtension").item(0)).getAttribute("delayTime"));
            r.dispose();
        }
    }
}
