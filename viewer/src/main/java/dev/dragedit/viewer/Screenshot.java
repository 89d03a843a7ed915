package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import org.lwjgl.system.MemoryUtil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.lwjgl.opengl.GL11.*;

/**
 * Reads the rendered frame back (glReadPixels) and writes it as PNG: the scripted viewer's screenshots, which the tests
 * read to check where the points, the mask and the preview really ended up on screen. Read before the buffer swap,
 * from the back buffer, so the picture is the frame just drawn whatever the platform does with swapped buffers.
 */
final class Screenshot {
    private Screenshot() {}

    /** The current framebuffer (w×h), top row first as images are (GL's rows start at the bottom). */
    static Images.Rgb read(int w, int h) {
        // LWJGL's malloc rather than a direct ByteBuffer: see CanvasRenderer#staging.
        ByteBuffer buf = MemoryUtil.memAlloc(w * h * 4);
        byte[] px = new byte[w * h * 3];
        try {
            glReadBuffer(GL_BACK);
            glPixelStorei(GL_PACK_ALIGNMENT, 1);
            glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, buf);
            for (int y = 0; y < h; y++) {
                int src = (h - 1 - y) * w * 4, dst = y * w * 3;
                for (int x = 0; x < w; x++) {
                    px[dst + 3 * x] = buf.get(src + 4 * x);
                    px[dst + 3 * x + 1] = buf.get(src + 4 * x + 1);
                    px[dst + 3 * x + 2] = buf.get(src + 4 * x + 2);
                }
            }
        } finally {
            MemoryUtil.memFree(buf);
        }
        return new Images.Rgb(h, w, px);
    }

    /** Reads the framebuffer and writes it to {@code png} (atomically, via {@link Images#write}). */
    static void write(Path png, int w, int h) throws IOException {
        Images.write(png, read(w, h));
    }
}
