// A minimal pickle (protocol 2) writer for the tests: the opcodes torch.save uses for a state dict
// (torch/serialization.py _save, with Python's pickle.Pickler), plus raw opcodes to build hostile inputs.
package dev.dragedit.convert.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

public final class PickleWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public PickleWriter proto() { return op(0x80).op(2); }
    public PickleWriter op(int b) { out.write(b); return this; }
    public PickleWriter raw(byte[] b) { out.writeBytes(b); return this; }
    public PickleWriter mark() { return op('('); }
    public PickleWriter stop() { return op('.'); }
    public PickleWriter emptyDict() { return op('}'); }
    public PickleWriter emptyTuple() { return op(')'); }
    public PickleWriter tuple() { return op('t'); }
    public PickleWriter setItems() { return op('u'); }
    public PickleWriter setItem() { return op('s'); }
    public PickleWriter reduce() { return op('R'); }
    public PickleWriter binPersId() { return op('Q'); }
    public PickleWriter bool(boolean v) { return op(v ? 0x88 : 0x89); }
    public PickleWriter none() { return op('N'); }
    public PickleWriter binPut(int i) { return op('q').op(i); }
    public PickleWriter binGet(int i) { return op('h').op(i); }

    public PickleWriter global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    public PickleWriter str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        u32(b.length);
        out.writeBytes(b);
        return this;
    }

    public PickleWriter integer(long v) {
        if (v >= 0 && v < 256) return op('K').op((int) v);
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) { op('J'); u32((int) v); return this; }
        op(0x8a).op(8);
        for (int i = 0; i < 8; i++) op((int) (v >>> (8 * i)) & 0xff);
        return this;
    }

    public PickleWriter u32(long v) {
        for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)) & 0xff);
        return this;
    }

    public PickleWriter intTuple(long... v) {
        mark();
        for (long x : v) integer(x);
        return tuple();
    }

    /** torch._utils._rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()). */
    public PickleWriter tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2");
        mark();
        mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().binPersId();
        integer(offset);
        intTuple(size);
        intTuple(stride);
        bool(false);
        global("collections", "OrderedDict").emptyTuple().reduce();
        tuple();
        return reduce();
    }

    public byte[] bytes() { return out.toByteArray(); }
}
