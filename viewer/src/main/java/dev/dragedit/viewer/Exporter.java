package dev.dragedit.viewer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.cli.EditCommand;
import dev.dragedit.cli.EditSpec;
import dev.dragedit.drag.Images;
import dev.dragedit.io.AtomicFiles;
import dev.dragedit.video.Overlay;
import dev.dragedit.video.VideoWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The viewer's Ctrl+S and video export. Save writes the edited image, the input it was made from and the mask (the
 * viewer's image and strokes exist only in memory) and the sidecar of {@code dragedit edit} (EditCommand.sidecar, same
 * layout, "command": "dragedit view") whose "spec" names those files, so {@code dragedit edit --spec saved.json}
 * replays the edit and gets the same pixels. The export writes the last drag as {@code edit --video} does: the input,
 * one preview per iteration with the tracked handles, the result; handles red, targets blue, scaled up so they show.
 * Both are all or nothing: every file is written to a temporary name and moved into place, and a failure removes what
 * this call had already moved.
 */
public final class Exporter {
    private Exporter() {}

    /** Frames per second of the exported video (edit --video's default). */
    public static final double VIDEO_FPS = 8;

    /** out.png → out-input.png (the same folder). */
    public static Path inputOf(Path png) { return sibling(png, "-input.png"); }

    /** out.png → out-mask.png. */
    public static Path maskOf(Path png) { return sibling(png, "-mask.png"); }

    private static Path sibling(Path png, String suffix) {
        String n = png.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return png.resolveSibling((dot > 0 ? n.substring(0, dot) : n) + suffix);
    }

    public static void save(Path png, Images.Rgb input, byte[] maskOrNull, DragRunner.Result r, Path modelDir, RunParams p,
                            double[][] pointsXy) {
        if (r == null) throw new IllegalStateException("nothing to save: no drag has finished");
        String name = png.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".png")) throw new IllegalArgumentException(png + ": the saved image must be a .png (lossless, so the replay compares exactly)");
        if (maskOrNull != null && maskOrNull.length != input.height() * input.width())
            throw new IllegalArgumentException("the mask has " + maskOrNull.length + " values; expected " + input.height() + "×" + input.width());
        Path abs = png.toAbsolutePath().normalize();
        Path in = inputOf(abs), mask = maskOrNull == null ? null : maskOf(abs), side = EditCommand.sidecarOf(abs);

        List<String> drags = new ArrayList<>();
        for (int k = 0; k + 1 < pointsXy.length; k += 2) drags.add(EditSpec.drag(pointsXy[k], pointsXy[k + 1]));
        JsonNode old = r.sidecar().get("spec");
        EditSpec files = new EditSpec(modelDir.toAbsolutePath(), null, in, mask, p.prompt(), abs, null, null, drags, p.loraSteps(),
                old.get("steps").asInt(), p.inferenceSteps(), p.strength(), p.seed(), old.get("device").asText(), p.lr(), p.lam(), p.rM(), p.rP(),
                p.reach(), java.util.Arrays.stream(p.featureIdx()).boxed().toList(), p.loraLr());
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode s = r.sidecar().deepCopy();
        EditCommand.placeFiles(json, s, files);
        byte[] sideBytes;
        try {
            sideBytes = json.writeValueAsBytes(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Path> written = new ArrayList<>();
        boolean ok = false;
        try {
            Images.write(in, input);
            written.add(in);
            if (mask != null) {
                byte[] m = new byte[3 * maskOrNull.length];
                for (int i = 0; i < maskOrNull.length; i++)
                    if (maskOrNull[i] != 0) m[3 * i] = m[3 * i + 1] = m[3 * i + 2] = (byte) 255;
                Images.write(mask, new Images.Rgb(input.height(), input.width(), m));
                written.add(mask);
            }
            Images.write(abs, r.edited());
            written.add(abs);
            AtomicFiles.write(side, sideBytes);
            written.add(side);
            ok = true;
        } catch (IOException e) {
            throw new UncheckedIOException("save " + png + ": " + e.getMessage(), e);
        } finally {
            if (!ok) for (Path w : written) {
                try {
                    Files.deleteIfExists(w);
                } catch (IOException e) {
                    // best effort while failing
                }
            }
        }
    }

    public static void exportVideo(Path gifOrMp4, Images.Rgb input, DragRunner.Result r, double[][] pointsXy) {
        if (r == null) throw new IllegalStateException("nothing to export: no drag has finished");
        VideoWriter.check(gifOrMp4); // a bad name or a missing ffmpeg: IllegalArgumentException with the reason
        int n = pointsXy.length / 2;
        double[][] handles = new double[n][], targets = new double[n][];
        for (int k = 0; k < n; k++) {
            handles[k] = pointsXy[2 * k];
            targets[k] = pointsXy[2 * k + 1];
        }
        try (VideoWriter vw = VideoWriter.open(gifOrMp4, VIDEO_FPS)) {
            vw.add(frame(input, handles, targets));
            for (int i = 0; i < r.previews().size(); i++) {
                double[][] h = i < r.previewHandles().size() ? r.previewHandles().get(i) : handles;
                vw.add(frame(r.previews().get(i), h, targets));
            }
            vw.add(frame(r.edited(), r.finalHandlesXy(), targets));
            vw.finish();
        } catch (IOException e) {
            throw new UncheckedIOException("export " + gifOrMp4 + ": " + e.getMessage(), e);
        }
    }

    /** As edit --video's frames: scaled up to at least 256 on the shorter side, points drawn. */
    private static Images.Rgb frame(Images.Rgb picture, double[][] handlesXy, double[][] targetsXy) {
        Images.Rgb big = Overlay.upscale(picture, 256);
        return Overlay.drawPoints(big, handlesXy, targetsXy, (double) big.width() / picture.width());
    }
}
