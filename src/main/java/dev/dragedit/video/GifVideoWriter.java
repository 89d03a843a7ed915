package dev.dragedit.video;

import dev.dragedit.drag.Images.Rgb;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * An animated GIF through the JDK's own GIF writer (javax.imageio), so it needs nothing installed: a sequence of
 * full-size frames, each with its own 256-colour palette ({@link Palette}: median cut, pure red/blue/white/black kept
 * exactly), disposal "none", a delay of round(100 / fps) centiseconds — the last frame 1.5 s longer, so the result
 * can be seen before the loop restarts (the writer holds one frame back to know which is last) — and the NETSCAPE2.0
 * application extension so viewers loop it forever.
 */
public final class GifVideoWriter extends AtomicVideoFile {
    /** Extra hold of the last frame, in centiseconds. */
    static final int LAST_FRAME_EXTRA_CS = 150;

    private final int delayCs;
    private ImageWriter writer;
    private ImageOutputStream stream;
    private Rgb pending;

    /** A writer for out at fps frames per second (0 &lt; fps ≤ 100); nothing appears at out until finish(). */
    public GifVideoWriter(Path out, double fps) throws IOException {
        super(out, fps);
        delayCs = (int) Math.max(1, Math.min(65535 - LAST_FRAME_EXTRA_CS, Math.round(100 / fps)));
    }

    /** The per-frame delay in centiseconds. */
    public int delayCentiseconds() { return delayCs; }

    @Override
    protected void begin(int width, int height) throws IOException {
        if (width > 65535 || height > 65535) throw new IllegalArgumentException("GIF frames are at most 65535 pixels a side, got " + width + "×" + height);
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("gif");
        if (!it.hasNext()) throw new IOException("no GIF writer in this Java runtime");
        writer = it.next();
        stream = ImageIO.createImageOutputStream(tmp.toFile());
        if (stream == null) throw new IOException(tmp + ": cannot be opened for writing");
        writer.setOutput(stream);
        writer.prepareWriteSequence(null);
    }

    @Override
    protected void write(Rgb frame) throws IOException {
        if (pending != null) emit(pending, delayCs, frames() == 1);
        pending = frame;
    }

    @Override
    protected void complete() throws IOException {
        emit(pending, delayCs + LAST_FRAME_EXTRA_CS, frames() == 1);
        pending = null;
        writer.endWriteSequence();
        stream.close();
        stream = null;
        writer.dispose();
        writer = null;
    }

    @Override
    protected void abort() {
        pending = null;
        try {
            if (stream != null) stream.close();
        } catch (IOException ignored) {
            // the file is deleted next
        }
        if (writer != null) writer.dispose();
        stream = null;
        writer = null;
    }

    /** Writes one frame, quantised, with its delay; the first frame carries the looping extension. */
    private void emit(Rgb frame, int delay, boolean first) throws IOException {
        Palette p = new Palette(frame);
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int k = 0; k < 256; k++) {
            r[k] = (byte) (p.colours[k] >> 16);
            g[k] = (byte) (p.colours[k] >> 8);
            b[k] = (byte) p.colours[k];
        }
        IndexColorModel cm = new IndexColorModel(8, 256, r, g, b);
        BufferedImage img = new BufferedImage(frame.width(), frame.height(), BufferedImage.TYPE_BYTE_INDEXED, cm);
        img.getRaster().setDataElements(0, 0, frame.width(), frame.height(), p.indices);

        ImageWriteParam param = writer.getDefaultWriteParam();
        IIOMetadata meta = writer.getDefaultImageMetadata(new ImageTypeSpecifier(img), param);
        String format = meta.getNativeMetadataFormatName();   // javax_imageio_gif_image_1.0
        IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(format);
        IIOMetadataNode gce = child(root, "GraphicControlExtension");
        gce.setAttribute("disposalMethod", "none");
        gce.setAttribute("userInputFlag", "FALSE");
        gce.setAttribute("transparentColorFlag", "FALSE");
        gce.setAttribute("transparentColorIndex", "0");
        gce.setAttribute("delayTime", Integer.toString(delay));
        if (first) {
            IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
            app.setAttribute("applicationID", "NETSCAPE");
            app.setAttribute("authenticationCode", "2.0");
            app.setUserObject(new byte[] {1, 0, 0});   // sub-block 1: loop count 0 = forever
            child(root, "ApplicationExtensions").appendChild(app);
        }
        meta.setFromTree(format, root);
        writer.writeToSequence(new IIOImage(img, null, meta), param);
    }

    private static IIOMetadataNode child(IIOMetadataNode root, String name) {
        for (int i = 0; i < root.getLength(); i++)
            if (root.item(i).getNodeName().equalsIgnoreCase(name)) return (IIOMetadataNode) root.item(i);
        IIOMetadataNode node = new IIOMetadataNode(name);
        root.appendChild(node);
        return node;
    }
}
