// A tensor as torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
// describes it: a strided view of a storage. Nothing is read here; CkptReader turns it into a Tensor (mapped when
// the view is contiguous, gathered into a copy when it is not).
package dev.dragedit.convert.pickle;

import dev.dragedit.convert.ConvertException;

import java.util.Arrays;

/** A strided view ({@code offset}, {@code size}, {@code stride}, in elements) of a checkpoint storage. */
public record TensorRef(StorageRef storage, long offset, int[] size, long[] stride) {
    /** Makes an exception for a message (the unpickler's, which adds the file and position). */
    public interface Failure { ConvertException make(String message); }

    static final int MAX_RANK = 16;

    static TensorRef rebuild(Unpickler.PyTuple args, Failure fail) throws ConvertException {
        if (args.size() < 6 || args.size() > 7)
            throw fail.make("_rebuild_tensor_v2 called with " + args.size() + " arguments (expected 6 or 7)");
        if (!(args.get(0) instanceof StorageRef st))
            throw fail.make("_rebuild_tensor_v2 expects a storage as its first argument, found " + Unpickler.describe(args.get(0)));
        if (!(args.get(1) instanceof Long off) || off < 0)
            throw fail.make("_rebuild_tensor_v2: storage offset " + Unpickler.describe(args.get(1)) + " is not a non-negative integer");
        long[] size = ints(args.get(2), "size", fail);
        long[] stride = ints(args.get(3), "stride", fail);
        if (size.length != stride.length)
            throw fail.make("_rebuild_tensor_v2: size has " + size.length + " dimensions but stride has " + stride.length);
        int[] shape = new int[size.length];
        long numel = 1;
        long last = off; // index of the last element the view touches
        for (int i = 0; i < size.length; i++) {
            if (size[i] > Integer.MAX_VALUE) throw fail.make("_rebuild_tensor_v2: dimension " + size[i] + " is too large");
            shape[i] = (int) size[i];
            numel = Math.multiplyExact(numel, size[i]);
            if (size[i] > 0) last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
        }
        if (numel > 0 && last >= st.numel())
            throw fail.make("tensor view " + Arrays.toString(size) + " with stride " + Arrays.toString(stride) + " at offset " + off
                    + " reaches element " + last + " of a storage of " + st.numel() + " elements");
        return new TensorRef(st, off, shape, stride);
    }

    private static long[] ints(Object o, String what, Failure fail) throws ConvertException {
        if (!(o instanceof Unpickler.PyTuple t)) throw fail.make("_rebuild_tensor_v2: " + what + " is " + Unpickler.describe(o) + ", expected a tuple");
        if (t.size() > MAX_RANK) throw fail.make("_rebuild_tensor_v2: " + what + " has " + t.size() + " dimensions (more than " + MAX_RANK + ")");
        long[] r = new long[t.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(t.get(i) instanceof Long v) || v < 0)
                throw fail.make("_rebuild_tensor_v2: " + what + " element " + Unpickler.describe(t.get(i)) + " is not a non-negative integer");
            r[i] = v;
        }
        return r;
    }

    public long numel() {
        long n = 1;
        for (int s : size) n *= s;
        return n;
    }

    /** True when the view is the row-major layout of its shape (size-1 dimensions may have any stride). */
    public boolean contiguous() {
        long expect = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expect) return false;
            expect *= size[i];
        }
        return true;
    }
}
