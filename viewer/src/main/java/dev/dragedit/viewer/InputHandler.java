package dev.dragedit.viewer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.lwjgl.glfw.GLFW.*;

/**
 * The canvas's mouse and keyboard: window-pixel events in, editor and view changes out. GLFW's callbacks call it for
 * real input (unless imgui wants the event: a click on the panel, typing in a field), and the {@link ScriptDriver}
 * calls the same methods with the screen positions of the script's image points, so a scripted click goes through
 * the same hit test, clamping and undo steps as a user's.
 * <ul>
 * <li>left button: on a point, drags it; with the brush on, paints; else adds a point (handle, then its target);</li>
 * <li>right button or Del: removes the point under the cursor;</li>
 * <li>middle button, or Space + left button: pans; Space alone (pressed and released without panning) starts/stops;</li>
 * <li>wheel: zooms at the cursor; F fits, 1 is 100%; [ and ] change the brush radius;</li>
 * <li>Ctrl+Z undo, Ctrl+Shift+Z (or Ctrl+Y) redo, Ctrl+O open, Ctrl+S save.</li>
 * </ul>
 * While a drag runs, the points and the mask are not editable (the run works on the ones it started with); the view
 * can still be zoomed and panned, and Space stops the run.
 */
final class InputHandler {
    /** How near (window pixels) a click must be to a point to grab it rather than add a new one. */
    static final double PICK_RADIUS = 10;
    /** Wheel zoom per notch. */
    static final double ZOOM_STEP = 1.15;

    private final ViewerApp app;
    private double mouseX = Double.NaN, mouseY = Double.NaN;
    private boolean panning, painting, spaceDown, spacePanned;
    private int movingPoint = -1;

    InputHandler(ViewerApp app) { this.app = app; }

    /** The last cursor position in window pixels (NaN before the first event). */
    double mouseX() { return mouseX; }

    double mouseY() { return mouseY; }

    boolean painting() { return painting; }

    void mouseMove(double sx, double sy) {
        double dx = sx - mouseX, dy = sy - mouseY;
        mouseX = sx;
        mouseY = sy;
        if (panning) {
            if (Double.isFinite(dx) && Double.isFinite(dy)) app.view().panBy(dx, dy);
            if (spaceDown) spacePanned = true;
            return;
        }
        double[] p = app.view().toImage(sx, sy);
        if (movingPoint >= 0) app.state().moveTo(p[0], p[1]);
        else if (painting) app.state().strokeTo(p[0], p[1]);
    }

    void mouseDown(int button, double sx, double sy) {
        mouseX = sx;
        mouseY = sy;
        if (!app.view().inViewport(sx, sy)) return;
        if (button == GLFW_MOUSE_BUTTON_MIDDLE || (button == GLFW_MOUSE_BUTTON_LEFT && spaceDown)) {
            panning = true;
            return;
        }
        if (!app.editable()) return;
        double[] p = app.view().toImage(sx, sy);
        if (button == GLFW_MOUSE_BUTTON_RIGHT) {
            int i = app.state().pointAt(p[0], p[1], PICK_RADIUS / app.view().scale());
            if (i >= 0) app.state().removePoint(i);
            return;
        }
        if (button != GLFW_MOUSE_BUTTON_LEFT) return;
        Panel panel = app.panel();
        if (panel.brush.get()) {
            painting = true;
            app.state().beginStroke(panel.mayChange, panel.brushRadius[0]);
            app.state().strokeTo(p[0], p[1]);
            return;
        }
        int i = app.state().pointAt(p[0], p[1], PICK_RADIUS / app.view().scale());
        if (i >= 0) grab(i);
        else app.state().click(p[0], p[1]);
    }

    /** Starts moving point {@code index} as a press on it does (the script's drag_point names its point by index). */
    void grab(int index) {
        if (!app.editable()) return;
        movingPoint = index;
        app.state().beginMove(index);
    }

    void mouseUp(int button, double sx, double sy) {
        if (button == GLFW_MOUSE_BUTTON_MIDDLE || (button == GLFW_MOUSE_BUTTON_LEFT && panning)) {
            panning = false;
            return;
        }
        if (button != GLFW_MOUSE_BUTTON_LEFT) return;
        if (Double.isFinite(sx) && (sx != mouseX || sy != mouseY)) mouseMove(sx, sy);
        if (movingPoint >= 0) {
            app.state().endMove();
            movingPoint = -1;
        }
        if (painting) {
            app.state().endStroke();
            painting = false;
        }
    }

    void scroll(double sx, double sy, double notches) {
        if (notches == 0 || !app.view().inViewport(sx, sy)) return;
        app.view().zoomAt(sx, sy, Math.pow(ZOOM_STEP, notches));
    }

    /** A key press or release (GLFW codes and modifier bits). */
    void key(int key, int action, int mods) {
        boolean press = action == GLFW_PRESS, repeat = action == GLFW_REPEAT;
        if (key == GLFW_KEY_SPACE) {
            if (press) {
                spaceDown = true;
                spacePanned = false;
            } else if (action == GLFW_RELEASE) {
                if (spaceDown && !spacePanned) app.toggleRun();
                spaceDown = false;
                panning = false;
            }
            return;
        }
        if (!press && !repeat) return;
        boolean ctrl = (mods & GLFW_MOD_CONTROL) != 0, shift = (mods & GLFW_MOD_SHIFT) != 0;
        Panel panel = app.panel();
        if (ctrl) {
            switch (key) {
                case GLFW_KEY_Z -> { if (shift) app.redo(); else app.undo(); }
                case GLFW_KEY_Y -> app.redo();
                case GLFW_KEY_O -> { if (press && app.editable()) panel.showDialog(Panel.Dialog.OPEN, ""); }
                case GLFW_KEY_S -> { if (press && app.editable()) panel.showDialog(Panel.Dialog.SAVE, "edited.png"); }
                default -> { }
            }
            return;
        }
        switch (key) {
            case GLFW_KEY_F -> app.view().fit();
            case GLFW_KEY_1 -> app.view().actualSize();
            case GLFW_KEY_LEFT_BRACKET -> panel.brushRadius[0] = Math.max(1, panel.brushRadius[0] - 1);
            case GLFW_KEY_RIGHT_BRACKET -> panel.brushRadius[0] = Math.min(256, panel.brushRadius[0] + 1);
            case GLFW_KEY_DELETE, GLFW_KEY_BACKSPACE -> {
                if (!app.editable() || !Double.isFinite(mouseX)) return;
                double[] p = app.view().toImage(mouseX, mouseY);
                int i = app.state().pointAt(p[0], p[1], PICK_RADIUS / app.view().scale());
                if (i >= 0) app.state().removePoint(i);
            }
            default -> { }
        }
    }

    /** Files dropped on the window: a folder is a model to load, a file an image to open (the last one wins). */
    void drop(String[] paths) {
        for (String s : paths) {
            Path p = Path.of(s);
            if (Files.isDirectory(p)) app.loadModel(p, true);
            else app.openFromUi(p);
        }
    }
}
