package dev.dragedit.engine;

import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.cuda.ops.CudaOps;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How --device and --validate resolve into a run's op set and device. */
class EngineTest {

    @Test
    void deviceChoicesParseCaseInsensitivelyAndNameTheChoicesOtherwise() {
        assertEquals(DeviceChoice.EMULATED, DeviceChoice.parse("Emulated"));
        assertEquals(DeviceChoice.AUTO, DeviceChoice.parse(" auto "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.parse("gpu"));
        assertEquals("expected auto, cpu, cuda or emulated, found 'gpu'", e.getMessage());
    }

    @Test
    void cpuRunsCpuOpsAndKeepsTensorsOnTheCpu() {
        try (Engine engine = Engine.open(new RunOptions(DeviceChoice.CPU, false))) {
            assertSame(CpuOps.INSTANCE, engine.ops());
            assertEquals(DeviceChoice.CPU, engine.kind());
            assertTrue(engine.onCpu() && engine.device().isEmpty() && engine.validation().isEmpty());
            Tensor x = Tensor.of(new float[] {1.0009765625f, 2}, 2);
            assertSame(x, engine.place(x));
            Tensor h = engine.place(x, DType.F16);
            assertEquals(DType.F32, h.dtype(), "the CPU ops compute in F32: rounded values, F32 storage");
            assertEquals(1.0009765625f, h.data()[0]);
            assertEquals(1f, engine.place(x, DType.BF16).data()[0], "rounded to BF16's 8 bits");
        }
    }

    @Test
    void validatingTheCpuOpsIsRefused() {
        OptionsException e = assertThrows(OptionsException.class, () -> Engine.open(new RunOptions(DeviceChoice.CPU, true)));
        assertEquals(RunOptions.VALIDATE_NEEDS_CUDA, e.getMessage());
        assertEquals("--validate shadows the CUDA op set; use --device cuda or emulated", e.getMessage());
    }

    @Test
    void emulatedRunsCudaOpsOnTheEmulationAndPlacesTensorsThere() {
        KernelDevice seen;
        try (Engine engine = Engine.open(new RunOptions(DeviceChoice.EMULATED, true))) {
            assertEquals(DeviceChoice.EMULATED, engine.kind());
            assertFalse(engine.onCpu());
            seen = engine.device().orElseThrow();
            assertTrue(seen.emulated());
            ValidatingOps v = assertInstanceOf(ValidatingOps.class, engine.ops());
            assertSame(CudaOps.INSTANCE, v.checked());
            assertSame(v, engine.validation().orElseThrow());
            Tensor x = engine.place(Tensor.of(new float[] {1, -2, 3}, 3));
            assertTrue(x.onDevice());
            assertSame(seen, x.kernelDevice());
            assertEquals(DType.BF16, engine.place(Tensor.of(new float[] {1}, 1), DType.BF16).dtype());
            Tensor y = engine.ops().unary(dev.dragedit.ops.Unary.ABS, x);
            assertEquals(3f, y.toCpu().data()[2]);
            assertEquals(1, v.validated());
            assertTrue(engine.description().startsWith("CudaOps on CUDA emulation on the CPU"), engine.description());
            assertTrue(engine.description().contains("every op validated against CpuOps"), engine.description());
        }
        assertThrows(IllegalStateException.class, () -> seen.alloc(4), "closing the engine closes the device it opened");
    }

    @Test
    void anEngineOnACallersDeviceLeavesItOpen() {
        try (KernelDevice dev = Devices.best()) {
            try (Engine engine = Engine.on(dev, false)) {
                assertSame(CudaOps.INSTANCE, engine.ops());
                assertSame(dev, engine.device().orElseThrow());
            }
            dev.free(dev.alloc(16));
        }
    }

    @Test
    void withoutAGpuAutoIsTheCpuAndCudaSaysWhy() {
        if (Devices.cudaAvailable()) {
            try (Engine engine = Engine.open(RunOptions.DEFAULT)) {
                assertEquals(DeviceChoice.CUDA, engine.kind());
            }
            return;
        }
        try (Engine engine = Engine.open(RunOptions.DEFAULT)) {
            assertEquals(DeviceChoice.CPU, engine.kind(), "auto never picks the emulation");
            assertTrue(engine.description().contains("--device auto, no GPU: "), engine.description());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Engine.open(new RunOptions(DeviceChoice.CUDA, false)));
        assertTrue(e.getMessage().startsWith("--device cuda: "), e.getMessage());
        OptionsException v = assertThrows(OptionsException.class, () -> Engine.open(new RunOptions(DeviceChoice.AUTO, true)));
        assertTrue(v.getMessage().startsWith(RunOptions.VALIDATE_NEEDS_CUDA + " (--device auto found no GPU: "), v.getMessage());
    }
}
