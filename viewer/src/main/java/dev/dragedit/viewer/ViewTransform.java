package dev.dragedit.viewer;

/**
 * The canvas's view of the image: where on the screen (window pixels, y down) the image lies and at what scale, and
 * the conversion both ways. Clicks, strokes and drags arrive in window pixels and become continuous image coordinates
 * here ((0, 0) is the top-left corner of the top-left pixel); the renderer goes the other way to place the image quad,
 * the points and the arrows. It is a plain affine map, screen = origin + image · scale, kept as the origin's screen
 * position and the scale, so that zooming at the cursor is exact: the image point under the cursor stays under it.
 * <p>
 * Until the user zooms or pans, the view stays "fitted": a new viewport (a resized window) fits the image again. After
 * a zoom or pan, a new viewport keeps the image point at the viewport's centre at the new centre, so that resizing
 * the window does not throw away where the user was looking. Not thread-safe: the UI thread owns it.
 */
public final class ViewTransform {
    /** Zoom limits: 1/16 shows a 16k image in 1000 window pixels; 64 makes one image pixel a 64-pixel block, enough to place points inside a pixel. */
    public static final double MIN_SCALE = 1.0 / 16, MAX_SCALE = 64;

    private int imageW, imageH;
    private double vx, vy, vw, vh;
    private double scale = 1, originX, originY;
    /** Whether the view is the fit of the current viewport (no zoom or pan since); a new viewport then refits. */
    private boolean fitted;

    public ViewTransform(int imageW, int imageH) {
        checkSize(imageW, imageH);
        this.imageW = imageW;
        this.imageH = imageH;
        // A first viewport the image's size, so that the transform is usable (identity) before the window reports its size.
        this.vw = imageW;
        this.vh = imageH;
        fit();
    }

    private static void checkSize(int w, int h) {
        if (w < 1 || h < 1) throw new IllegalArgumentException("image size " + w + "×" + h + " must be positive");
    }

    /** The canvas rectangle in window pixels. A zero or negative size (a minimised window) is kept but changes nothing in the view. */
    public void setViewport(double x, double y, double w, double h) {
        if (!(Double.isFinite(x) && Double.isFinite(y) && Double.isFinite(w) && Double.isFinite(h)))
            throw new IllegalArgumentException("viewport " + x + ", " + y + ", " + w + "×" + h + " must be finite");
        if (w <= 0 || h <= 0) {
            vx = x; vy = y; vw = w; vh = h;
            return;
        }
        if (fitted || vw <= 0 || vh <= 0) {
            vx = x; vy = y; vw = w; vh = h;
            fit();
            return;
        }
        double[] centre = toImage(vx + vw / 2, vy + vh / 2);
        vx = x; vy = y; vw = w; vh = h;
        originX = vx + vw / 2 - centre[0] * scale;
        originY = vy + vh / 2 - centre[1] * scale;
    }

    /**
     * The whole image centred in the viewport at the largest scale that fits, at most {@link #MAX_SCALE} (a tiny image is
     * not blown up beyond it). An image larger than 16 viewports still fits (below {@link #MIN_SCALE}).
     */
    public void fit() {
        if (vw > 0 && vh > 0) scale = Math.min(MAX_SCALE, Math.min(vw / imageW, vh / imageH));
        centre();
        fitted = true;
    }

    /** Scale 1 (one image pixel per window pixel), the image centred in the viewport. */
    public void actualSize() {
        scale = 1;
        centre();
        fitted = false;
    }

    private void centre() {
        originX = vx + (vw - imageW * scale) / 2;
        originY = vy + (vh - imageH * scale) / 2;
    }

    /**
     * Multiplies the scale by factor (wheel: e.g. 1.1 per notch in, 1/1.1 out), keeping the image point under
     * (screenX, screenY) there. The scale is clamped to [{@link #MIN_SCALE}, {@link #MAX_SCALE}], or down to the fit's
     * scale where the fit is smaller, so a huge image can still be zoomed out to its fit.
     */
    public void zoomAt(double screenX, double screenY, double factor) {
        if (!(factor > 0 && Double.isFinite(factor)))
            throw new IllegalArgumentException("zoom factor " + factor + " must be a positive finite number");
        if (!(Double.isFinite(screenX) && Double.isFinite(screenY)))
            throw new IllegalArgumentException("zoom centre " + screenX + ", " + screenY + " must be finite");
        double[] p = toImage(screenX, screenY);
        double min = MIN_SCALE;
        if (vw > 0 && vh > 0) min = Math.min(min, Math.min(vw / imageW, vh / imageH));
        double s = Math.max(min, Math.min(MAX_SCALE, scale * factor));
        if (s == scale) return;
        scale = s;
        originX = screenX - p[0] * scale;
        originY = screenY - p[1] * scale;
        fitted = false;
    }

    /** Moves the image by (dx, dy) window pixels (middle drag, Space-drag). */
    public void panBy(double dxScreen, double dyScreen) {
        if (!(Double.isFinite(dxScreen) && Double.isFinite(dyScreen)))
            throw new IllegalArgumentException("pan " + dxScreen + ", " + dyScreen + " must be finite");
        if (dxScreen == 0 && dyScreen == 0) return;
        originX += dxScreen;
        originY += dyScreen;
        fitted = false;
    }

    /** Window pixels per image pixel. */
    public double scale() { return scale; }

    /** Continuous image coordinates {x, y} of a window position (not clamped: a point may lie outside the image). */
    public double[] toImage(double screenX, double screenY) {
        return new double[]{(screenX - originX) / scale, (screenY - originY) / scale};
    }

    /** Window position {x, y} of continuous image coordinates. */
    public double[] toScreen(double imageX, double imageY) {
        return new double[]{originX + imageX * scale, originY + imageY * scale};
    }

    /** A new image (Ctrl+O, a result of another size): keeps the viewport and fits the new image into it. */
    public void setImageSize(int w, int h) {
        checkSize(w, h);
        imageW = w;
        imageH = h;
        fit();
    }

    /** Whether the view is the fit of the viewport (no zoom or pan since the last {@link #fit}). */
    public boolean fitted() { return fitted; }

    public int imageWidth() { return imageW; }

    public int imageHeight() { return imageH; }

    /** Window position of the image's top-left corner: with {@link #scale}, where to draw the image quad. */
    public double originX() { return originX; }

    public double originY() { return originY; }

    /** The viewport {x, y, w, h} in window pixels. */
    public double[] viewport() { return new double[]{vx, vy, vw, vh}; }

    /** Whether a window position lies inside the viewport (clicks outside the canvas, on the panel, are not the canvas's). */
    public boolean inViewport(double screenX, double screenY) {
        return screenX >= vx && screenX < vx + vw && screenY >= vy && screenY < vy + vh;
    }
}
