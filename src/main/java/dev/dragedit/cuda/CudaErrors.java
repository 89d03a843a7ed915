package dev.dragedit.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * CUDA driver error codes in words: the enum name and the driver's own description, plus what to do for the codes
 * a user can act on. Errors of a kernel that faulted are sticky (the context is dead until the process exits), so
 * they are told apart from ordinary argument errors.
 */
final class CudaErrors {
    private CudaErrors() {}

    static final int MIN_DRIVER_FOR_PTX = 580;
    static final String DRIVER_TOO_OLD = "driver too old for the PTX built by nvcc 13: need NVIDIA driver ≥ " + MIN_DRIVER_FOR_PTX;

    static String describe(int result) {
        String name = CUresult.stringFor(result);
        String[] text = new String[1];
        try {
            if (JCudaDriver.cuGetErrorString(result, text) != CUresult.CUDA_SUCCESS) text[0] = null;
        } catch (RuntimeException e) {
            text[0] = null;
        }
        return text[0] == null || text[0].isBlank() ? name : name + " (" + text[0] + ")";
    }

    /** Errors after which the context cannot be used again: the kernel faulted on the device. */
    static boolean sticky(int result) {
        return result == CUresult.CUDA_ERROR_ILLEGAL_ADDRESS || result == CUresult.CUDA_ERROR_LAUNCH_FAILED
                || result == CUresult.CUDA_ERROR_MISALIGNED_ADDRESS || result == CUresult.CUDA_ERROR_ILLEGAL_INSTRUCTION
                || result == CUresult.CUDA_ERROR_HARDWARE_STACK_ERROR || result == CUresult.CUDA_ERROR_INVALID_PC
                || result == CUresult.CUDA_ERROR_ASSERT || result == CUresult.CUDA_ERROR_LAUNCH_TIMEOUT;
    }

    /** A hint for launch errors whose cause is in the launch configuration rather than the kernel's code. */
    static String launchHint(int result) {
        if (result == CUresult.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES) {
            return "; the block needs more registers than the SM has (threads × registers per thread:"
                    + " see target/ptxas-report.txt), use a smaller block";
        }
        if (result == CUresult.CUDA_ERROR_INVALID_VALUE) {
            return "; a grid/block dimension or the dynamic shared memory is over this device's limit";
        }
        if (sticky(result)) return "; the CUDA context is unusable from now on: restart the process";
        return "";
    }

    /** cuDriverGetVersion's 12080 as "12.8". */
    static String cudaVersion(int v) { return (v / 1000) + "." + (v % 1000) / 10; }
}
