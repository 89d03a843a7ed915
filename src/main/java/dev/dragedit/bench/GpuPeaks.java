package dev.dragedit.bench;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Vendor peak numbers of the GPUs {@code dragedit bench kernels} knows, found by the name the driver reports
 * (cuDeviceGetName): FP32 without tensor cores, FP16/BF16 on tensor cores (dense, i.e. without the 2:4 sparsity the
 * datasheets quote as well, and with FP32 accumulation, as our kernels accumulate), and DRAM bandwidth. A kernel's
 * "% of peak" divides its throughput by the one of these that bounds it: GFLOP/s of an F32 GEMM/conv/attention by
 * the FP32 peak, of a 16-bit one by the tensor-core peak (the ceiling of 16-bit matrix products on the chip, whether or
 * not the kernel uses tensor cores), GB/s of everything else by the DRAM bandwidth.
 *
 * <p>Sources (boost clocks; TFLOP/s, GB/s):
 * <ul>
 *   <li>H100 SXM5 / PCIe / NVL: NVIDIA H100 Tensor Core GPU datasheet (2023): FP32 67 / 51 / 60; FP16 and BF16 tensor
 *       1,979 / 1,513 / 1,671 with sparsity, so 989.5 / 756.5 / 835.5 dense; 3,350 / 2,000 / 3,900 GB/s.</li>
 *   <li>H200 SXM / NVL: NVIDIA H200 Tensor Core GPU datasheet (2024): FP32 67 / 60; FP16 tensor 1,979 / 1,671 sparse
 *       (989.5 / 835.5 dense); 4,800 GB/s both.</li>
 *   <li>A100: NVIDIA A100 Tensor Core GPU datasheet (2021): FP32 19.5; FP16/BF16 tensor 312 dense; 40 GB PCIe and SXM
 *       1,555 GB/s, 80 GB PCIe 1,935 GB/s, 80 GB SXM 2,039 GB/s.</li>
 *   <li>L4: NVIDIA L4 datasheet: FP32 30.3; FP16/BF16 tensor 242 sparse (121 dense); 300 GB/s.</li>
 *   <li>L40S: NVIDIA L40S datasheet: FP32 91.6; FP16/BF16 tensor 362.05 dense (733 with sparsity); 864 GB/s.</li>
 *   <li>A10: NVIDIA A10 datasheet: FP32 31.2; FP16/BF16 tensor 250 sparse (125 dense); 600 GB/s.</li>
 *   <li>GeForce RTX 3090: NVIDIA Ampere GA102 GPU architecture whitepaper, appendix A: FP32 35.6; FP16 tensor with
 *       FP32 accumulate 71 dense (GeForce runs FP32 accumulation at half the FP16-accumulate rate); 936 GB/s.</li>
 *   <li>GeForce RTX 4090: NVIDIA Ada Lovelace architecture whitepaper, appendix A: FP32 82.6; FP16 tensor with FP32
 *       accumulate 165.2 dense; 1,008 GB/s.</li>
 * </ul>
 * Any other device, and the emulation, has no peak: "unknown", and no percentage is reported.
 */
public record GpuPeaks(String model, double fp32Gflops, double tensor16Gflops, double dramGbps) {

    private record Entry(Pattern name, GpuPeaks peaks) {}

    /** First match wins, so the more specific names (H100 NVL before H100, A100 80GB PCIe before A100) come first. */
    private static final List<Entry> TABLE = List.of(
            entry("H100.*NVL", "H100 NVL", 60_000, 835_500, 3_900),
            entry("H100.*PCI", "H100 PCIe", 51_000, 756_500, 2_000),
            entry("H100", "H100 SXM", 67_000, 989_500, 3_350),
            entry("H200.*NVL", "H200 NVL", 60_000, 835_500, 4_800),
            entry("H200", "H200 SXM", 67_000, 989_500, 4_800),
            entry("A100.*(80GB.*PCI|PCI.*80GB)", "A100 80GB PCIe", 19_500, 312_000, 1_935),
            entry("A100.*PCI", "A100 40GB PCIe", 19_500, 312_000, 1_555),
            entry("A100.*80GB", "A100 80GB SXM", 19_500, 312_000, 2_039),
            entry("A100", "A100 40GB SXM", 19_500, 312_000, 1_555),
            entry("L40S", "L40S", 91_600, 362_050, 864),
            entry("\\bL4\\b", "L4", 30_300, 121_000, 300),
            entry("\\bA10\\b", "A10", 31_200, 125_000, 600),
            entry("RTX 3090(?! Ti)", "GeForce RTX 3090", 35_600, 71_000, 936),
            entry("RTX 4090(?! D)", "GeForce RTX 4090", 82_600, 165_200, 1_008));

    private static Entry entry(String regex, String model, double fp32, double tensor16, double gbps) {
        return new Entry(Pattern.compile(regex, Pattern.CASE_INSENSITIVE), new GpuPeaks(model, fp32, tensor16, gbps));
    }

    /**
     * The peaks of the GPU named {@code deviceName} (a KernelDevice name: the driver's name, then details in
     * parentheses, which are ignored), or null when the table does not know it.
     */
    public static GpuPeaks forDevice(String deviceName) {
        if (deviceName == null) return null;
        int paren = deviceName.indexOf(" (");
        String gpu = paren < 0 ? deviceName : deviceName.substring(0, paren);
        for (Entry e : TABLE) if (e.name().matcher(gpu).find()) return e.peaks();
        return null;
    }

    /** The GFLOP/s ceiling of compute in {@code dtype} ("f32", "f16" or "bf16"). */
    public double gflopsFor(String dtype) {
        return dtype.toLowerCase(Locale.ROOT).equals("f32") ? fp32Gflops : tensor16Gflops;
    }
}
