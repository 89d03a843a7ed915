package dev.dragedit.convert;

import dev.dragedit.convert.ckpt.CkptReader;
import dev.dragedit.convert.pickle.TensorRef;
import dev.dragedit.convert.pickle.Unpickler;
import dev.dragedit.convert.testing.CkptWriter;
import dev.dragedit.convert.testing.PickleWriter;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Half;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** The restricted unpickler and the .ckpt reader: what they rebuild, and what they refuse. */
class PickleSafetyTest {
    static Object load(PickleWriter p) throws ConvertException { return new Unpickler(p.bytes(), "test.pkl").load(); }

    static String refused(PickleWriter p) {
        return assertThrows(ConvertException.class, () -> load(p)).getMessage();
    }

    static String refused(PickleWriter p, Unpickler.Limits limits) {
        return assertThrows(ConvertException.class, () -> new Unpickler(p.bytes(), "test.pkl", limits).load()).getMessage();
    }

    @Test
    void plainContainersAndTensorsAreRebuilt() throws Exception {
        PickleWriter p = new PickleWriter().proto().emptyDict().binPut(0).mark()
                .str("a").integer(-5)
                .str("b").mark().integer(1).str("x").none().bool(true).tuple()
                .str("big").integer(1L << 40)
                .str("t").tensor("HalfStorage", "7", 12, 2, new long[]{2, 3}, new long[]{3, 1})
                .str("d").global("collections", "OrderedDict").emptyTuple().reduce()
                .setItems().stop();
        Map<?, ?> m = (Map<?, ?>) load(p);
        assertEquals(-5L, m.get("a"));
        Unpickler.PyTuple b = (Unpickler.PyTuple) m.get("b");
        assertEquals(4, b.size());
        assertEquals(1L, b.get(0));
        assertEquals("x", b.get(1));
        assertNull(b.get(2));
        assertEquals(Boolean.TRUE, b.get(3));
        assertEquals(1L << 40, m.get("big"));
        TensorRef t = (TensorRef) m.get("t");
        assertEquals(DType.F16, t.storage().dtype());
        assertEquals("7", t.storage().key());
        assertEquals(2, t.offset());
        assertArrayEquals(new int[]{2, 3}, t.size());
        assertTrue(m.get("d") instanceof Map<?, ?> d && d.isEmpty());
    }

    @Test
    void codeExecutionGlobalsAreRefused(@TempDir Path tmp) {
        Path marker = tmp.resolve("pwned");
        String cmd = "touch " + marker;
        for (String[] g : new String[][]{{"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "exec"},
                {"__builtin__", "eval"}, {"subprocess", "Popen"}, {"torch", "load"}, {"torch._utils", "_rebuild_device_tensor_from_numpy"},
                {"collections", "defaultdict"}, {"builtins", "getattr"}}) {
            String msg = refused(new PickleWriter().proto().global(g[0], g[1]).mark().str(cmd).tuple().reduce().stop());
            assertTrue(msg.contains("refused global " + g[0] + "." + g[1]), msg);
        }
        // STACK_GLOBAL (protocol 4), and the call nested deep inside a dict inside a tuple.
        String msg = refused(new PickleWriter().op(0x80).op(4).str("builtins").str("eval").op(0x93).str(cmd).op(0x85).reduce().stop());
        assertTrue(msg.contains("refused global builtins.eval"), msg);
        msg = refused(new PickleWriter().proto().emptyDict().mark().str("state_dict").mark().integer(1)
                .global("posix", "system").str(cmd).op(0x85).reduce().tuple().setItems().stop());
        assertTrue(msg.contains("refused global posix.system"), msg);
        assertFalse(Files.exists(marker), "nothing may be executed");
    }

    @Test
    void objectCreationAndOtherCallsAreRefused() {
        // REDUCE of an allowed global that is not a callable we rebuild (a storage class).
        String msg = refused(new PickleWriter().proto().global("torch", "FloatStorage").emptyTuple().reduce().stop());
        assertTrue(msg.contains("refused REDUCE of torch.FloatStorage"), msg);
        // REDUCE of a non-global (a string on the stack).
        msg = refused(new PickleWriter().proto().str("os.system").emptyTuple().reduce().stop());
        assertTrue(msg.contains("refused REDUCE"), msg);
        // NEWOBJ, INST, BUILD on a non-dict.
        msg = refused(new PickleWriter().proto().global("collections", "OrderedDict").emptyTuple().op(0x81).stop());
        assertTrue(msg.contains("NEWOBJ"), msg);
        msg = refused(new PickleWriter().proto().mark().raw("ios\nsystem\n".getBytes()).stop());
        assertTrue(msg.contains("INST") && msg.contains("os.system"), msg);
        msg = refused(new PickleWriter().proto().emptyTuple().emptyDict().op('b').stop());
        assertTrue(msg.contains("BUILD"), msg);
        // A persistent id that is not a storage.
        msg = refused(new PickleWriter().proto().str("evil").binPersId().stop());
        assertTrue(msg.contains("persistent id"), msg);
        msg = refused(new PickleWriter().proto().mark().str("storage").global("collections", "OrderedDict").str("0").str("cpu").integer(4).tuple().binPersId().stop());
        assertTrue(msg.contains("not a torch storage class"), msg);
        msg = refused(new PickleWriter().proto().mark().str("storage").global("torch", "FloatStorage").str("../../etc/passwd").str("cpu").integer(4).tuple().binPersId().stop());
        assertTrue(msg.contains("not a plain archive entry name"), msg);
        // Extension codes and protocol-0 text opcodes.
        msg = refused(new PickleWriter().proto().op(0x82).op(1).stop());
        assertTrue(msg.contains("EXT"), msg);
        msg = refused(new PickleWriter().proto().op('V').raw("x\n".getBytes()).stop());
        assertTrue(msg.contains("protocol 0"), msg);
    }

    @Test
    void malformedAndHostileSizesAreRefused() {
        // Truncated in the middle of a string, of an int, and without STOP.
        byte[] full = new PickleWriter().proto().str("hello world").stop().bytes();
        for (int cut : new int[]{1, 3, 8, full.length - 1}) {
            String msg = assertThrows(ConvertException.class, () -> new Unpickler(Arrays.copyOf(full, cut), "t.pkl").load()).getMessage();
            assertTrue(msg.contains("truncated"), cut + ": " + msg);
        }
        // A 4 GiB string length, a 2^64-1 BINUNICODE8 length, a huge LONG4, a FRAME past the end.
        assertTrue(refused(new PickleWriter().proto().op('X').u32(0xffffffffL).stop()).contains("exceeds the limit"));
        assertTrue(refused(new PickleWriter().proto().op(0x8d).u32(0xffffffffL).u32(0xffffffffL).stop()).contains("exceeds the limit"));
        assertTrue(refused(new PickleWriter().proto().op(0x8b).u32(1 << 30).stop()).contains("exceeds the limit"));
        assertTrue(refused(new PickleWriter().proto().op(0x95).u32(1 << 20).u32(0).stop()).contains("FRAME"));
        // Stack and mark underflow, STOP with leftovers, memo read before write, unknown opcode.
        assertTrue(refused(new PickleWriter().proto().op('0').stop()).contains("empty stack"));
        assertTrue(refused(new PickleWriter().proto().op('t').stop()).contains("no MARK"));
        assertTrue(refused(new PickleWriter().proto().integer(1).integer(2).stop()).contains("STOP with 2 values"));
        assertTrue(refused(new PickleWriter().proto().binGet(9).stop()).contains("memo entry 9"));
        assertTrue(refused(new PickleWriter().proto().op(0xff).stop()).contains("unknown pickle opcode"));
        assertTrue(refused(new PickleWriter().op(0x80).op(9).stop()).contains("protocol 9"));
        // Tensor views that reach past their storage, or with mismatched ranks.
        assertTrue(refused(new PickleWriter().proto().tensor("FloatStorage", "0", 5, 0, new long[]{2, 3}, new long[]{3, 1}).stop()).contains("reaches element"));
        assertTrue(refused(new PickleWriter().proto().tensor("FloatStorage", "0", 50, 0, new long[]{2, 3}, new long[]{3}).stop()).contains("dimensions"));
    }

    @Test
    void bombsHitTheirBounds() {
        Unpickler.Limits small = new Unpickler.Limits(10_000, 100, 20, 50, 1 << 10, 1_000, 16);
        // Memo bomb: many distinct LONG_BINPUT slots (a sparse index must not allocate up to it).
        PickleWriter memo = new PickleWriter().proto().integer(1);
        for (int i = 0; i < 200; i++) memo.op('r').u32(0x7fffff00L + i);
        assertTrue(refused(memo.stop(), small).contains("memo"));
        // A huge memo index alone is fine (no allocation up to it).
        assertDoesNotThrow(() -> new Unpickler(new PickleWriter().proto().integer(1).op('r').u32(0xfffffff0L).stop().bytes(), "t", small).load());
        // Exponential sharing: a list appended to itself via DUP + APPENDS repeatedly grows past the container bound.
        PickleWriter grow = new PickleWriter().proto().op(']').binPut(0);
        for (int i = 0; i < 15; i++) grow.mark().binGet(0).binGet(0).binGet(0).binGet(0).op('e');
        grow.op('0').op(']');
        assertDoesNotThrow(() -> new Unpickler(grow.stop().bytes(), "t", small).load()); // self-references are not copies
        PickleWriter wide = new PickleWriter().proto().op(']').mark();
        for (int i = 0; i < 90; i++) wide.integer(i);
        wide.op('e');
        assertTrue(refused(wide.stop(), new Unpickler.Limits(10_000, 1_000, 20, 50, 1 << 10, 50, 16)).contains("list grows past"));
        // Deep nesting of marks, and a deep stack.
        PickleWriter marks = new PickleWriter().proto();
        for (int i = 0; i < 30; i++) marks.mark();
        assertTrue(refused(marks.stop(), small).contains("nested marks"));
        PickleWriter deep = new PickleWriter().proto();
        for (int i = 0; i < 150; i++) deep.integer(i);
        assertTrue(refused(deep.stop(), small).contains("stack deeper"));
        // An endless run of opcodes.
        PickleWriter ops = new PickleWriter().proto().integer(1);
        for (int i = 0; i < 6000; i++) ops.op('2').op('0');
        assertTrue(refused(ops.stop(), small).contains("opcodes"));
        // A string longer than the string bound.
        assertTrue(refused(new PickleWriter().proto().str("x".repeat(2000)).stop(), small).contains("exceeds the limit"));
    }

    // ------------------------------------------------------------------ .ckpt archives

    @Test
    void ckptStridedViewsOffsetsAndTypes(@TempDir Path tmp) throws Exception {
        // One F32 storage of 12 values holding: "w" = a [3,4] contiguous tensor; "wt" = its transpose [4,3] (stride
        // 1,4); "row" = row 1 (offset 4, size [4]); and "h" = an F16 tensor in a storage of its own, at offset 1.
        float[] s = new float[12];
        for (int i = 0; i < 12; i++) s[i] = i * 1.5f - 3;
        short[] h = {Half.floatToF16(9f), Half.floatToF16(0.5f), Half.floatToF16(-2f), Half.floatToF16(3.25f)};
        PickleWriter p = new PickleWriter().proto().emptyDict().mark()
                .str("w").tensor("FloatStorage", "0", 12, 0, new long[]{3, 4}, new long[]{4, 1})
                .str("wt").tensor("FloatStorage", "0", 12, 0, new long[]{4, 3}, new long[]{1, 4})
                .str("row").tensor("FloatStorage", "0", 12, 4, new long[]{4}, new long[]{1})
                .str("h").tensor("HalfStorage", "1", 4, 1, new long[]{3}, new long[]{1})
                .str("step").integer(3)
                .setItems().stop();
        Map<String, byte[]> st = new LinkedHashMap<>();
        st.put("0", CkptWriter.bytes(Tensor.of(s, 12)));
        st.put("1", CkptWriter.bytes(Tensor.ofHalfBits(h, DType.F16, 4)));
        Path f = tmp.resolve("m.ckpt");
        CkptWriter.writeZip(f, "m", p.bytes(), st);
        Map<String, Tensor> m = CkptReader.read(f);
        assertEquals(List.of("w", "wt", "row", "h"), List.copyOf(m.keySet()));
        assertArrayEquals(s, m.get("w").data());
        float[] wt = m.get("wt").data();
        for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) assertEquals(s[j * 4 + i], wt[i * 3 + j]);
        assertArrayEquals(Arrays.copyOfRange(s, 4, 8), m.get("row").data());
        assertEquals(DType.F16, m.get("h").dtype());
        assertArrayEquals(new short[]{h[1], h[2], h[3]}, m.get("h").halfBits());
    }

    @Test
    void zip64ArchivesWithPaddedEntries(@TempDir Path tmp) throws Exception {
        float[] s = {1, 2, 3, 4, 5, 6};
        PickleWriter p = new PickleWriter().proto().emptyDict().mark()
                .str("state_dict").emptyDict().mark()
                .str("a").tensor("FloatStorage", "0", 6, 0, new long[]{2, 3}, new long[]{3, 1})
                .setItems().setItems().stop();
        Map<String, byte[]> e = new LinkedHashMap<>();
        e.put("v1-5/data.pkl", p.bytes());
        e.put("v1-5/data/0", CkptWriter.bytes(Tensor.of(s, 6)));
        e.put("v1-5/version", "3\n".getBytes());
        Path f = tmp.resolve("z64.ckpt");
        dev.dragedit.convert.testing.Zip64Writer.write(f, e);
        // Cross-check the test's writer with the JDK's reader, then read it with ours.
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(f.toFile())) {
            assertEquals(3, z.size());
        }
        Map<String, Tensor> m = WeightFiles.read(f).tensors();
        assertArrayEquals(s, m.get("a").data());
        assertArrayEquals(new int[]{2, 3}, m.get("a").shape());
    }

    @Test
    void malformedArchivesAreRefused(@TempDir Path tmp) throws Exception {
        PickleWriter p = new PickleWriter().proto().emptyDict().mark()
                .str("w").tensor("FloatStorage", "0", 12, 0, new long[]{3, 4}, new long[]{4, 1}).setItems().stop();
        Path good = tmp.resolve("good.ckpt");
        CkptWriter.writeZip(good, "archive", p.bytes(), Map.of("0", new byte[48]));
        assertEquals(1, CkptReader.read(good).size());
        byte[] bytes = Files.readAllBytes(good);

        // Truncated anywhere: a clear error, never an exception of another kind.
        for (int cut : new int[]{0, 10, 100, bytes.length / 2, bytes.length - 30, bytes.length - 1}) {
            Path f = tmp.resolve("cut" + cut + ".ckpt");
            Files.write(f, Arrays.copyOf(bytes, cut));
            assertThrows(IOException.class, () -> WeightFiles.read(f), "cut at " + cut);
        }
        // Random bytes; a central directory offset pointing past the end.
        Path junk = tmp.resolve("junk.ckpt");
        Files.write(junk, "this is not a checkpoint at all, just text".getBytes());
        assertTrue(assertThrows(ConvertException.class, () -> WeightFiles.read(junk)).getMessage().contains("neither"));
        byte[] bad = bytes.clone();
        int eocd = bad.length - 22;
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(eocd + 16, 0x7fffffff);
        Path badCd = tmp.resolve("badcd.ckpt");
        Files.write(badCd, bad);
        assertTrue(assertThrows(ConvertException.class, () -> CkptReader.read(badCd)).getMessage().contains("outside the file"));

        // A storage shorter than the pickle says; a missing storage; no data.pkl; a deflated storage.
        Path shortSt = tmp.resolve("short.ckpt");
        CkptWriter.writeZip(shortSt, "archive", p.bytes(), Map.of("0", new byte[40]));
        assertTrue(assertThrows(ConvertException.class, () -> CkptReader.read(shortSt)).getMessage().contains("truncated"));
        Path missing = tmp.resolve("missing.ckpt");
        CkptWriter.writeZip(missing, "archive", p.bytes(), Map.of());
        assertTrue(assertThrows(ConvertException.class, () -> CkptReader.read(missing)).getMessage().contains("archive/data/0"));
        Path noPkl = tmp.resolve("nopkl.ckpt");
        try (OutputStream os = Files.newOutputStream(noPkl); ZipOutputStream z = new ZipOutputStream(os)) {
            CkptWriter.stored(z, "archive/data/0", new byte[48]);
        }
        assertTrue(assertThrows(ConvertException.class, () -> CkptReader.read(noPkl)).getMessage().contains("data.pkl"));
        Path deflated = tmp.resolve("deflated.ckpt");
        try (OutputStream os = Files.newOutputStream(deflated); ZipOutputStream z = new ZipOutputStream(os)) {
            CkptWriter.stored(z, "archive/data.pkl", p.bytes());
            z.putNextEntry(new ZipEntry("archive/data/0"));
            z.write(new byte[48]);
            z.closeEntry();
        }
        assertTrue(assertThrows(ConvertException.class, () -> CkptReader.read(deflated)).getMessage().contains("compressed"));
        // A hostile pickle inside an otherwise valid archive.
        Path evil = tmp.resolve("evil.ckpt");
        CkptWriter.writeZip(evil, "archive", new PickleWriter().proto().global("os", "system").mark().str("id").tuple().reduce().stop().bytes(), Map.of());
        String msg = assertThrows(ConvertException.class, () -> CkptReader.read(evil)).getMessage();
        assertTrue(msg.contains("evil.ckpt") && msg.contains("refused global os.system"), msg);
        // A legacy (pre-1.6) torch pickle file.
        Path legacy = tmp.resolve("legacy.pt");
        Files.write(legacy, new PickleWriter().proto().integer(1).stop().bytes());
        assertTrue(assertThrows(ConvertException.class, () -> WeightFiles.read(legacy)).getMessage().contains("legacy"));
    }
}
