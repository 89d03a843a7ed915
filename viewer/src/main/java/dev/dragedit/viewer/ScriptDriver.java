package dev.dragedit.viewer;

import java.io.IOException;
import java.util.List;
import java.util.Locale;

import static org.lwjgl.glfw.GLFW.*;

/**
 * Plays a {@link SessionScript} into the viewer between frames. Input events become the {@link InputHandler} calls a
 * user's mouse would make at the screen position of the script's image point (through the current
 * {@link ViewTransform}), so the hit test, clamping and undo grouping are the real ones; buttons and fields become
 * the same {@link ViewerApp} actions and {@link Panel} fields the panel uses. Each frame plays events until one needs
 * frames to pass: a screenshot (taken from the frame drawn next), a wait (checked once per frame, against its
 * timeout) or "frames". Any event that fails ends the script with a message naming the event.
 */
final class ScriptDriver {
    enum Outcome { CONTINUE, DONE, FAILED }

    private final SessionScript script;
    private final ViewerApp app;
    private int next;
    private String failure;
    // The event in progress across frames: its start time (waits) or frames left.
    private long waitStart = -1;
    private int framesLeft = -1;

    ScriptDriver(SessionScript script, ViewerApp app) {
        this.script = script;
        this.app = app;
    }

    String failure() { return failure; }

    /** Events played so far (the index of the next one). */
    int position() { return next; }

    Outcome advance() {
        List<SessionScript.Event> events = script.events();
        while (next < events.size()) {
            SessionScript.Event e = events.get(next);
            boolean finished;
            try {
                finished = play(e);
            } catch (IOException | RuntimeException ex) {
                failure = where(e) + ": " + (ex.getMessage() == null ? ex.toString() : ex.getMessage());
                return Outcome.FAILED;
            }
            if (failure != null) return Outcome.FAILED;
            if (!finished) return Outcome.CONTINUE;
            next++;
            waitStart = -1;
            framesLeft = -1;
            if (e instanceof SessionScript.Screenshot) return Outcome.CONTINUE;   // taken by the frame drawn now
        }
        return app.screenshotPending() ? Outcome.CONTINUE : Outcome.DONE;
    }

    private String where(SessionScript.Event e) {
        return script.file() + ": events[" + next + "] (" + kind(e) + ")";
    }

    private static String kind(SessionScript.Event e) {
        String n = e.getClass().getSimpleName();
        StringBuilder b = new StringBuilder();
        for (char c : n.toCharArray()) {
            if (Character.isUpperCase(c) && b.length() > 0) b.append('_');
            b.append(Character.toLowerCase(c));
        }
        return b.toString();
    }

    private double[] screen(double ix, double iy) { return app.view().toScreen(ix, iy); }

    /** Plays one event; false when it needs more frames (a wait not yet satisfied). */
    private boolean play(SessionScript.Event e) throws IOException {
        InputHandler in = app.input();
        if (e instanceof SessionScript.Click c) {
            requireEditable();
            boolean brush = app.panel().brush.get();
            app.panel().brush.set(false);
            double[] s = screen(c.x(), c.y());
            requireOnCanvas(s, c.x(), c.y());
            in.mouseMove(s[0], s[1]);
            in.mouseDown(GLFW_MOUSE_BUTTON_LEFT, s[0], s[1]);
            in.mouseUp(GLFW_MOUSE_BUTTON_LEFT, s[0], s[1]);
            app.panel().brush.set(brush);
        } else if (e instanceof SessionScript.DragPoint d) {
            requireEditable();
            if (!app.state().hasPoint(d.index()))
                throw new IllegalArgumentException("no point " + d.index() + " (the editor has " + app.state().pointSlots() + " point slot(s))");
            double[] from = app.state().point(d.index());
            double[] a = screen(from[0], from[1]), b = screen(d.x(), d.y());
            in.mouseMove(a[0], a[1]);
            in.grab(d.index());
            in.mouseMove(b[0], b[1]);
            in.mouseUp(GLFW_MOUSE_BUTTON_LEFT, b[0], b[1]);
        } else if (e instanceof SessionScript.RemovePoint r) {
            requireEditable();
            if (!app.state().hasPoint(r.index()))
                throw new IllegalArgumentException("no point " + r.index() + " (the editor has " + app.state().pointSlots() + " point slot(s))");
            app.state().removePoint(r.index());
        } else if (e instanceof SessionScript.Paint p) {
            requireEditable();
            Panel panel = app.panel();
            boolean brush = panel.brush.get(), may = panel.mayChange;
            float radius = panel.brushRadius[0];
            panel.brush.set(true);
            panel.mayChange = p.mayChange();
            panel.brushRadius[0] = (float) p.radius();
            List<double[]> pts = p.points();
            double[] s0 = screen(pts.get(0)[0], pts.get(0)[1]);
            requireOnCanvas(s0, pts.get(0)[0], pts.get(0)[1]);
            in.mouseMove(s0[0], s0[1]);
            in.mouseDown(GLFW_MOUSE_BUTTON_LEFT, s0[0], s0[1]);
            for (int i = 1; i < pts.size(); i++) {
                double[] s = screen(pts.get(i)[0], pts.get(i)[1]);
                in.mouseMove(s[0], s[1]);
            }
            double[] last = screen(pts.get(pts.size() - 1)[0], pts.get(pts.size() - 1)[1]);
            in.mouseUp(GLFW_MOUSE_BUTTON_LEFT, last[0], last[1]);
            panel.brush.set(brush);
            panel.mayChange = may;
            panel.brushRadius[0] = radius;
        } else if (e instanceof SessionScript.ResetMask r) {
            requireEditable(); app.state().resetMask();
        } else if (e instanceof SessionScript.ShowMask s) {
            app.panel().showMask.set(s.on());
        } else if (e instanceof SessionScript.SetField f) {
            if (app.running()) throw new IllegalStateException("the parameters cannot change while a drag runs");
            app.panel().set(f);
            app.panel().params();   // checks the value now, so a bad one names this event rather than the start
        } else if (e instanceof SessionScript.Start s) {
            app.start();
        } else if (e instanceof SessionScript.Stop s) {
            app.stop();
        } else if (e instanceof SessionScript.WaitSteps w) {
            return waitFor(w.timeoutS(), () -> !app.running() || app.runner().stepsDone() >= w.n(),
                    () -> app.runner().stepsDone() + " of " + w.n() + " step(s) done");
        } else if (e instanceof SessionScript.WaitDone w) {
            return waitFor(w.timeoutS(), () -> !app.running(), () -> "still running after " + app.runner().stepsDone() + " step(s)");
        } else if (e instanceof SessionScript.Undo u) {
            requireEditable(); requireThat(app.state().canUndo(), "nothing to undo"); app.undo();
        } else if (e instanceof SessionScript.Redo r) {
            requireEditable(); requireThat(app.state().canRedo(), "nothing to redo"); app.redo();
        } else if (e instanceof SessionScript.Zoom z) {
            in.scroll(z.x(), z.y(), Math.log(z.factor()) / Math.log(InputHandler.ZOOM_STEP));
        } else if (e instanceof SessionScript.Fit f) {
            in.key(GLFW_KEY_F, GLFW_PRESS, 0);
        } else if (e instanceof SessionScript.ActualSize a) {
            in.key(GLFW_KEY_1, GLFW_PRESS, 0);
        } else if (e instanceof SessionScript.Pan p) {
            double[] vp = app.view().viewport();
            double cx = vp[0] + vp[2] / 2, cy = vp[1] + vp[3] / 2;
            in.mouseMove(cx, cy);
            in.mouseDown(GLFW_MOUSE_BUTTON_MIDDLE, cx, cy);
            in.mouseMove(cx + p.dx(), cy + p.dy());
            in.mouseUp(GLFW_MOUSE_BUTTON_MIDDLE, cx + p.dx(), cy + p.dy());
        } else if (e instanceof SessionScript.Screenshot s) {
            app.requestScreenshot(s.path());
        } else if (e instanceof SessionScript.Save s) {
            requireEditable(); app.save(s.path());
        } else if (e instanceof SessionScript.Export x) {
            requireEditable(); app.exportVideo(x.path());
        } else if (e instanceof SessionScript.Open o) {
            app.open(o.path());
        } else if (e instanceof SessionScript.Frames f) {
            if (framesLeft < 0) framesLeft = f.n();
            return framesLeft-- <= 0;
        }
        return true;
    }

    private void requireEditable() {
        if (!app.editable()) throw new IllegalStateException("a drag is running; wait for it (wait_done) or stop it first");
    }

    private static void requireThat(boolean ok, String message) {
        if (!ok) throw new IllegalStateException(message);
    }

    private void requireOnCanvas(double[] s, double ix, double iy) {
        if (!app.view().inViewport(s[0], s[1]))
            throw new IllegalArgumentException(String.format(Locale.ROOT, "image point (%.1f, %.1f) is at window (%.0f, %.0f), outside the canvas; "
                    + "fit or pan first", ix, iy, s[0], s[1]));
    }

    private boolean waitFor(double timeoutS, java.util.function.BooleanSupplier done, java.util.function.Supplier<String> progress) {
        if (app.failure() != null && !app.running()) {
            failure = where(script.events().get(next)) + ": the drag failed: " + app.failure();
            return false;
        }
        if (done.getAsBoolean()) return true;
        long now = System.nanoTime();
        if (waitStart < 0) waitStart = now;
        if ((now - waitStart) / 1e9 > timeoutS) {
            RunFrame f = app.latestFrame();
            failure = where(script.events().get(next)) + String.format(Locale.ROOT, ": timed out after %.0f s (%s; phase %s)", timeoutS,
                    progress.get(), f == null ? "not started" : f.phase());
            return false;
        }
        return false;
    }
}
