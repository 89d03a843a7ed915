package dev.dragedit.cuda;

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
