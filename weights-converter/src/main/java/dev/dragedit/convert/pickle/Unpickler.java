// A restricted pickle virtual machine for the data.pkl of PyTorch checkpoints (torch.save, protocols 2-5). It
// mirrors the opcode semantics of CPython's Lib/pickle.py (_Unpickler) and follows the allow-list idea of
// stable-diffusion.cpp's pickle_io.cpp and of torch.load(weights_only=True) (torch/_weights_only_unpickler.py), but
// goes further: no Python callable is ever looked up or called. A GLOBAL may only name one of a fixed set of torch /
// collections symbols, and those become inert markers; REDUCE of a marker builds a plain Java value (a map, or a
// TensorRef that only describes where a tensor's bytes are). Anything else - os.system, builtins.eval, a class to
// instantiate (NEWOBJ, INST, OBJ), an extension code, a persistent id other than a torch storage - is refused with
// a message naming it. Every resource an input controls is bounded: string and bytes lengths, memo entries, stack
// and mark depth, container sizes, long-integer widths and the number of opcodes executed.
package dev.dragedit.convert.pickle;

import dev.dragedit.convert.ConvertException;
import dev.dragedit.tensor.DType;

import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one pickle into Java values: {@code null} (None), {@link Boolean}, {@link Long} or {@link BigInteger},
 * {@link Double}, {@link String}, {@code byte[]}, {@link List} (list), {@link PyTuple}, {@link Map} (dict or
 * OrderedDict, insertion-ordered), {@link TensorRef} (torch tensor) and the markers {@link PyGlobal} /
 * {@link StorageRef}. Usage: {@code new Unpickler(bytes, "file.ckpt:archive/data.pkl").load()}.
 */
public final class Unpickler {
    /** Bounds on what a pickle may make this VM allocate or do. */
    public record Limits(long maxOps, int maxStack, int maxMarks, int maxMemo, int maxStringBytes,
                         int maxContainer, int maxLongBytes) {
        /** Generous for any real checkpoint (SD1.5's data.pkl runs ~30k opcodes), tiny next to a heap. */
        public static final Limits DEFAULT = new Limits(50_000_000L, 1_000_000, 100_000, 5_000_000,
                16 << 20, 10_000_000, 64);
    }

    /** A tuple (immutable list), kept apart from lists because torch's persistent ids and rebuild args are tuples. */
    public record PyTuple(List<Object> items) {
        public PyTuple { items = Collections.unmodifiableList(items); }
        public int size() { return items.size(); }
        public Object get(int i) { return items.get(i); }
    }

    /** One of the allowed globals; inert (never called): REDUCE interprets it. */
    public record PyGlobal(String module, String name) {
        public String qualified() { return module + "." + name; }
        /** The element type when this global is a torch storage class, else null. */
        public DType storageDType() { return module.equals("torch") ? STORAGES.get(name) : null; }
        @Override public String toString() { return qualified(); }
    }

    // The storage classes torch.save writes in a persistent id (torch/serialization.py, persistent_id: the legacy
    // typed-storage class of the tensor's dtype). Types our tensors cannot hold (bool, int8, int16, complex) are
    // accepted here and refused only if such a tensor is actually used (TensorRef carries the class name).
    static final Map<String, DType> STORAGES = new HashMap<>();
    static final Map<String, String> STORAGE_ELEMENT = new HashMap<>();
    static {
        STORAGES.put("FloatStorage", DType.F32);
        STORAGES.put("HalfStorage", DType.F16);
        STORAGES.put("BFloat16Storage", DType.BF16);
        STORAGES.put("DoubleStorage", DType.F64);
        STORAGES.put("LongStorage", DType.I64);
        STORAGES.put("IntStorage", DType.I32);
        STORAGES.put("ByteStorage", DType.U8);
        STORAGES.put("ShortStorage", null);
        STORAGES.put("CharStorage", null);
        STORAGES.put("BoolStorage", null);
    }

    private static final String REBUILD_V2 = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final String ORDERED_DICT = "collections.OrderedDict";

    private final byte[] in;
    private final String source;
    private final Limits limits;
    /** Off by default: only {@link #forNumpy} turns on the numpy-array globals (and turns off the torch ones). */
    private final boolean numpy;
    private int pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();
    private long ops;

    public Unpickler(byte[] pickle, String source) { this(pickle, source, Limits.DEFAULT); }

    public Unpickler(byte[] pickle, String source, Limits limits) {
        this(pickle, source, limits, false);
    }

    private Unpickler(byte[] pickle, String source, Limits limits, boolean numpy) {
        this.in = pickle;
        this.source = source;
        this.limits = limits;
        this.numpy = numpy;
    }

    /**
     * A VM for plain Python data holding numpy arrays (e.g. DragBench's meta_data.pkl, written by pickle.dump): the
     * only globals allowed are those numpy's own pickling names to rebuild an ndarray, a dtype or a numpy scalar
     * (numpy.core / numpy._core multiarray._reconstruct and scalar, numeric._frombuffer, numpy.ndarray, numpy.dtype)
     * and collections.OrderedDict; arrays become {@link NdArray}. Torch globals and persistent ids are refused.
     */
    public static Unpickler forNumpy(byte[] pickle, String source, Limits limits) {
        return new Unpickler(pickle, source, limits, true);
    }

    /** Runs the pickle to its STOP and returns the value it built. */
    public Object load() throws ConvertException {
        while (true) {
            if (++ops > limits.maxOps) throw fail("more than " + limits.maxOps + " opcodes (a pickle bomb?)");
            int at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int p = u8();
                    if (p < 2 || p > 5) throw failAt(at, "pickle protocol " + p + " is not supported (expected 2 to 5, as torch.save writes)");
                }
                case 0x95 -> { // FRAME: a length prefix only; we read the whole buffer anyway
                    long n = u64();
                    if (n < 0 || n > in.length - pos) throw failAt(at, "FRAME of " + Long.toUnsignedString(n) + " bytes runs past the end of the pickle (truncated?)");
                }
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty())
                        throw failAt(at, "STOP with " + stack.size() + " values and " + marks.size() + " marks on the stack (expected exactly one value)");
                    return stack.get(0);
                }
                case '(' -> { // MARK
                    if (marks.size() >= limits.maxMarks) throw failAt(at, "more than " + limits.maxMarks + " nested marks");
                    marks.add(stack.size());
                }
                case '0' -> pop(at); // POP
                case '1' -> popMark(at); // POP_MARK
                case '2' -> push(at, peek(at)); // DUP
                case 'N' -> push(at, null);
                case 0x88 -> push(at, Boolean.TRUE);
                case 0x89 -> push(at, Boolean.FALSE);
                case 'J' -> push(at, (long) i32()); // BININT
                case 'K' -> push(at, (long) u8()); // BININT1
                case 'M' -> push(at, (long) u16()); // BININT2
                case 0x8a -> push(at, longBytes(at, u8())); // LONG1
                case 0x8b -> { // LONG4
                    long n = u32();
                    if (n > limits.maxLongBytes) throw failAt(at, "LONG4 of " + n + " bytes exceeds the limit of " + limits.maxLongBytes);
                    push(at, longBytes(at, (int) n));
                }
                case 'G' -> push(at, Double.longBitsToDouble(be64())); // BINFLOAT
                case 'X' -> push(at, utf8(at, u32())); // BINUNICODE
                case 0x8c -> push(at, utf8(at, u8())); // SHORT_BINUNICODE
                case 0x8d -> push(at, utf8(at, u64())); // BINUNICODE8
                case 'T' -> push(at, latin1(at, i32())); // BINSTRING (protocol 2 str of Python 2)
                case 'U' -> push(at, latin1(at, u8())); // SHORT_BINSTRING
                case 'B' -> push(at, bytes(at, u32())); // BINBYTES
                case 'C' -> push(at, bytes(at, u8())); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(at, bytes(at, u64())); // BINBYTES8, BYTEARRAY8
                case ')' -> push(at, new PyTuple(List.of()));
                case 0x85 -> push(at, tupleOf(at, 1));
                case 0x86 -> push(at, tupleOf(at, 2));
                case 0x87 -> push(at, tupleOf(at, 3));
                case 't' -> push(at, new PyTuple(popToMark(at))); // TUPLE
                case ']' -> push(at, new ArrayList<>()); // EMPTY_LIST
                case 'l' -> push(at, new ArrayList<>(popToMark(at))); // LIST
                case '}' -> push(at, new LinkedHashMap<>()); // EMPTY_DICT
                case 'd' -> { // DICT
                    List<Object> items = popToMark(at);
                    Map<Object, Object> m = new LinkedHashMap<>();
                    setItems(at, m, items);
                    push(at, m);
                }
                case 0x8f -> push(at, new ArrayList<>()); // EMPTY_SET: kept as a list of its items
                case 0x91 -> push(at, new ArrayList<>(popToMark(at))); // FROZENSET
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popToMark(at);
                    appendAll(at, asList(at, peek(at), "ADDITEMS"), items);
                }
                case 'a' -> { // APPEND
                    Object v = pop(at);
                    appendAll(at, asList(at, peek(at), "APPEND"), List.of(v == null ? NoneHolder.NONE : v));
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popToMark(at);
                    appendAll(at, asList(at, peek(at), "APPENDS"), items);
                }
                case 's' -> { // SETITEM
                    Object v = pop(at);
                    Object k = pop(at);
                    List<Object> kv = new ArrayList<>(2);
                    kv.add(k);
                    kv.add(v);
                    setItems(at, asMap(at, peek(at), "SETITEM"), kv);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popToMark(at);
                    setItems(at, asMap(at, peek(at), "SETITEMS"), items);
                }
                case 'q' -> put(at, u8()); // BINPUT
                case 'r' -> put(at, u32()); // LONG_BINPUT
                case 0x94 -> put(at, memo.size()); // MEMOIZE
                case 'h' -> get(at, u8()); // BINGET
                case 'j' -> get(at, u32()); // LONG_BINGET
                case 'c' -> push(at, global(at, line(at), line(at))); // GLOBAL "module\nname\n"
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(at);
                    Object module = pop(at);
                    if (!(module instanceof String m) || !(name instanceof String n))
                        throw failAt(at, "STACK_GLOBAL expects two strings, found " + describe(module) + " and " + describe(name));
                    push(at, global(at, m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop(at);
                    Object callable = pop(at);
                    push(at, reduce(at, callable, args));
                }
                case 'b' -> { // BUILD: only the attribute state of a dict (state_dict()._metadata), which is dropped
                    Object state = pop(at);
                    Object target = peek(at);
                    if (numpy && (target instanceof NdArray || target instanceof NpDType)) {
                        buildNumpy(at, target, state);
                        break;
                    }
                    if (!(target instanceof Map) || !(state == null || state instanceof Map || state instanceof PyTuple))
                        throw failAt(at, "BUILD (setting the state of an object) is only allowed on a dict, found " + describe(target));
                }
                case 'Q' -> { // BINPERSID
                    Object pid = pop(at);
                    if (numpy) throw failAt(at, "refused persistent id " + describe(pid) + " (a plain data pickle has none)");
                    push(at, persistent(at, pid));
                }
                case 0x81, 0x92 -> { // NEWOBJ, NEWOBJ_EX
                    Object a = pop(at);
                    if (op == 0x92) a = pop(at);
                    Object cls = pop(at);
                    throw failAt(at, "refused to create an object of class " + describe(cls) + " (NEWOBJ): a checkpoint may only hold tensors and plain containers");
                }
                case 'i' -> throw failAt(at, "refused INST of " + line(at) + "." + line(at) + ": a checkpoint may only hold tensors and plain containers");
                case 'o' -> throw failAt(at, "refused OBJ (object creation): a checkpoint may only hold tensors and plain containers");
                case 0x82, 0x83, 0x84 -> throw failAt(at, "refused EXT opcode (extension-registry global)");
                case 'P' -> throw failAt(at, "refused text PERSID (only torch storages are allowed as persistent ids)");
                case 0x97, 0x98 -> throw failAt(at, "out-of-band buffers (NEXT_BUFFER/READONLY_BUFFER) are not supported");
                case 'I', 'L', 'F', 'S', 'V', 'g', 'p' ->
                        throw failAt(at, "text opcode '" + (char) op + "' of pickle protocol 0 is not supported (torch.save writes protocol 2 or later)");
                default -> throw failAt(at, String.format("unknown pickle opcode 0x%02x (corrupt or not a pickle?)", op));
            }
        }
    }

    // ------------------------------------------------------------------ globals, reduce, persistent ids

    private PyGlobal global(int at, String module, String name) throws ConvertException {
        String q = module + "." + name;
        if (numpy) {
            if (!NUMPY_GLOBALS.contains(q) && !q.equals(ORDERED_DICT))
                throw failAt(at, "refused global " + printable(q) + ": only numpy arrays, numpy scalars and plain containers may be rebuilt (nothing is executed)");
            return new PyGlobal(module, name);
        }
        boolean ok = q.equals(REBUILD_V2) || q.equals(REBUILD_PARAMETER) || q.equals(ORDERED_DICT)
                || (module.equals("torch") && STORAGES.containsKey(name));
        if (!ok) throw failAt(at, "refused global " + printable(q) + ": only torch tensors, storages and plain containers may be rebuilt (nothing is executed)");
        return new PyGlobal(module, name);
    }

    private Object reduce(int at, Object callable, Object args) throws ConvertException {
        if (!(callable instanceof PyGlobal g))
            throw failAt(at, "refused REDUCE of " + describe(callable) + ": only allowed torch/collections globals may be called");
        if (!(args instanceof PyTuple t)) throw failAt(at, "REDUCE of " + g + " expects an argument tuple, found " + describe(args));
        if (numpy && !g.qualified().equals(ORDERED_DICT)) return reduceNumpy(at, g, t);
        switch (g.qualified()) {
            case ORDERED_DICT -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                if (t.size() == 1 && t.get(0) instanceof List<?> pairs) { // OrderedDict([(k, v), ...])
                    for (Object p : pairs) {
                        if (!(p instanceof PyTuple kv) || kv.size() != 2) throw failAt(at, "OrderedDict item is not a pair: " + describe(p));
                        setItems(at, m, new ArrayList<>(kv.items()));
                    }
                } else if (t.size() != 0) {
                    throw failAt(at, "OrderedDict called with " + t.size() + " arguments (expected none or a list of pairs)");
                }
                return m;
            }
            case REBUILD_V2 -> { return TensorRef.rebuild(t, msg -> failAt(at, msg)); }
            case REBUILD_PARAMETER -> { // (data, requires_grad, backward_hooks): the parameter is its tensor
                if (t.size() < 1 || !(t.get(0) instanceof TensorRef tr))
                    throw failAt(at, REBUILD_PARAMETER + " expects a tensor as its first argument, found " + (t.size() == 0 ? "nothing" : describe(t.get(0))));
                return tr;
            }
            default -> throw failAt(at, "refused REDUCE of " + g + ": it is not a callable we rebuild");
        }
    }

    private Object persistent(int at, Object pid) throws ConvertException {
        // torch/serialization.py persistent_id: ('storage', storage_type, key, location, numel)
        if (!(pid instanceof PyTuple t) || t.size() != 5 || !"storage".equals(t.get(0)))
            throw failAt(at, "refused persistent id " + describe(pid) + " (only ('storage', type, key, location, numel) of torch storages)");
        if (!(t.get(1) instanceof PyGlobal type) || !STORAGES.containsKey(type.name()) || !type.module().equals("torch"))
            throw failAt(at, "persistent id names storage type " + describe(t.get(1)) + ", not a torch storage class");
        if (!(t.get(2) instanceof String key) || !(t.get(3) instanceof String location) || !(t.get(4) instanceof Long numel) || numel < 0)
            throw failAt(at, "malformed storage persistent id " + describe(pid) + " (expected key string, location string, element count)");
        if (!key.matches("[A-Za-z0-9_.-]{1,64}") || key.contains(".."))
            throw failAt(at, "storage key " + printable(key) + " is not a plain archive entry name");
        return new StorageRef(key, type, location, numel);
    }

    // ------------------------------------------------------------------ numpy arrays (forNumpy only)

    static final java.util.Set<String> NUMPY_GLOBALS = java.util.Set.of(
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
            "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
            "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
            "numpy.ndarray", "numpy.dtype");
    /** Largest array rebuilt: elements in all, and any one dimension. */
    public static final long MAX_ARRAY_ELEMENTS = 64L << 20;
    public static final int MAX_ARRAY_DIM = 16384;

    /** A numpy dtype as numpy.dtype(code, False, True) and its BUILD state give it: kind, item size, byte order. */
    public static final class NpDType {
        final String code; // 'u1', 'b1', 'i8', 'f4', ...
        char order = '<';

        NpDType(String code) { this.code = code; }

        public char kind() { return code.charAt(0); }
        public int itemSize() { return Integer.parseInt(code.substring(1)); }
        /** numpy's spelling, e.g. "uint8", "float32", "bool". */
        public String name() {
            return switch (kind()) {
                case 'b' -> "bool";
                case 'u' -> "uint" + 8 * itemSize();
                case 'i' -> "int" + 8 * itemSize();
                default -> "float" + 8 * itemSize();
            };
        }
        @Override public String toString() { return name(); }
    }

    /**
     * A numpy ndarray rebuilt from its pickle: dtype, shape and the element bytes in C order (a Fortran-ordered array
     * is reordered on load). Filled by numpy's BUILD step; {@link #get} reads any element as a double.
     */
    public static final class NdArray {
        private NpDType dtype;
        private long[] shape;
        private byte[] data; // C order, the dtype's byte order
        private java.nio.ByteBuffer view;

        public NpDType dtype() { check(); return dtype; }
        public long[] shape() { check(); return shape.clone(); }
        public int ndim() { check(); return shape.length; }
        public long size() { check(); long n = 1; for (long d : shape) n *= d; return n; }

        /** Element i (C order) as a double; bool gives 0 or 1, integers their value. */
        public double get(long i) {
            check();
            int k = (int) i * dtype.itemSize();
            return switch (dtype.code) {
                case "b1" -> view.get(k) != 0 ? 1 : 0;
                case "u1" -> view.get(k) & 0xff;
                case "i1" -> view.get(k);
                case "u2" -> view.getShort(k) & 0xffff;
                case "i2" -> view.getShort(k);
                case "u4" -> view.getInt(k) & 0xffffffffL;
                case "i4" -> view.getInt(k);
                case "u8", "i8" -> view.getLong(k);
                case "f4" -> view.getFloat(k);
                case "f8" -> view.getDouble(k);
                default -> throw new IllegalStateException("dtype " + dtype.code);
            };
        }

        private void check() {
            if (data == null) throw new IllegalStateException("numpy array without its state (BUILD never ran)");
        }

        @Override public String toString() {
            return data == null ? "ndarray(unbuilt)" : "ndarray(" + dtype + ", shape " + java.util.Arrays.toString(shape) + ")";
        }
    }

    private static final java.util.Set<String> NUMPY_DTYPES = java.util.Set.of("b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8");

    private Object reduceNumpy(int at, PyGlobal g, PyTuple t) throws ConvertException {
        switch (g.name()) {
            case "_reconstruct" -> { // _reconstruct(numpy.ndarray, (0,), b'b'): an empty array that BUILD fills
                if (t.size() != 3 || !(t.get(0) instanceof PyGlobal cls) || !cls.qualified().equals("numpy.ndarray"))
                    throw failAt(at, g + " expects (numpy.ndarray, shape, typecode), found " + describeTuple(t));
                return new NdArray();
            }
            case "dtype" -> { // numpy.dtype(code, align=False, copy=True)
                if (t.size() < 1 || !(t.get(0) instanceof String code)) throw failAt(at, "numpy.dtype expects a type code, found " + describeTuple(t));
                if (!NUMPY_DTYPES.contains(code))
                    throw failAt(at, "numpy dtype " + describe(code) + " is not supported (expected bool, (u)int8..64, float32 or float64)");
                return new NpDType(code);
            }
            case "scalar" -> { // scalar(dtype, bytes): a numpy number
                if (t.size() != 2 || !(t.get(0) instanceof NpDType dt) || !(t.get(1) instanceof byte[] || t.get(1) instanceof String))
                    throw failAt(at, g + " expects (dtype, bytes), found " + describeTuple(t));
                NdArray a = filled(at, dt, new long[0], false, t.get(1));
                double v = a.get(0);
                return dt.kind() == 'f' ? (Object) v : dt.kind() == 'b' ? (Object) (v != 0) : (Object) (long) v;
            }
            case "_frombuffer" -> { // _frombuffer(buffer, dtype, shape, order): pickle protocol 5, in-band buffer
                if (t.size() != 4 || !(t.get(1) instanceof NpDType dt) || !(t.get(2) instanceof PyTuple shape) || !(t.get(3) instanceof String order))
                    throw failAt(at, g + " expects (buffer, dtype, shape, order), found " + describeTuple(t));
                return filled(at, dt, shapeOf(at, shape), order.equals("F"), t.get(0));
            }
            default -> throw failAt(at, "refused REDUCE of " + g + ": it is not a callable we rebuild");
        }
    }

    private void buildNumpy(int at, Object target, Object state) throws ConvertException {
        if (target instanceof NpDType dt) { // (3, byteorder, subarray, names, fields, elsize, alignment, flags)
            if (!(state instanceof PyTuple t) || t.size() < 2 || !(t.get(1) instanceof String order) || order.length() != 1
                    || "<>|=".indexOf(order.charAt(0)) < 0)
                throw failAt(at, "malformed numpy dtype state " + describe(state));
            for (int i = 2; i < Math.min(5, t.size()); i++)
                if (t.get(i) != null) throw failAt(at, "structured or sub-array numpy dtypes are not supported");
            dt.order = order.charAt(0) == '=' ? '<' : order.charAt(0);
            return;
        }
        NdArray a = (NdArray) target; // (version, shape, dtype, is_fortran, data)
        if (a.data != null) throw failAt(at, "numpy array built twice (malformed pickle)");
        if (!(state instanceof PyTuple t) || t.size() != 5 || !(t.get(1) instanceof PyTuple shape) || !(t.get(2) instanceof NpDType dt)
                || !(t.get(3) instanceof Boolean fortran))
            throw failAt(at, "malformed numpy array state " + describe(state) + " (expected (version, shape, dtype, is_fortran, data))");
        if (t.get(4) instanceof List<?>) throw failAt(at, "numpy array of Python objects (dtype object) is refused");
        NdArray b = filled(at, dt, shapeOf(at, shape), fortran, t.get(4));
        a.dtype = b.dtype;
        a.shape = b.shape;
        a.data = b.data;
        a.view = b.view;
    }

    private long[] shapeOf(int at, PyTuple shape) throws ConvertException {
        if (shape.size() > 8) throw failAt(at, "numpy array of " + shape.size() + " dimensions (at most 8)");
        long[] s = new long[shape.size()];
        long n = 1;
        for (int i = 0; i < s.length; i++) {
            if (!(shape.get(i) instanceof Long d) || d < 0 || d > MAX_ARRAY_DIM)
                throw failAt(at, "numpy array dimension " + describe(shape.get(i)) + " (expected 0.." + MAX_ARRAY_DIM + ")");
            s[i] = d;
            n *= d;
            if (n > MAX_ARRAY_ELEMENTS) throw failAt(at, "numpy array of more than " + MAX_ARRAY_ELEMENTS + " elements");
        }
        return s;
    }

    private NdArray filled(int at, NpDType dt, long[] shape, boolean fortran, Object raw) throws ConvertException {
        byte[] bytes;
        if (raw instanceof byte[] b) bytes = b;
        else if (raw instanceof String s) bytes = s.getBytes(StandardCharsets.ISO_8859_1); // a Python 2 str
        else throw failAt(at, "numpy array data is " + describe(raw) + ", expected bytes");
        long n = 1;
        for (long d : shape) n *= d;
        if (n * dt.itemSize() != bytes.length)
            throw failAt(at, "numpy array of " + n + " " + dt + " elements holds " + bytes.length + " bytes (expected " + n * dt.itemSize() + ")");
        if (fortran && shape.length > 1) bytes = fortranToC(bytes, shape, dt.itemSize());
        NdArray a = new NdArray();
        a.dtype = dt;
        a.shape = shape;
        a.data = bytes;
        a.view = java.nio.ByteBuffer.wrap(bytes).order(dt.order == '>' ? java.nio.ByteOrder.BIG_ENDIAN : java.nio.ByteOrder.LITTLE_ENDIAN);
        return a;
    }

    private static byte[] fortranToC(byte[] f, long[] shape, int item) {
        int nd = shape.length;
        int n = f.length / item;
        byte[] c = new byte[f.length];
        long[] fStride = new long[nd];
        long s = 1;
        for (int d = 0; d < nd; d++) { fStride[d] = s; s *= shape[d]; }
        int[] idx = new int[nd];
        for (int i = 0; i < n; i++) { // i walks C order; idx is its multi-index
            long fi = 0;
            for (int d = 0; d < nd; d++) fi += idx[d] * fStride[d];
            System.arraycopy(f, (int) fi * item, c, i * item, item);
            for (int d = nd - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return c;
    }

    private static String describeTuple(PyTuple t) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < t.size(); i++) b.append(i == 0 ? "" : ", ").append(describe(t.get(i)));
        return b.append(")").toString();
    }

    // ------------------------------------------------------------------ stack, memo, containers

    /** A None inside a container (lists hold Java null fine; this only keeps APPEND's List.of happy). */
    private enum NoneHolder { NONE }

    private void push(int at, Object v) throws ConvertException {
        if (stack.size() >= limits.maxStack) throw failAt(at, "stack deeper than " + limits.maxStack + " values (a pickle bomb?)");
        stack.add(v);
    }

    private Object pop(int at) throws ConvertException {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) throw failAt(at, "pop from an empty stack (malformed pickle)");
        return stack.remove(stack.size() - 1);
    }

    private Object peek(int at) throws ConvertException {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) throw failAt(at, "read from an empty stack (malformed pickle)");
        return stack.get(stack.size() - 1);
    }

    private List<Object> popToMark(int at) throws ConvertException {
        if (marks.isEmpty()) throw failAt(at, "no MARK to pop to (malformed pickle)");
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private void popMark(int at) throws ConvertException { popToMark(at); }

    private PyTuple tupleOf(int at, int n) throws ConvertException {
        Object[] a = new Object[n];
        for (int i = n - 1; i >= 0; i--) a[i] = pop(at);
        List<Object> l = new ArrayList<>(n);
        Collections.addAll(l, a);
        return new PyTuple(l);
    }

    private void put(int at, long index) throws ConvertException {
        if (memo.size() >= limits.maxMemo && !memo.containsKey(index))
            throw failAt(at, "more than " + limits.maxMemo + " memo entries (a memo bomb?)");
        memo.put(index, peek(at));
    }

    private void get(int at, long index) throws ConvertException {
        if (!memo.containsKey(index)) throw failAt(at, "memo entry " + index + " read before it was written (malformed pickle)");
        push(at, memo.get(index));
    }

    @SuppressWarnings("unchecked")
    private List<Object> asList(int at, Object o, String op) throws ConvertException {
        if (o instanceof List<?> l && !(o instanceof PyTuple)) return (List<Object>) l;
        throw failAt(at, op + " on " + describe(o) + " (expected a list)");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> asMap(int at, Object o, String op) throws ConvertException {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw failAt(at, op + " on " + describe(o) + " (expected a dict)");
    }

    private void appendAll(int at, List<Object> target, List<Object> items) throws ConvertException {
        if ((long) target.size() + items.size() > limits.maxContainer)
            throw failAt(at, "a list grows past " + limits.maxContainer + " items (a pickle bomb?)");
        for (Object v : items) target.add(v == NoneHolder.NONE ? null : v);
    }

    private void setItems(int at, Map<Object, Object> m, List<Object> kv) throws ConvertException {
        if ((kv.size() & 1) != 0) throw failAt(at, "odd number of items for a dict (malformed pickle)");
        if ((long) m.size() + kv.size() / 2 > limits.maxContainer)
            throw failAt(at, "a dict grows past " + limits.maxContainer + " items (a pickle bomb?)");
        for (int i = 0; i < kv.size(); i += 2) {
            Object k = kv.get(i);
            // Keys are compared by value in Python; our keys are strings and numbers (mutable containers are not
            // hashable in Python either, and a tensor key would be meaningless in a checkpoint).
            if (!(k == null || k instanceof String || k instanceof Long || k instanceof BigInteger || k instanceof Boolean
                    || k instanceof Double || k instanceof PyTuple))
                throw failAt(at, "dict key of type " + describe(k) + " is not supported");
            m.put(k, kv.get(i + 1));
        }
    }

    // ------------------------------------------------------------------ raw reads

    private int u8() throws ConvertException {
        need(1);
        return in[pos++] & 0xff;
    }

    private int u16() throws ConvertException {
        need(2);
        int v = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    private int i32() throws ConvertException {
        need(4);
        int v = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8 | (in[pos + 2] & 0xff) << 16 | (in[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long u32() throws ConvertException { return i32() & 0xffffffffL; }

    private long u64() throws ConvertException {
        long lo = u32();
        long hi = u32();
        return hi << 32 | lo; // negative when above 2^63: callers treat that as too large
    }

    private long be64() throws ConvertException {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | (in[pos + i] & 0xff);
        pos += 8;
        return v;
    }

    private void need(long n) throws ConvertException {
        if (n > in.length - pos) throw fail("pickle ends inside an opcode at byte " + pos + " (truncated file?)");
    }

    private byte[] bytes(int at, long n) throws ConvertException {
        if (n < 0 || n > limits.maxStringBytes) throw failAt(at, "string or bytes of " + Long.toUnsignedString(n) + " bytes exceeds the limit of " + limits.maxStringBytes);
        need(n);
        byte[] b = new byte[(int) n];
        System.arraycopy(in, pos, b, 0, (int) n);
        pos += (int) n;
        return b;
    }

    private String utf8(int at, long n) throws ConvertException {
        byte[] b = bytes(at, n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw failAt(at, "string is not valid UTF-8");
        }
    }

    private String latin1(int at, long n) throws ConvertException {
        if (n < 0) throw failAt(at, "negative string length " + n);
        return new String(bytes(at, n), StandardCharsets.ISO_8859_1);
    }

    private Object longBytes(int at, int n) throws ConvertException {
        if (n > limits.maxLongBytes) throw failAt(at, "LONG of " + n + " bytes exceeds the limit of " + limits.maxLongBytes);
        byte[] le = bytes(at, n);
        if (n == 0) return 0L;
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = le[n - 1 - i];
        BigInteger v = new BigInteger(be); // two's complement, as pickle's encode_long writes
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /** A newline-terminated ASCII line (GLOBAL's module and name), at most 256 bytes. */
    private String line(int at) throws ConvertException {
        int start = pos;
        while (true) {
            if (pos >= in.length) throw failAt(at, "pickle ends inside a GLOBAL name (truncated file?)");
            if (in[pos] == '\n') break;
            if (pos - start > 256) throw failAt(at, "GLOBAL name longer than 256 bytes");
            pos++;
        }
        String s = new String(in, start, pos - start, StandardCharsets.ISO_8859_1);
        pos++;
        return s;
    }

    // ------------------------------------------------------------------ messages

    private ConvertException fail(String msg) { return new ConvertException(source + ": " + msg); }

    private ConvertException failAt(int at, String msg) { return new ConvertException(source + ": at pickle byte " + at + ": " + msg); }

    /** A short description of a value for messages (type and, for small values, the value); never recursive. */
    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof PyGlobal g) return g.qualified();
        if (o instanceof String s) return "'" + printable(s.length() > 60 ? s.substring(0, 60) + "..." : s) + "'";
        if (o instanceof Long || o instanceof Boolean || o instanceof Double || o instanceof BigInteger) return String.valueOf(o);
        if (o instanceof PyTuple t) return "a tuple of " + t.size();
        if (o instanceof List<?> l) return "a list of " + l.size();
        if (o instanceof Map<?, ?> m) return "a dict of " + m.size();
        if (o instanceof byte[] b) return "bytes of length " + b.length;
        if (o instanceof TensorRef) return "a tensor";
        if (o instanceof StorageRef) return "a storage";
        if (o instanceof NdArray || o instanceof NpDType) return "numpy " + o;
        return o.getClass().getSimpleName();
    }

    /** Control characters escaped, so a hostile name cannot garble a terminal. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        if (s.length() > 200) b.append("...");
        return b.toString();
    }
}
