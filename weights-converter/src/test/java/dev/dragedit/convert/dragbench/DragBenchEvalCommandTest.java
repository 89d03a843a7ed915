package dev.dragedit.convert.dragbench;

import dev.dragedit.cli.Main;
import dev.dragedit.convert.testing.FixtureFiles;
import dev.dragedit.drag.Images;
import dev.dragedit.eval.DragBenchReader;
import dev.dragedit.eval.DragBenchSample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code dragedit eval --suite dragbench} with the whole command tree (engine + this module's reader): a tiny DragBench
 * (two 64×64 samples in two categories, numpy pickles with a mask) and the tiny fixture Stable Diffusion folder give
 * RES/CATEGORY/SAMPLE/dragged_image.png, the paths DragDiffusion's evaluation scripts open; bad folders fail in one
 * line naming the file.
 */
class DragBenchEvalCommandTest {
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.run(args, new PrintWriter(o), new PrintWriter(e));
        return new Result(code, o.toString(), e.toString());
    }

    /** drag_bench_data with animals/JH_1 and art_work/JH_2: 64×64 images, the fixture pickle (a mask, two pairs). */
    static Path tinyBench(Path tmp) throws IOException {
        Path data = tmp.resolve("drag_bench_evaluation").resolve("drag_bench_data");
        byte[] meta = DragBenchPickleTest.resource("meta_numpy2.pkl");
        int k = 0;
        for (String s : List.of("animals/JH_1", "art_work/JH_2")) {
            Path d = data.resolve(s);
            Files.createDirectories(d);
            byte[] px = new byte[64 * 64 * 3];
            for (int i = 0; i < px.length; i++) px[i] = (byte) (90 + (i * (7 + k)) % 60);
            Images.write(d.resolve("original_image.png"), new Images.Rgb(64, 64, px));
            Files.write(d.resolve("meta_data.pkl"), meta);
            k++;
        }
        Files.writeString(data.resolve(".DS_Store"), "x");
        return data;
    }

    /** The tiny fixtures as a Stable Diffusion folder (as the engine's EditBenchCommandTest.tinySdFolder, which this module cannot see). */
    static Path tinySdFolder(Path tmp) throws IOException {
        Path sd = tmp.resolve("sd-tiny");
        Files.createDirectories(sd.resolve("scheduler"));
        Files.createSymbolicLink(sd.resolve("unet"), FixtureFiles.require("unet-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("vae"), FixtureFiles.require("vae-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("text_encoder"), FixtureFiles.require("clip-text-tiny/config.json").getParent().toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("tokenizer"), FixtureFiles.require("clip-tokenizer/tokenizer/vocab.json").getParent().toAbsolutePath());
        Files.copy(FixtureFiles.require("ddim/scheduler_config.json"), sd.resolve("scheduler/scheduler_config.json"));
        Files.writeString(sd.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\", \"_diffusers_version\": \"0.24.0\","
                + " \"scheduler\": [\"diffusers\", \"DDIMScheduler\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],"
                + " \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"], \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
                + " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"safety_checker\": [null, null], \"feature_extractor\": [null, null]}");
        return sd;
    }

    @Test
    void theReaderIsFoundAndReadsTheLayout(@TempDir Path tmp) throws Exception {
        Path data = tinyBench(tmp);
        DragBenchReader r = DragBenchReader.find().orElseThrow();
        assertInstanceOf(PickleDragBenchReader.class, r);
        List<DragBenchSample> s = r.read(data);
        assertEquals(List.of("animals/JH_1", "art_work/JH_2"), s.stream().map(DragBenchSample::id).toList());
        assertEquals("a red square on grey", s.get(0).prompt());
        assertEquals(4, s.get(0).points().length);
        assertEquals(64 * 64, s.get(0).mask().length);
    }

    @Test
    void evalWritesDraggedImagesWhereTheScriptsLook(@TempDir Path tmp) throws Exception {
        Path data = tinyBench(tmp);
        Path sd = tinySdFolder(tmp);
        Path res = tmp.resolve("res");
        Result r = run("eval", "--device", "cpu", "--suite", "dragbench", data.toString(), "--model", sd.toString(), "--out-dir", res.toString(),
                "--lora-steps", "0", "--steps", "1", "--inference-steps", "2");
        assertEquals(0, r.code(), () -> r.out() + "\n" + r.err());
        for (String s : List.of("animals/JH_1", "art_work/JH_2")) {
            Path f = res.resolve(s).resolve("dragged_image.png");
            assertTrue(Files.isRegularFile(f), f + "\n" + r.out());
            Images.Rgb img = Images.read(f);
            assertEquals(64, img.width());
            assertEquals(64, img.height());
        }
        try (var files = Files.list(res.resolve("animals/JH_1"))) {
            assertEquals(1, files.count(), "no temporary files left behind");
        }
        assertTrue(r.out().contains("[2/2] art_work/JH_2"), r.out());
        assertTrue(r.out().contains("run_eval_similarity.py --eval_root " + res.toAbsolutePath().normalize()), r.out());
        assertTrue(r.out().contains("run_eval_point_matching.py --eval_root"), r.out());

        // DIR may also be drag_bench_evaluation/; the default results folder sits next to drag_bench_data.
        Result r2 = run("eval", "--device", "cpu", "--suite", "dragbench", data.getParent().toString(), "--model", sd.toString(),
                "--lora-steps", "0", "--steps", "1", "--inference-steps", "2");
        assertEquals(0, r2.code(), () -> r2.out() + "\n" + r2.err());
        assertTrue(Files.isRegularFile(data.resolveSibling("dragedit_res_0_0.7_1").resolve("art_work/JH_2/dragged_image.png")), r2.out());
    }

    @Test
    void badFoldersFailInOneLineNamingTheFile(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("nope");
        Result a = run("eval", "--suite", "dragbench", missing.toString());
        assertNotEquals(0, a.code());
        assertTrue(a.err().contains(missing + ": no such folder"), a.err());
        assertEquals(1, a.err().strip().lines().count(), a.err());

        Path empty = Files.createDirectories(tmp.resolve("empty/animals"));
        Result b = run("eval", "--suite", "dragbench", empty.getParent().toString());
        assertNotEquals(0, b.code());
        assertTrue(b.err().contains("no DragBench samples"), b.err());

        Path data = tinyBench(tmp.resolve("bad"));
        Path pkl = data.resolve("art_work/JH_2/meta_data.pkl");
        Files.write(pkl, DragBenchPickleTest.callPickle("os", "system"));
        Result c = run("eval", "--suite", "dragbench", data.toString());
        assertNotEquals(0, c.code());
        assertTrue(c.err().contains(pkl.toString()) && c.err().contains("refused global os.system"), c.err());
        assertEquals(1, c.err().strip().lines().count(), c.err());

        Files.delete(data.resolve("animals/JH_1/original_image.png"));
        Result d = run("eval", "--suite", "dragbench", data.toString());
        assertNotEquals(0, d.code());
        assertTrue(d.err().contains(data.resolve("animals/JH_1/original_image.png") + ": missing"), d.err());

        Result e = run("eval", "--suite", "dragbench");
        assertEquals(Main.EXIT_USAGE, e.code());
        assertTrue(e.err().contains("needs DIR"), e.err());
    }
}
