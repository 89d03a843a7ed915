package dev.dragedit.cuda;

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
