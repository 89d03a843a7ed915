package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import imgui.ImDrawList;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.util.List;

import static org.lwjgl.opengl.GL11.*;
import static org.lwjgl.opengl.GL12.GL_CLAMP_TO_EDGE;

/**
 * Draws the canvas into imgui's background draw list (behind the panel): the image as a GL texture, the mask overlay
 * as a second, mostly transparent texture, then the points, arrows, trails and the brush cursor as draw-list shapes.
 * Textures are re-uploaded only when their source changes: the image when another {@link Images.Rgb} object is shown
 * (each preview of a run is a new object, the editor's image changes its {@link EditorState#imageVersion}), the
 * mask when {@link EditorState#maskVersion} moves. Zoomed in (more than one window pixel per image pixel) the image
 * uses nearest filtering so that pixels stay squares and a point can be placed on a given pixel; zoomed out, linear.
 */
final class CanvasRenderer implements AutoCloseable {
    /** Colours (imgui's packed ABGR). Handles red with a white ring, targets blue, as the contract fixes them. */
    static final int RED = col(255, 0, 0, 255), BLUE = col(0, 0, 255, 255), WHITE = col(255, 255, 255, 255),
            ARROW = col(255, 230, 0, 255), TRAIL = col(255, 140, 140, 255), BRUSH_MAY = col(255, 220, 0, 255),
            BRUSH_KEEP = col(120, 200, 255, 255), BORDER = col(90, 90, 100, 255);
    /** Mask overlay: the may-change region tinted yellow at alpha 0.3. */
    static final int MASK_R = 255, MASK_G = 220, MASK_B = 0, MASK_A = 77;
    /** Point radius and the white ring's width, in window pixels (independent of zoom, so points stay clickable). */
    static final float POINT_R = 6, RING = 2;

    /**
     * Two image textures used in turn: a new preview goes into the one the previous frame did not draw from, so the
     * upload does not wait for that frame's rasterisation (llvmpipe rasterises on worker threads of its own).
     */
    private final int[] imageTex = new int[2];
    private int current;
    private final int[] texW = new int[2], texH = new int[2];
    private final int maskTex;
    /**
     * One upload buffer, reused, outside the Java heap's direct-memory accounting (LWJGL's malloc): a new direct
     * ByteBuffer per preview made the JVM run System.gc() and back off (~100 ms a frame) whenever the engine's own
     * direct buffers had the direct-memory limit nearly used, which is all the time during a drag.
     */
    private ByteBuffer staging;
    private Images.Rgb uploadedImage;
    private long uploadedMaskVersion = -1;
    private boolean maskPresent;

    CanvasRenderer() {
        imageTex[0] = newTexture();
        imageTex[1] = newTexture();
        maskTex = newTexture();
    }

    private static int newTexture() {
        int t = glGenTextures();
        glBindTexture(GL_TEXTURE_2D, t);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
        return t;
    }

    static int col(int r, int g, int b, int a) { return (a << 24) | (b << 16) | (g << 8) | r; }

    /** What the canvas shows this frame. */
    record Scene(Images.Rgb image, EditorState state, boolean showMask, List<EditorState.Pair> pairs,
                 double[][] trackedHandles, List<double[][]> trails, double[] brushAt, double brushRadius, boolean brushMayChange) {}

    /**
     * Uploads what changed; call before the frame's first GL command. On llvmpipe a texture upload in the middle of a
     * frame flushes the commands queued so far (the clear) and waits for its rasteriser threads, which on a CPU busy
     * with the drag took ~100 ms per preview; at the start of a frame nothing is queued, and the texture written is the
     * one the previous frame did not draw from.
     */
    void prepare(Images.Rgb image, EditorState st) {
        upload(image);
        uploadMask(st);
    }

    /** Draws the canvas; {@link #prepare} uploaded this frame's image and mask. */
    void draw(ImDrawList dl, ViewTransform view, Scene s) {
        int filter = view.scale() >= 1 ? GL_NEAREST : GL_LINEAR;
        glBindTexture(GL_TEXTURE_2D, imageTex[current]);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);

        double[] vp = view.viewport();
        dl.pushClipRect((float) vp[0], (float) vp[1], (float) (vp[0] + vp[2]), (float) (vp[1] + vp[3]), true);
        // The image is drawn at the editor's size: a preview of another resolution (a fast preview) is stretched onto it,
        // so that points stay in the editor's image coordinates.
        double[] a = view.toScreen(0, 0), b = view.toScreen(s.state().width(), s.state().height());
        dl.addRect((float) a[0] - 1, (float) a[1] - 1, (float) b[0] + 1, (float) b[1] + 1, BORDER);
        dl.addImage(imageTex[current], (float) a[0], (float) a[1], (float) b[0], (float) b[1]);
        if (s.showMask() && maskPresent) dl.addImage(maskTex, (float) a[0], (float) a[1], (float) b[0], (float) b[1]);

        List<double[][]> trails = s.trails();
        if (trails != null) {
            for (double[][] trail : trails) {
                if (trail == null || trail.length < 2) continue;
                for (int i = 1; i < trail.length; i++) {
                    double[] p = view.toScreen(trail[i - 1][0], trail[i - 1][1]), q = view.toScreen(trail[i][0], trail[i][1]);
                    dl.addLine((float) p[0], (float) p[1], (float) q[0], (float) q[1], TRAIL, 2f);
                }
            }
        }
        List<EditorState.Pair> pairs = s.pairs();
        for (int k = 0; k < pairs.size(); k++) {
            EditorState.Pair pr = pairs.get(k);
            double hx = pr.hx(), hy = pr.hy();
            if (s.trackedHandles() != null && k < s.trackedHandles().length && pr.complete()) {
                hx = s.trackedHandles()[k][0];
                hy = s.trackedHandles()[k][1];
            }
            double[] h = view.toScreen(hx, hy);
            if (pr.complete()) {
                double[] t = view.toScreen(pr.tx(), pr.ty());
                arrow(dl, h, t);
                point(dl, t, BLUE);
            }
            point(dl, h, RED);
        }
        if (s.brushAt() != null) {
            double[] c = view.toScreen(s.brushAt()[0], s.brushAt()[1]);
            dl.addCircle((float) c[0], (float) c[1], (float) (s.brushRadius() * view.scale()), s.brushMayChange() ? BRUSH_MAY : BRUSH_KEEP, 48, 1.5f);
        }
        dl.popClipRect();
    }

    private static void point(ImDrawList dl, double[] p, int colour) {
        dl.addCircleFilled((float) p[0], (float) p[1], POINT_R + RING, WHITE, 24);
        dl.addCircleFilled((float) p[0], (float) p[1], POINT_R, colour, 24);
    }

    /** A line from the handle to the target ending in a head just outside the target's disc. */
    private static void arrow(ImDrawList dl, double[] h, double[] t) {
        double dx = t[0] - h[0], dy = t[1] - h[1], len = Math.hypot(dx, dy);
        if (len < 1e-6) return;
        double ux = dx / len, uy = dy / len;
        double tipX = t[0] - ux * (POINT_R + RING), tipY = t[1] - uy * (POINT_R + RING);
        double head = Math.min(12, len / 2), baseX = tipX - ux * head, baseY = tipY - uy * head;
        dl.addLine((float) h[0], (float) h[1], (float) baseX, (float) baseY, ARROW, 2.5f);
        dl.addTriangleFilled((float) tipX, (float) tipY, (float) (baseX - uy * head * 0.5), (float) (baseY + ux * head * 0.5),
                (float) (baseX + uy * head * 0.5), (float) (baseY - ux * head * 0.5), ARROW);
    }

    private void upload(Images.Rgb img) {
        if (img == uploadedImage) return;
        ByteBuffer buf = staging(img.pixels().length);
        buf.put(img.pixels()).flip();
        current ^= 1;
        glBindTexture(GL_TEXTURE_2D, imageTex[current]);
        glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
        // Storage is (re)allocated only when the size changes; previews of one run only replace the pixels.
        if (texW[current] != img.width() || texH[current] != img.height()) {
            glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, img.width(), img.height(), 0, GL_RGB, GL_UNSIGNED_BYTE, buf);
            texW[current] = img.width();
            texH[current] = img.height();
        } else {
            glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, img.width(), img.height(), GL_RGB, GL_UNSIGNED_BYTE, buf);
        }
        uploadedImage = img;
    }

    private void uploadMask(EditorState st) {
        if (st.maskVersion() == uploadedMaskVersion) return;
        uploadedMaskVersion = st.maskVersion();
        byte[] m = st.mask();
        maskPresent = m != null;
        if (m == null) return;
        ByteBuffer buf = staging(m.length * 4);
        for (byte v : m) {
            if (v != 0) buf.put((byte) MASK_R).put((byte) MASK_G).put((byte) MASK_B).put((byte) MASK_A);
            else buf.put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        }
        buf.flip();
        glBindTexture(GL_TEXTURE_2D, maskTex);
        glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, st.width(), st.height(), 0, GL_RGBA, GL_UNSIGNED_BYTE, buf);
    }

    private ByteBuffer staging(int bytes) {
        if (staging == null || staging.capacity() < bytes) {
            if (staging != null) MemoryUtil.memFree(staging);
            staging = MemoryUtil.memAlloc(bytes);
        }
        staging.clear();
        return staging;
    }

    @Override
    public void close() {
        if (staging != null) MemoryUtil.memFree(staging);
        staging = null;
        glDeleteTextures(imageTex);
        glDeleteTextures(maskTex);
    }
}
