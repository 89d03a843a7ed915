package dev.dragedit.viewer;

import imgui.ImGui;
import imgui.flag.ImGuiCond;
import imgui.flag.ImGuiInputTextFlags;
import imgui.flag.ImGuiWindowFlags;
import imgui.type.ImBoolean;
import imgui.type.ImDouble;
import imgui.type.ImInt;
import imgui.type.ImLong;
import imgui.type.ImString;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The side panel (imgui): the run's parameters as editable fields, the model picker, the buttons, the brush settings
 * and the readouts of the running drag. It holds the fields' values (imgui edits them in place) and turns them into a
 * {@link RunParams} at Start; the scripted "set" event writes the same fields, so a script and a user go through the
 * same values. The three path dialogs (open, save, export) are imgui popups with a text field, which works the same
 * with a real window and on the null platform (a native file dialog would not).
 */
final class Panel {
    /** Width of the panel in window pixels; the canvas is the rest of the window to its right. */
    static final float WIDTH = 340;

    final ImString prompt = new ImString(512);
    final ImLong seed = new ImLong();
    final ImInt steps = new ImInt(), rM = new ImInt(), rP = new ImInt(), loraSteps = new ImInt(), inferenceSteps = new ImInt();
    final ImDouble lr = new ImDouble(), lam = new ImDouble(), strength = new ImDouble(), loraLr = new ImDouble(), reach = new ImDouble();
    final ImString modelPath = new ImString(1024);
    /** DragDiffusion's unet_feature_idx as text, e.g. "3" or "2,3". */
    final ImString features = new ImString(64);
    final ImBoolean showMask = new ImBoolean(true);
    final ImBoolean brush = new ImBoolean(false);
    /** Brush mode: may change (true) or keep (false). */
    boolean mayChange = true;
    /** Brush radius in image pixels. */
    final float[] brushRadius = {6f};

    private final ImString dialogPath = new ImString(1024);
    private Dialog dialog;
    private boolean openDialog;

    enum Dialog { OPEN, SAVE, EXPORT }

    Panel(RunParams p, Path model) {
        setParams(p);
        modelPath.set(model.toString());
    }

    void setParams(RunParams p) {
        prompt.set(p.prompt());
        seed.set(p.seed());
        steps.set(p.steps());
        lr.set(p.lr());
        lam.set(p.lam());
        rM.set(p.rM());
        rP.set(p.rP());
        strength.set(p.strength());
        loraSteps.set(p.loraSteps());
        inferenceSteps.set(p.inferenceSteps());
        features.set(p.featureIdxText());
        loraLr.set(p.loraLr());
        reach.set(p.reach());
    }

    /** The fields as run parameters; IllegalArgumentException naming the field when one is out of range. */
    RunParams params() {
        check(steps.get() >= 1, "steps must be at least 1");
        check(lr.get() > 0 && Double.isFinite(lr.get()), "the learning rate must be positive");
        check(lam.get() >= 0 && Double.isFinite(lam.get()), "λ must be ≥ 0");
        check(rM.get() >= 0, "r_m must be ≥ 0");
        check(rP.get() >= 1, "r_p must be ≥ 1");
        check(strength.get() > 0 && strength.get() <= 1, "the inversion strength must be in (0, 1]");
        check(loraSteps.get() >= 0, "LoRA steps must be ≥ 0");
        check(loraLr.get() > 0 && loraLr.get() <= 1, "the LoRA learning rate must be in (0, 1]");
        check(reach.get() > 0 && Double.isFinite(reach.get()), "reach must be > 0 (supervision pixels)");
        check(inferenceSteps.get() >= 1, "inference steps must be at least 1");
        int[] k = RunParams.parseFeatureIdx(features.get());
        try {
            dev.dragedit.drag.DragDiffusion.checkFeatureIdx(k);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replace("edit: unet_feature_idx", "features"));
        }
        return new RunParams(prompt.get(), seed.get(), steps.get(), lr.get(), lam.get(), rM.get(), rP.get(), strength.get(),
                loraSteps.get(), inferenceSteps.get(), k, loraLr.get(), reach.get());
    }

    /**
     * Text for imgui's default font, which has only ASCII glyphs (others show as '?'): the messages' typographic
     * characters spelled out. Paths with other characters still show '?', but stay correct in the field and the log.
     */
    static String ascii(String s) {
        return s.replace("…", "...").replace("—", "-").replace("–", "-").replace("×", "x").replace("λ", "lambda")
                .replace("≥", ">=").replace("≤", "<=").replace("’", "'").replace("“", "\"").replace("”", "\"");
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** The scripted "set" event: the field names of {@link SessionScript#SET_FIELDS}. */
    void set(SessionScript.SetField f) {
        switch (f.field()) {
            case "prompt" -> prompt.set(f.stringValue());
            case "seed" -> seed.set(f.longValue());
            case "steps" -> steps.set(f.intValue());
            case "lr" -> lr.set(f.doubleValue());
            case "lam" -> lam.set(f.doubleValue());
            case "r_m" -> rM.set(f.intValue());
            case "r_p" -> rP.set(f.intValue());
            case "strength" -> strength.set(f.doubleValue());
            case "lora_steps" -> loraSteps.set(f.intValue());
            case "inference_steps" -> inferenceSteps.set(f.intValue());
            default -> throw new IllegalArgumentException("unknown field '" + f.field() + "' (expected one of " + SessionScript.SET_FIELDS + ")");
        }
    }

    /** Opens one of the path dialogs on the next frame (Ctrl+O, Ctrl+S, the buttons). */
    void showDialog(Dialog d, String initial) {
        dialog = d;
        dialogPath.set(initial);
        openDialog = true;
    }

    /** Whether a popup has the keyboard (the canvas's shortcuts are off while it is open). */
    boolean dialogOpen() { return dialog != null; }

    void draw(ViewerApp app, float windowH) {
        ImGui.setNextWindowPos(0, 0, ImGuiCond.Always);
        ImGui.setNextWindowSize(WIDTH, windowH, ImGuiCond.Always);
        ImGui.begin("dragedit", ImGuiWindowFlags.NoMove | ImGuiWindowFlags.NoResize | ImGuiWindowFlags.NoCollapse);
        boolean running = app.running();

        ImGui.pushItemWidth(180);
        if (ImGui.collapsingHeader("Edit", imgui.flag.ImGuiTreeNodeFlags.DefaultOpen)) {
            if (ImGui.button(running ? "Stop (Space)" : "Start (Space)")) app.toggleRun();
            ImGui.beginDisabled(running);
            ImGui.sameLine();
            if (ImGui.button("Reset points")) app.state().clearPoints();
            ImGui.sameLine();
            if (ImGui.button("Reset mask")) app.state().resetMask();
            ImGui.checkbox("Show mask", showMask);
            ImGui.sameLine();
            ImGui.checkbox("Brush", brush);
            if (ImGui.radioButton("may change", mayChange)) mayChange = true;
            ImGui.sameLine();
            if (ImGui.radioButton("keep", !mayChange)) mayChange = false;
            ImGui.sliderFloat("radius ([ ])", brushRadius, 1, 64, "%.0f px");
            if (ImGui.button("Undo")) app.undo();
            ImGui.sameLine();
            if (ImGui.button("Redo")) app.redo();
            ImGui.endDisabled();
            ImGui.sameLine();
            if (ImGui.button("Fit (F)")) app.view().fit();
            ImGui.sameLine();
            if (ImGui.button("100% (1)")) app.view().actualSize();
            ImGui.beginDisabled(running);
            if (ImGui.button("Open...")) showDialog(Dialog.OPEN, "");
            ImGui.sameLine();
            if (ImGui.button("Save...")) showDialog(Dialog.SAVE, "edited.png");
            ImGui.sameLine();
            if (ImGui.button("Export GIF...")) showDialog(Dialog.EXPORT, "drag.gif");
            ImGui.endDisabled();
        }

        String status = app.statusLine();
        if (status != null) {
            ImGui.separator();
            ImGui.textWrapped(ascii(status));
        }
        if (ImGui.collapsingHeader("Run", imgui.flag.ImGuiTreeNodeFlags.DefaultOpen)) {
            RunFrame f = app.latestFrame();
            if (f == null) {
                ImGui.text("phase: idle");
            } else {
                ImGui.text("phase: " + f.phase());
                ImGui.text(String.format(Locale.ROOT, "step: %d / %d", f.step(), f.steps()));
                ImGui.text("loss: " + (Double.isNaN(f.loss()) ? "-" : String.format(Locale.ROOT, "%.5f", f.loss())));
                if (f.distances() != null) {
                    for (int k = 0; k < f.distances().length; k++) {
                        double[] d = f.distances()[k];
                        ImGui.text(String.format(Locale.ROOT, "handle %d: %.1f px to target", k, d == null || d.length == 0 ? Double.NaN : d[0]));
                    }
                }
                ImGui.text(String.format(Locale.ROOT, "%.2f it/s", f.itPerSec()));
                ImGui.textWrapped(ascii("device: " + (f.device() == null ? "-" : f.device())));
                ImGui.text(String.format(Locale.ROOT, "memory: %.1f MiB", f.memoryBytes() / 1048576.0));
                if (f.message() != null && !f.message().isEmpty()) ImGui.textWrapped(ascii(f.message()));
            }
            ImGui.text(String.format(Locale.ROOT, "UI %.0f Hz, %.0f frames/s drawn, %.1f ms/frame", app.tickRate(), app.fps(), app.drawMs()));
        }
        if (ImGui.collapsingHeader("Parameters", imgui.flag.ImGuiTreeNodeFlags.DefaultOpen)) {
            ImGui.beginDisabled(running);
            ImGui.inputText("prompt", prompt);
            ImGui.inputScalar("seed", seed);
            ImGui.inputInt("steps", steps);
            ImGui.inputDouble("lr", lr, 0.001, 0.01, "%.4f");
            ImGui.inputDouble("lambda", lam, 0.01, 0.1, "%.3f");
            ImGui.inputInt("r_m", rM);
            ImGui.inputInt("r_p", rP);
            ImGui.inputDouble("reach", reach, 0.5, 1.0, "%.2f");
            ImGui.inputDouble("strength", strength, 0.05, 0.1, "%.2f");
            ImGui.inputInt("LoRA steps", loraSteps);
            ImGui.inputDouble("LoRA lr", loraLr, 1e-4, 1e-3, "%.5f");
            ImGui.inputInt("inference steps", inferenceSteps);
            ImGui.inputText("features", features);
            ImGui.endDisabled();
        }

        if (ImGui.collapsingHeader("Model", imgui.flag.ImGuiTreeNodeFlags.DefaultOpen)) {
            ImGui.beginDisabled(running);
            ImGui.inputText("##model", modelPath);
            ImGui.sameLine();
            if (ImGui.button("Load")) app.loadModel(Path.of(modelPath.get().trim()), true);
            List<String> recent = app.recentModels();
            if (!recent.isEmpty() && ImGui.beginCombo("Recent", "")) {
                for (String r : recent) {
                    if (ImGui.selectable(r)) {
                        modelPath.set(r);
                        app.loadModel(Path.of(r), true);
                    }
                }
                ImGui.endCombo();
            }
            ImGui.endDisabled();
            ImGui.textWrapped(ascii("loaded: " + app.modelDir()));
        }

        ImGui.popItemWidth();
        ImGui.end();
        drawDialog(app);
    }

    private void drawDialog(ViewerApp app) {
        if (dialog == null) return;
        String title = switch (dialog) {
            case OPEN -> "Open image";
            case SAVE -> "Save edited image + sidecar";
            case EXPORT -> "Export the last drag (GIF or MP4)";
        };
        if (openDialog) {
            ImGui.openPopup(title);
            openDialog = false;
        }
        if (ImGui.beginPopupModal(title)) {
            ImGui.text("path:");
            boolean enter = ImGui.inputText("##path", dialogPath, ImGuiInputTextFlags.EnterReturnsTrue);
            if (ImGui.button("OK") || enter) {
                Path p = Path.of(dialogPath.get().trim());
                switch (dialog) {
                    case OPEN -> app.openFromUi(p);
                    case SAVE -> app.saveFromUi(p);
                    case EXPORT -> app.exportFromUi(p);
                }
                dialog = null;
                ImGui.closeCurrentPopup();
            }
            ImGui.sameLine();
            if (ImGui.button("Cancel") || ImGui.isKeyPressed(org.lwjgl.glfw.GLFW.GLFW_KEY_ESCAPE)) {
                dialog = null;
                ImGui.closeCurrentPopup();
            }
            ImGui.endPopup();
        } else {
            dialog = null;
        }
    }
}
