package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * AutoencoderKL against the vae-tiny fixture (diffusers v0.24.0 AutoencoderKL in float64, block_out_channels
 * [32, 32, 64, 64], 32×32 image, 4×4 latent): every stored intermediate of encode (encoder_out, moments, posterior
 * mean / logvar / std), of decode (post_quant_conv_out, decoded) and the gradient of L = Σ decoded·R w.r.t. z, on
 * the CPU op set and on the CUDA backend (the emulation without a GPU), weights F32. Tolerance from the fixtures
 * README: max |got − ref| ≤ 1e-4 · max |ref| for every tensor.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaeFixtureTest {
    enum Backend { CPU, CUDA }

    private static final double TOL = 1e-4;

    private Path dir;
    private SafeTensors io;
    private KernelDevice device;
    private final Map<Backend, AutoencoderKL> models = new EnumMap<>(Backend.class);

    @BeforeAll
    void open() throws Exception {
        dir = Fixtures.require("vae-tiny/config.json").getParent();
        io = SafeTensors.open(Fixtures.require("vae-tiny/io.safetensors"));
    }

    @AfterAll
    void close() throws Exception {
        if (io != null) io.close();
        if (device != null) device.close();
    }

    private AutoencoderKL model(Backend b) {
        return models.computeIfAbsent(b, k -> {
            Placement p;
            if (k == Backend.CPU) p = Placement.cpu();
            else {
                device = Devices.best();
                p = Placement.on(device, DType.F32);
            }
            return AutoencoderKL.load(dir, p, null);
        });
    }

    private Tensor ref(String name) throws Exception { return io.get(name).to(DType.F32); }

    static void assertClose(String what, Tensor want, Tensor got) {
        Tensor g = got.toCpu().to(DType.F32);
        assertArrayEquals(want.shape(), g.shape(), what + ": shape");
        float[] e = want.data(), o = g.data();
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < e.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(e[i]));
            double err = Math.abs((double) o[i] - e[i]);
            if (!(err <= maxErr)) { maxErr = err; worst = i; }
        }
        System.out.printf("%s: max |got - ref| / max |ref| = %.2e%n", what, maxErr / maxRef);
        if (!(maxErr <= TOL * maxRef))
            fail(what + ": max |got − ref| = " + maxErr + " at element " + worst + " (got " + o[worst] + ", ref " + e[worst]
                    + "), allowed " + TOL + " · " + maxRef + " = " + TOL * maxRef);
    }

    @ParameterizedTest
    @ValueSource(strings = {"CPU", "CUDA"})
    void encodeMatchesEveryStoredIntermediate(String backend) throws Exception {
        AutoencoderKL vae = model(Backend.valueOf(backend));
        Functional f = vae.functional();
        Tensor x = vae.placement().input(ref("x"));
        try (var g = Tape.noGrad()) {
            Tensor enc = vae.encoder.forward(f, x);
            assertClose(backend + " encoder_out", ref("encoder_out"), enc);
            Tensor moments = vae.moments(f, enc);
            assertClose(backend + " moments", ref("moments"), moments);
            Posterior post = vae.posterior(f, moments);
            assertClose(backend + " posterior_mean", ref("posterior_mean"), post.mean());
            assertClose(backend + " posterior_logvar", ref("posterior_logvar"), post.logvar());
            assertClose(backend + " posterior_std", ref("posterior_std"), post.std());
            assertClose(backend + " posterior_std (recorded)", ref("posterior_std"), post.std(f));
            // encode() is the composition of the above.
            Posterior again = vae.encode(f, x);
            assertClose(backend + " encode().mean", ref("posterior_mean"), again.mean());
            assertClose(backend + " encode().logvar", ref("posterior_logvar"), again.logvar());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"CPU", "CUDA"})
    void decodeAndItsGradientMatch(String backend) throws Exception {
        AutoencoderKL vae = model(Backend.valueOf(backend));
        Functional f = vae.functional();
        Tensor z = vae.placement().input(ref("z")).requiresGrad(true);
        assertClose(backend + " post_quant_conv_out", ref("post_quant_conv_out"), vae.postQuantConv(f, z));
        Tensor decoded = vae.decode(f, z);
        assertClose(backend + " decoded", ref("decoded"), decoded);
        Tensor r = vae.placement().input(ref("R"));
        Tensor loss = f.sum(f.mul(decoded, r));
        double want = ref("L").data()[0], got = loss.toCpu().to(DType.F32).data()[0];
        assertTrue(Math.abs(got - want) <= TOL * Math.abs(want), backend + " L = " + got + ", expected " + want);
        Tape.backward(loss);
        assertClose(backend + " grad_z", ref("grad_z"), z.grad());
    }

    @ParameterizedTest
    @ValueSource(strings = {"CPU", "CUDA"})
    void samplingIsMeanPlusStdTimesNoise(String backend) throws Exception {
        AutoencoderKL vae = model(Backend.valueOf(backend));
        Posterior post;
        try (var g = Tape.noGrad()) {
            post = vae.encode(vae.functional(), vae.placement().input(ref("x")));
        }
        float[] mean = post.mean().toCpu().data(), std = post.std().toCpu().data();
        float[] a = post.sample(new java.util.SplittableRandom(7)).toCpu().data();
        float[] b = post.sample(new java.util.SplittableRandom(7)).toCpu().data();
        assertArrayEquals(a, b, "the same seed gives the same sample");
        java.util.SplittableRandom rng = new java.util.SplittableRandom(7);
        for (int i = 0; i < a.length; i++) {
            double n = (float) rng.nextGaussian();
            assertTrue(Math.abs(a[i] - (mean[i] + std[i] * n)) <= 1e-5 * (1 + Math.abs(a[i])),
                    "element " + i + ": " + a[i] + " vs " + (mean[i] + std[i] * n));
        }
        assertTrue(!Arrays.equals(a, post.sample(new java.util.SplittableRandom(8)).toCpu().data()), "another seed differs");
    }
}
