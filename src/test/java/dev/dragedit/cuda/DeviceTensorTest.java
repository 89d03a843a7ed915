package dev.dragedit.cuda;

import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Tensors on a kernel device: copies both ways, device-to-device copy, release, and CPU accessors refusing. */
class DeviceTensorTest {
    static KernelDevice dev;

    @BeforeAll static void open() { dev = Devices.best(); System.out.println("DeviceTensorTest on " + dev.name()); }
    @AfterAll static void close() { dev.close(); }

    @Test
    void roundTripThroughTheDeviceKeepsEveryValue() {
        float[] v = {1.5f, -0f, Float.NaN, Float.MIN_VALUE, 3e38f, -7};
        Tensor d = Tensor.of(v, 2, 3).toDevice(dev);
        assertTrue(d.onDevice());
        assertSame(dev, d.kernelDevice());
        assertArrayEquals(new int[]{2, 3}, d.shape());
        Tensor back = d.toCpu();
        for (int i = 0; i < v.length; i++) assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(back.data()[i]), "element " + i);
        Tensor c = d.copy();
        assertNotEquals(d.devicePtr(), c.devicePtr());
        assertArrayEquals(back.data(), c.toCpu().data());
        assertArrayEquals(back.data(), d.reshape(3, 2).toCpu().data(), "views share device memory");
    }

    @Test
    void halfTensorsKeepTheirTypeAndBitsOnTheDevice() {
        for (DType t : new DType[]{DType.F16, DType.BF16}) {
            short[] bits = {0x3c00, (short) 0x8000, 0x7e00, 0x0001, (short) 0xfbff, 0x1234, 0x7f80};
            Tensor h = Tensor.ofHalfBits(bits, t, 7);
            Tensor d = h.toDevice(dev);
            assertEquals(t, d.dtype());
            assertEquals(14, d.sizeBytes());
            Tensor back = d.toCpu();
            assertEquals(t, back.dtype());
            assertArrayEquals(bits, back.halfBits(), t + " bits survive the round trip");
            assertArrayEquals(bits, d.copy().toCpu().halfBits(), t + " device copy");
            Tensor c = Tensor.of(new float[]{1, 2.5f}, 2).toDevice(dev, t);
            assertEquals(t, c.dtype(), "toDevice(dev, dtype) converts");
            assertArrayEquals(new float[]{1, 2.5f}, c.toCpu().to(DType.F32).data());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.to(DType.F32));
            assertTrue(e.getMessage().contains("cast"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Tensor.emptyOn(dev, DType.I64, 3));
    }

    @Test
    void castOnTheDeviceRoundsAsTheCpuConversionDoes() {
        java.util.Random r = new java.util.Random(5);
        float[] v = new float[1037];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        v[0] = Float.NaN; v[1] = 1e6f; v[2] = -0f; v[3] = 65520f; v[4] = 1.0009765625f + 1e-7f;
        Tensor x = Tensor.of(v, 1037);
        DType[] types = {DType.F32, DType.F16, DType.BF16};
        for (DType from : types) for (DType to : types) {
            Tensor src = x.to(from);
            Tensor got = CudaOps.cast(src.toDevice(dev), to).toCpu();
            Tensor want = src.to(DType.F32).to(to);
            assertEquals(to, got.dtype());
            for (int i = 0; i < v.length; i++) {
                float w = want.getFloat(i), g = got.getFloat(i);
                if (Float.isNaN(w)) assertTrue(Float.isNaN(g), from + " -> " + to + " keeps NaN");
                else assertEquals(Float.floatToRawIntBits(w), Float.floatToRawIntBits(g), from + " -> " + to + " element " + i + " (" + v[i] + ")");
            }
        }
    }

    @Test
    void cpuAccessorsOnADeviceTensorSayWhereItIs() {
        Tensor d = Tensor.zeros(4).toDevice(dev);
        IllegalStateException e = assertThrows(IllegalStateException.class, d::data);
        assertTrue(e.getMessage().contains("toCpu"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> Tensor.zeros(2).devicePtr());
    }

    @Test
    void releasedMemoryCannotBeUsed() {
        Tensor d = Tensor.zeros(8).toDevice(dev);
        d.release();
        assertThrows(IllegalStateException.class, d::devicePtr);
        d.release(); // a second release is harmless
    }
}
