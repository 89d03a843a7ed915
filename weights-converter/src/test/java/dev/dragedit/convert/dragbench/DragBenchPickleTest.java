package dev.dragedit.convert.dragbench;

import dev.dragedit.convert.ConvertException;
import dev.dragedit.convert.pickle.Unpickler;
import dev.dragedit.convert.pickle.Unpickler.NdArray;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The numpy mode of the restricted unpickler on pickles written by numpy 2.4 (python3 pickle.dump, protocol 4; one
 * with numpy 1.x's module name numpy.core.multiarray; one of protocol 5), and its refusals: any other global
 * (os.system, builtins.eval, torch), object arrays, sizes past the bounds. The default (checkpoint) mode keeps
 * refusing numpy globals.
 */
class DragBenchPickleTest {
    static byte[] resource(String name) throws IOException {
        try (InputStream in = DragBenchPickleTest.class.getResourceAsStream(name)) {
            assertNotNull(in, name);
            return in.readAllBytes();
        }
    }

    @Test
    void metaDataOfNumpy2AndNumpy1() throws Exception {
        for (String f : new String[]{"meta_numpy2.pkl", "meta_numpy1.pkl"}) {
            DragBenchMetaData m = DragBenchMetaData.parse(resource(f), f);
            assertEquals("a red square on grey", m.prompt());
            assertArrayEquals(new double[][]{{20, 30}, {34, 30}, {40, 10}, {40, 20}}, m.points());
            assertEquals(64, m.maskHeight());
            assertEquals(64, m.maskWidth());
            int ones = 0;
            for (byte b : m.mask()) ones += b;
            assertEquals(32 * 32, ones, f);
            assertEquals(1, m.mask()[16 * 64 + 8]);
            assertEquals(0, m.mask()[16 * 64 + 40]);
            assertEquals(0, m.mask()[15 * 64 + 8]);
        }
    }

    @Test
    void dtypesFortranOrderScalarsAndProtocol5() throws Exception {
        Map<?, ?> d = (Map<?, ?>) Unpickler.forNumpy(resource("dtypes.pkl"), "dtypes.pkl", DragBenchMetaData.LIMITS).load();
        NdArray u8 = (NdArray) d.get("u8");
        assertEquals("uint8", u8.dtype().name());
        assertArrayEquals(new long[]{2, 3}, u8.shape());
        for (int i = 0; i < 6; i++) assertEquals(40.0 * i, u8.get(i));
        NdArray b1 = (NdArray) d.get("b1");
        assertEquals("bool", b1.dtype().name());
        assertEquals(1.0, b1.get(0));
        assertEquals(0.0, b1.get(1));
        assertEquals(1.0, b1.get(3));
        NdArray i64 = (NdArray) d.get("i64");
        assertEquals(-5.0, i64.get(0));
        assertEquals((double) (1L << 40), i64.get(2));
        assertEquals(-2.25, ((NdArray) d.get("f32")).get(1));
        assertEquals(3.125, ((NdArray) d.get("f64")).get(0));
        NdArray fo = (NdArray) d.get("fortran");
        assertArrayEquals(new long[]{2, 3}, fo.shape());
        for (int i = 0; i < 6; i++) assertEquals(i, fo.get(i), "Fortran-ordered array read in C order");
        assertEquals(7L, d.get("scalar"));
        assertEquals(0.5, d.get("fscalar"));

        Map<?, ?> p5 = (Map<?, ?>) Unpickler.forNumpy(resource("protocol5.pkl"), "protocol5.pkl", DragBenchMetaData.LIMITS).load();
        NdArray a = (NdArray) p5.get("a");
        assertArrayEquals(new long[]{3, 2}, a.shape());
        for (int i = 0; i < 6; i++) assertEquals(i, a.get(i));
    }

    /** PROTO 4, STACK_GLOBAL module.name, the argument tuple (one string), REDUCE, STOP. */
    static byte[] callPickle(String module, String name) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(4);
        for (String s : new String[]{module, name}) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            b.write(0x8c);
            b.write(u.length);
            b.writeBytes(u);
        }
        b.write(0x93);
        byte[] arg = "echo pwned".getBytes(StandardCharsets.UTF_8);
        b.write(0x8c);
        b.write(arg.length);
        b.writeBytes(arg);
        b.write(0x85);
        b.write('R');
        b.write('.');
        return b.toByteArray();
    }

    @Test
    void otherGlobalsAreRefusedByName() {
        for (String[] g : new String[][]{{"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "getattr"},
                {"torch._utils", "_rebuild_tensor_v2"}, {"numpy", "load"}, {"numpy.core.multiarray", "array"}, {"_codecs", "encode"}}) {
            ConvertException e = assertThrows(ConvertException.class,
                    () -> DragBenchMetaData.parse(callPickle(g[0], g[1]), "meta_data.pkl"));
            assertTrue(e.getMessage().contains("refused global " + g[0] + "." + g[1]), e.getMessage());
            assertTrue(e.getMessage().startsWith("meta_data.pkl: "), e.getMessage());
        }
    }

    @Test
    void theCheckpointModeStillRefusesNumpy() throws Exception {
        ConvertException e = assertThrows(ConvertException.class, () -> new Unpickler(resource("meta_numpy2.pkl"), "data.pkl").load());
        assertTrue(e.getMessage().contains("refused global numpy._core.multiarray._reconstruct"), e.getMessage());
    }

    /** meta_numpy2.pkl with its mask's shape tuple (BININT1 64, BININT1 64) rewritten. */
    static byte[] withShape(byte[] p, int h, int w) {
        // the array state: MARK, BININT1 1 (version), BININT1 64, BININT1 64, TUPLE2
        byte[] pat = {'(', 'K', 1, 'K', 64, 'K', 64, (byte) 0x86};
        int at = indexOf(p, pat);
        assertTrue(at > 0);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(p, 0, at + 3);
        b.write('J');
        b.writeBytes(new byte[]{(byte) h, (byte) (h >> 8), (byte) (h >> 16), (byte) (h >> 24)});
        b.write('J');
        b.writeBytes(new byte[]{(byte) w, (byte) (w >> 8), (byte) (w >> 16), (byte) (w >> 24)});
        b.write(p, at + 7, p.length - at - 7);
        byte[] out = b.toByteArray();
        long frame = (p[3] & 0xff) | (p[4] & 0xff) << 8; // FRAME length grows by the 6 extra bytes
        frame += 6;
        out[3] = (byte) frame;
        out[4] = (byte) (frame >> 8);
        return out;
    }

    static int indexOf(byte[] a, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= a.length; i++) {
            for (int j = 0; j < pat.length; j++) if (a[i + j] != pat[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void sizesAreBounded() throws Exception {
        byte[] p = resource("meta_numpy2.pkl");
        assertEquals(64, DragBenchMetaData.parse(withShape(p, 64, 64), "m.pkl").maskWidth(), "the rewrite itself is sound");
        ConvertException big = assertThrows(ConvertException.class, () -> DragBenchMetaData.parse(withShape(p, 20000, 2), "m.pkl"));
        assertTrue(big.getMessage().contains("dimension 20000"), big.getMessage());
        ConvertException many = assertThrows(ConvertException.class, () -> DragBenchMetaData.parse(withShape(p, 16384, 16384), "m.pkl"));
        assertTrue(many.getMessage().contains("more than " + Unpickler.MAX_ARRAY_ELEMENTS + " elements"), many.getMessage());
        ConvertException lie = assertThrows(ConvertException.class, () -> DragBenchMetaData.parse(withShape(p, 64, 63), "m.pkl"));
        assertTrue(lie.getMessage().contains("holds 4096 bytes"), lie.getMessage());
        ConvertException neg = assertThrows(ConvertException.class, () -> DragBenchMetaData.parse(withShape(p, -1, 64), "m.pkl"));
        assertTrue(neg.getMessage().contains("dimension -1"), neg.getMessage());
    }

    @Test
    void malformedMetaDataNamesTheProblem() {
        byte[] notDict = {(byte) 0x80, 4, ']', '.'};
        assertTrue(assertThrows(ConvertException.class, () -> DragBenchMetaData.parse(notDict, "x.pkl")).getMessage().contains("expected a dict"));
        byte[] truncated = new byte[]{(byte) 0x80, 4, '}', (byte) 0x8c, 5, 'a'};
        assertTrue(assertThrows(ConvertException.class, () -> DragBenchMetaData.parse(truncated, "x.pkl")).getMessage().startsWith("x.pkl: "));
    }
}
