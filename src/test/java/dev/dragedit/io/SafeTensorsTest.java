// Reading and writing well-formed safetensors files: bit-exact round trips of every dtype (NaN payloads, infinities,
// subnormals, -0, rank 0, zero-size), metadata, lazy mapped reads across windows and past 2 GiB (sparse file), the
// golden file written by the reference Python library (read, and rewritten byte for byte), and atomic writes that
// leave the destination untouched on failure. Malformed files are in SafeTensorsMalformedTest.
package dev.dragedit.io;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path dir;

    /** A tensor of any dtype from raw little-endian bytes, the only way to build I32 and U8 tensors. */
    static Tensor raw(DType dtype, ByteBuffer le, int... shape) {
        return Tensor.mapped(le.flip(), dtype, shape);
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Map<String, Tensor> everyDtype() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("f32", Tensor.of(new float[]{0f, -0f, 1f, -1.5f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
                Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.intBitsToFloat(0xffc12345), 3.14159f, 1e-40f}, 2, 7));
        m.put("f16", Tensor.ofHalfBits(shorts(0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00,
                0xfc00, 0x7e00, 0x7e55, 0x3c00, 0xbc00, 0x3555), DType.F16, 3, 5));
        m.put("bf16", Tensor.ofHalfBits(shorts(0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x7f7f, 0xff7f, 0x7f80, 0xff80,
                0x7fc0, 0x7fc3, 0x3f80, 0xbf80, 0x4049), DType.BF16, 14));
        m.put("i64", Tensor.ofI64(new long[]{Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE, (1L << 53) + 1}, 3, 2));
        m.put("f64", Tensor.ofF64(new double[]{0.0, -0.0, Double.MIN_VALUE, Double.MIN_NORMAL, Double.MAX_VALUE,
                Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN,
                Double.longBitsToDouble(0x7ff8000000000123L), Math.PI}, 10));
        ByteBuffer i32 = le(20);
        for (int v : new int[]{Integer.MIN_VALUE, -1, 0, 7, Integer.MAX_VALUE}) i32.putInt(v);
        m.put("i32", raw(DType.I32, i32, 5, 1));
        ByteBuffer u8 = le(6).put(new byte[]{0, 1, 127, (byte) 128, (byte) 254, (byte) 255});
        m.put("u8", raw(DType.U8, u8, 2, 3));
        m.put("scalar", Tensor.scalar(-2.5f));
        m.put("scalar_i64", Tensor.ofI64(new long[]{42}));
        m.put("empty", Tensor.zeros(0));
        m.put("empty_f16", Tensor.zeros(DType.F16, 3, 0, 2));
        m.put("empty_u8", raw(DType.U8, le(0), 0));
        return m;
    }

    static short[] shorts(int... v) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = (short) v[i];
        return s;
    }

    @Test
    void everyDtypeRoundTripsBitExactly() throws IOException {
        Map<String, Tensor> in = everyDtype();
        Path p = dir.resolve("all.safetensors");
        SafeTensors.write(p, in, Map.of());
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.copyOf(in.keySet()), st.names());
            for (Map.Entry<String, Tensor> e : in.entrySet()) {
                Tensor want = e.getValue();
                TensorInfo info = st.info(e.getKey());
                assertEquals(want.dtype(), info.dtype(), e.getKey());
                assertArrayEquals(want.shape(), info.shape(), e.getKey());
                Tensor got = st.get(e.getKey());
                assertTrue(got.isMapped(), e.getKey() + " should stay in the file until used");
                assertEquals(want.dtype(), got.dtype());
                assertArrayEquals(want.shape(), got.shape());
                assertEquals(want.toBytes(), got.toBytes(), e.getKey() + " bytes differ");
            }
            // Decoding through the typed accessors keeps bit patterns, NaN payloads included.
            float[] f = st.get("f32").data();
            float[] f0 = in.get("f32").data();
            for (int i = 0; i < f.length; i++) assertEquals(Float.floatToRawIntBits(f0[i]), Float.floatToRawIntBits(f[i]), "f32[" + i + "]");
            assertArrayEquals(in.get("f16").halfBits(), st.get("f16").halfBits());
            assertArrayEquals(in.get("bf16").halfBits(), st.get("bf16").halfBits());
            assertArrayEquals(in.get("i64").longs(), st.get("i64").longs());
            double[] d = st.get("f64").doubles();
            double[] d0 = in.get("f64").doubles();
            for (int i = 0; i < d.length; i++) assertEquals(Double.doubleToRawLongBits(d0[i]), Double.doubleToRawLongBits(d[i]), "f64[" + i + "]");
            Tensor i32 = st.get("i32");
            assertEquals(Integer.MIN_VALUE, i32.getDouble(0));
            assertEquals(7, i32.getDouble(3));
            Tensor u8 = st.get("u8");
            assertEquals(255f, u8.getFloat(5));
            assertEquals(128f, u8.getFloat(3));
            assertEquals(-2.5f, st.get("scalar").item());
            assertEquals(0, st.get("scalar").rank());
            assertEquals(42L, st.get("scalar_i64").longs()[0]);
            assertEquals(0, st.get("empty").numel());
            assertArrayEquals(new int[]{3, 0, 2}, st.get("empty_f16").shape());
            assertEquals(0, st.get("empty_f16").halfBits().length);
            assertTrue(st.metadata().isEmpty());
        }
    }

    @Test
    void metadataRoundTripsInOrderWithAnyCharacters() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("quote\"back\\slash", "line\nbreak\ttab\u0001ctl");
        meta.put("unicode", "drag ✋ ünïcödé 🐍");
        meta.put("", "");
        meta.put("json", "{\"nested\": [1, 2]}");
        Path p = dir.resolve("meta.safetensors");
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("名前 with spaces/and.dots", Tensor.of(new float[]{1, 2}, 2));
        SafeTensors.write(p, in, meta);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.copyOf(meta.entrySet()), List.copyOf(st.metadata().entrySet()));
            assertEquals(List.of("名前 with spaces/and.dots"), st.names());
        }
    }

    @Test
    void writtenFileHasTheReferenceLayout() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b", Tensor.of(new float[]{1, 2, 3}, 3));
        in.put("a", Tensor.ofHalfBits(shorts(0x3c00), DType.F16, 1, 1));
        Path p = dir.resolve("layout.safetensors");
        SafeTensors.write(p, in, Map.of("k", "v"));
        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data section must start 8-aligned");
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                + "\"a\":{\"dtype\":\"F16\",\"shape\":[1,1],\"data_offsets\":[12,14]},\"__metadata__\":{\"k\":\"v\"}}",
                header.stripTrailing());
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '), "padding is spaces");
        assertTrue(header.length() - header.stripTrailing().length() < 8);
        ByteBuffer data = ByteBuffer.wrap(bytes, 8 + (int) n, 14).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1f, data.getFloat());
        assertEquals(2f, data.getFloat());
        assertEquals(3f, data.getFloat());
        assertEquals((short) 0x3c00, data.getShort());
        assertEquals(bytes.length, 8 + n + 14);
    }

    @Test
    void multiMegabyteFileIsReadLazilyThroughTheMapping() throws IOException {
        float[] a = new float[1024 * 1024];
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i * 0.001) * i;
        short[] h = new short[1000 * 1001];
        for (int i = 0; i < h.length; i++) h[i] = (short) (i * 2654435761L >>> 7);
        long[] l = new long[300_000];
        for (int i = 0; i < l.length; i++) l[i] = (long) i * i * 31 - 7;
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a", Tensor.of(a, 1024, 1024));
        in.put("h", Tensor.ofHalfBits(h, DType.BF16, 1000, 1001));
        in.put("l", Tensor.ofI64(l, 300_000));
        Path p = dir.resolve("big.safetensors");
        SafeTensors.write(p, in, null);
        assertTrue(Files.size(p) > 8_000_000);
        for (long window : new long[]{SafeTensors.MAX_WINDOW_BYTES, 3 << 20}) {
            try (SafeTensors st = SafeTensors.open(p, window)) {
                assertEquals(window == SafeTensors.MAX_WINDOW_BYTES ? 1 : 3, st.windowCount());
                Tensor ta = st.get("a");
                assertTrue(ta.isMapped());
                assertArrayEquals(a, ta.data());
                assertFalse(ta.isMapped(), "decoded on first use");
                assertArrayEquals(h, st.get("h").halfBits());
                assertArrayEquals(l, st.get("l").longs());
            }
        }
    }

    @Test
    void tensorsSpreadOverManySmallWindowsDecodeCorrectly() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (int k = 0; k < 40; k++) {
            float[] v = new float[1 + (k * 7) % 23];
            for (int i = 0; i < v.length; i++) v[i] = k * 100 + i;
            in.put("t" + k, Tensor.of(v, v.length));
            if (k % 9 == 0) in.put("z" + k, Tensor.zeros(0, 4));
        }
        Path p = dir.resolve("windows.safetensors");
        SafeTensors.write(p, in, null);
        try (SafeTensors st = SafeTensors.open(p, 64)) {
            assertTrue(st.windowCount() > 10, "expected many windows, got " + st.windowCount());
            for (Map.Entry<String, Tensor> e : in.entrySet())
                assertEquals(e.getValue().toBytes(), st.get(e.getKey()).toBytes(), e.getKey());
        }
    }

    @Test
    void filesBeyondTwoGigabytesMapInWindowsAndOversizedTensorsGetAClearError() throws IOException {
        long huge = 3_000_000_000L;
        String json = "{\"huge\":{\"dtype\":\"U8\",\"shape\":[3,1000000000],\"data_offsets\":[0," + huge + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + huge + "," + (huge + 8) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("sparse.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(le(8).putLong(header.length).array());
            f.write(header);
            f.setLength(8 + header.length + huge + 8); // sparse: the 3 GB hole takes no disk space
            f.seek(8 + header.length + huge);
            f.write(le(8).putFloat(1.25f).putFloat(-7f).array());
        }
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("huge", "tail"), st.names());
            assertEquals(huge, st.info("huge").numel());
            assertArrayEquals(new float[]{1.25f, -7f}, st.get("tail").data());
            SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> st.get("huge"));
            assertTrue(e.getMessage().contains("sparse.safetensors") && e.getMessage().contains("\"huge\"")
                    && e.getMessage().contains("2 GiB"), e.getMessage());
        }
    }

    @Test
    void goldenFileFromTheReferenceLibraryReadsAndRewritesByteForByte() throws IOException {
        Path golden = dev.dragedit.testing.Fixtures.require("unet-tiny/diffusion_pytorch_model.safetensors");
        Map<String, Tensor> all = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(golden)) {
            assertEquals(684, st.size());
            assertEquals(Map.of("format", "pt"), st.metadata());
            TensorInfo convIn = st.info("conv_in.weight");
            assertEquals(DType.F32, convIn.dtype());
            assertArrayEquals(new int[]{32, 4, 3, 3}, convIn.shape());
            for (TensorInfo info : st.tensors()) {
                Tensor t = st.get(info.name());
                float[] v = t.data();
                assertEquals(info.numel(), v.length, info.name());
                for (float x : v) if (!Float.isFinite(x)) throw new AssertionError(info.name() + " has a non-finite value " + x);
                all.put(info.name(), t);
            }
            // Values read independently with Python's struct module from the same file.
            float[] bias = st.get("conv_in.bias").data();
            assertEquals(0.1435634046792984f, bias[0]);
            assertEquals(0.06464995443820953f, bias[1]);
            double sum = 0;
            for (float b : bias) sum += b;
            assertEquals(-0.32328096590936184, sum, 1e-6);
            assertEquals(-0.16165156662464142f, st.get("conv_in.weight").data()[0]);
            Path copy = dir.resolve("copy.safetensors");
            SafeTensors.write(copy, all, st.metadata());
            assertEquals(-1, Files.mismatch(golden, copy), "rewrite differs from the reference library's file");
        }
    }

    @Test
    void missingTensorAndUseAfterCloseAreClearErrors() throws IOException {
        Path p = dir.resolve("x.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[]{5, 6}, 2)));
        Tensor kept;
        SafeTensors st = SafeTensors.open(p);
        try (st) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> st.get("conv_in.weight"));
            assertTrue(e.getMessage().contains("x.safetensors") && e.getMessage().contains("\"conv_in.weight\""), e.getMessage());
            assertFalse(st.contains("conv_in.weight"));
            kept = st.get("w");
        }
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> st.get("w"));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        assertArrayEquals(new float[]{5, 6}, kept.data(), "tensors taken before close stay readable");
    }

    // ------------------------------------------------------------------ atomic writes

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writingIntoAMissingDirectoryFailsAndCreatesNothing() throws IOException {
        Path p = dir.resolve("no/such/dir/out.safetensors");
        assertThrows(IOException.class, () -> SafeTensors.write(p, Map.of("w", Tensor.zeros(2))));
        assertEquals(List.of(), listing());
    }

    @Test
    void rejectedArgumentsLeaveTheExistingDestinationUntouched() throws IOException {
        Path p = dir.resolve("keep.safetensors");
        byte[] old = "previous contents".getBytes(StandardCharsets.UTF_8);
        Files.write(p, old);
        Map<String, Tensor> reserved = Map.of("__metadata__", Tensor.zeros(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, reserved));
        assertTrue(e.getMessage().contains("__metadata__") && e.getMessage().contains("keep.safetensors"), e.getMessage());
        Map<String, Tensor> nullTensor = new LinkedHashMap<>();
        nullTensor.put("ok", Tensor.zeros(1));
        nullTensor.put("bad", null);
        e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, nullTensor));
        assertTrue(e.getMessage().contains("\"bad\""), e.getMessage());
        Map<String, String> nullValue = new LinkedHashMap<>();
        nullValue.put("k", null);
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, Map.of("w", Tensor.zeros(1)), nullValue));
        assertArrayEquals(old, Files.readAllBytes(p));
        assertEquals(List.of("keep.safetensors"), listing());
    }

    @Test
    void failedRenameRemovesTheTemporaryFile() throws IOException {
        Path target = dir.resolve("occupied");
        Files.createDirectory(target);
        Files.writeString(target.resolve("inside.txt"), "still here");
        assertThrows(IOException.class, () -> SafeTensors.write(target, Map.of("w", Tensor.zeros(3))));
        assertEquals(List.of("occupied"), listing());
        assertEquals("still here", Files.readString(target.resolve("inside.txt")));
    }

    @Test
    void overwritingAnOpenFileReplacesItWhileOldTensorsStayReadable() throws IOException {
        Path p = dir.resolve("model.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[]{1, 2, 3}, 3)));
        try (SafeTensors old = SafeTensors.open(p)) {
            Tensor before = old.get("w");
            assertTrue(before.isMapped());
            SafeTensors.write(p, Map.of("w", Tensor.of(new float[]{7, 8, 9, 10}, 4)), Map.of("v", "2"));
            assertArrayEquals(new float[]{1, 2, 3}, before.data());
        }
        try (SafeTensors now = SafeTensors.open(p)) {
            assertArrayEquals(new float[]{7, 8, 9, 10}, now.get("w").data());
            assertEquals(Map.of("v", "2"), now.metadata());
        }
        assertEquals(List.of("model.safetensors"), listing());
    }

    @Test
    void mappedTensorsCanBeWrittenStraightBack() throws IOException {
        Path a = dir.resolve("a.safetensors");
        Path b = dir.resolve("b.safetensors");
        SafeTensors.write(a, everyDtype(), Map.of("m", "1"));
        try (SafeTensors st = SafeTensors.open(a)) {
            Map<String, Tensor> again = new LinkedHashMap<>();
            for (String n : st.names()) again.put(n, st.get(n));
            SafeTensors.write(b, again, st.metadata());
        }
        assertEquals(-1, Files.mismatch(a, b));
    }
}
