package dev.dragedit.cli;

import dev.dragedit.bench.BenchCommand;
import dev.dragedit.engine.DeviceChoice;
import dev.dragedit.engine.Engine;
import dev.dragedit.engine.OptionsException;
import dev.dragedit.engine.RunOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;

/**
 * The {@code dragedit} command line: built-in commands (version, demo, bench) plus whatever the modules on the
 * classpath contribute through {@link CommandProvider}. Exit codes: 0 success, 2 usage error (unknown option or
 * command, bad value), 1 runtime failure, reported in one line; the stack trace only with {@code --debug} or
 * {@code DRAGEDIT_DEBUG=1}, so that ordinary failures read like messages, not crashes.
 *
 * <p>Global options, accepted before or after any command: {@code --debug}, {@code --device} and {@code --validate}.
 * The last two are resolved once per run into an {@link Engine} ({@link #engine}), which commands ask for their op
 * set; the run closes it at the end and, under {@code --validate}, prints how many ops were validated.
 */
@Command(name = "dragedit",
        mixinStandardHelpOptions = true,
        versionProvider = Main.BuildVersion.class,
        synopsisSubcommandLabel = "COMMAND",
        description = "Point-based drag image editing (DragDiffusion, DragGAN) on a hand-written compute engine.",
        commandListHeading = "%nCommands:%n",
        footerHeading = "%n",
        footer = {"Run 'dragedit COMMAND --help' for a command's options.",
                  "Environment: DRAGEDIT_THREADS (worker threads), DRAGEDIT_SIMD=0 (scalar paths), DRAGEDIT_DEBUG=1 (stack traces)."})
public final class Main implements Callable<Integer> {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    private static volatile boolean debug;

    @Spec CommandSpec spec;

    // A static flag, because picocli copies inherited options into every subcommand's spec; whichever copy parses
    // "--debug", the whole run must see it.
    @Option(names = "--debug", scope = ScopeType.INHERIT,
            description = "On failure, print the stack trace (also DRAGEDIT_DEBUG=1).")
    void setDebug(boolean on) { if (on) debug = true; }

    /** True when the user asked for stack traces. */
    public static boolean debug() { return debug; }

    // Per command tree, not static: every copy of these options (see inheritRunOptions) writes through the same
    // setter of this instance. A copy that did not see the option resets it to its initial value while parsing, so
    // the setters ignore the null / false of a reset, as setDebug does.
    private DeviceChoice device;
    private boolean validate;
    private Engine engine;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda|emulated", converter = DeviceConverter.class,
            description = "Where the ops run: auto (default: the GPU if present, else the CPU), cpu, cuda (an error without a GPU), "
                    + "emulated (the CUDA kernels on the CPU emulation of CUDA, for testing; slow).")
    void setDevice(DeviceChoice d) { if (d != null) device = d; }

    @Option(names = "--validate",
            description = "Shadow every CUDA op with its CPU op; stop at the first divergence, naming the op, shapes and error.")
    void setValidate(boolean on) { if (on) validate = true; }

    /** Parses --device values with a message listing the choices. */
    static final class DeviceConverter implements CommandLine.ITypeConverter<DeviceChoice> {
        @Override public DeviceChoice convert(String value) {
            try {
                return DeviceChoice.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** What --device and --validate asked for in this run (commands with an option of their own consult it too). */
    public RunOptions runOptions() {
        return new RunOptions(device == null ? DeviceChoice.AUTO : device, validate);
    }

    /**
     * The run's engine (its op set and device), opened on first use from {@code --device} and {@code --validate}
     * and closed when the run ends. Commands call this from {@code call()} with their own {@code @Spec}; options that
     * cannot be honoured on this machine ({@code --validate} when auto found no GPU) become a usage error there.
     */
    public static Engine engine(CommandSpec spec) {
        if (!(spec.root().userObject() instanceof Main main)) {
            throw new IllegalStateException(spec.qualifiedName() + ": not part of the dragedit command tree, so it has no run engine");
        }
        synchronized (main) {
            if (main.engine == null) {
                try {
                    main.engine = Engine.open(main.runOptions());
                } catch (OptionsException e) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
            }
            return main.engine;
        }
    }

    /**
     * The run's device from a command's own source (an edit spec's "device"), used only when {@code --device} was
     * not given and before the engine opened; a value that does not parse is a usage error naming {@code what}.
     */
    static void deviceDefault(CommandSpec spec, String value, String what) {
        if (value == null || !(spec.root().userObject() instanceof Main main)) return;
        DeviceChoice d;
        try {
            d = DeviceChoice.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), what + ": " + e.getMessage());
        }
        synchronized (main) {
            if (main.device == null && main.engine == null) main.device = d;
        }
    }

    private synchronized void resetRunOptions() {
        device = null;
        validate = false;
    }

    /** Closes the run's engine if a command opened one, after printing the validation summary. */
    private synchronized void endRun(PrintWriter err) {
        if (engine == null) return;
        try {
            engine.validation().ifPresent(v -> err.println("dragedit: --validate: " + v.summary()));
            engine.close();
        } finally {
            engine = null;
        }
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("dragedit: missing command");
        spec.commandLine().usage(err);
        return EXIT_USAGE;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8), true);
        int code = run(args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line and returns its exit code; never calls System.exit, so tests can call it. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl;
        try {
            cl = commandLine();
        } catch (RuntimeException | LinkageError e) {
            return onFailure(e, err);
        }
        return run(cl, args, out, err);
    }

    /** Runs {@code args} against a given command tree (tests build their own). */
    static int run(CommandLine cl, String[] args, PrintWriter out, PrintWriter err) {
        debug = "1".equals(System.getenv("DRAGEDIT_DEBUG")) || "true".equalsIgnoreCase(System.getenv("DRAGEDIT_DEBUG"));
        try {
            cl.setOut(out);
            cl.setErr(err);
            cl.setParameterExceptionHandler(Main::onUsageError);
            cl.setExecutionExceptionHandler((ex, cmd, parsed) -> onFailure(ex, cmd.getErr()));
            cl.setExecutionStrategy(Main::checkThenRun);
            if (cl.getCommand() instanceof Main main) main.resetRunOptions();   // a tree may run several command lines
            return cl.execute(args);
        } catch (Throwable t) {
            // Errors escape picocli's handler (out of memory, a broken static initialiser).
            return onFailure(t, err);
        } finally {
            if (cl.getCommand() instanceof Main main) {
                try {
                    main.endRun(err);
                } catch (RuntimeException e) {
                    onFailure(e, err);
                }
            }
            out.flush();
            err.flush();
        }
    }

    /** Rejects contradictory global options before any command runs, as a usage error of the command named. */
    private static int checkThenRun(CommandLine.ParseResult parsed) {
        if (parsed.commandSpec().userObject() instanceof Main main) {
            try {
                main.runOptions().check();
            } catch (OptionsException e) {
                List<CommandLine> chain = parsed.asCommandLineList();
                throw new ParameterException(chain.get(chain.size() - 1), e.getMessage());
            }
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /** The full command tree: built-ins first, then every {@link CommandProvider} found on the classpath. */
    public static CommandLine commandLine() {
        List<CommandProvider> providers = new ArrayList<>();
        try {
            ServiceLoader.load(CommandProvider.class).forEach(providers::add);
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("a META-INF/services/" + CommandProvider.class.getName() + " entry is broken: " + e.getMessage(), e);
        }
        return commandLine(providers);
    }

    /** The built-in commands plus those of {@code providers}. */
    static CommandLine commandLine(Iterable<CommandProvider> providers) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExpandAtFiles(false);   // a prompt that starts with @ is text, not the name of a file to splice in
        cl.addSubcommand(new VersionCommand());
        cl.addSubcommand(new DemoCommand());
        cl.addSubcommand(new BenchCommand());
        cl.addSubcommand(new ForwardCommand());
        cl.addSubcommand(new TokenizeCommand());
        cl.addSubcommand(new DragTraceCommand());
        cl.addSubcommand(new InvertCommand());
        cl.addSubcommand(new EditCommand());
        cl.addSubcommand(new dev.dragedit.eval.EvalCommand());
        cl.addSubcommand(new dev.dragedit.train.TrainTinyCommand());
        cl.addSubcommand(new CommandLine.HelpCommand());
        for (CommandProvider p : providers) {
            CommandLine parent = cl;
            if (!p.parent().isEmpty()) {
                parent = cl.getSubcommands().get(p.parent());
                if (parent == null) {
                    throw new IllegalStateException(p.getClass().getName() + " adds commands under '" + p.parent()
                            + "', which is not a dragedit command (known: " + cl.getSubcommands().keySet() + ")");
                }
            }
            for (Object c : p.commands()) {
                try {
                    parent.addSubcommand(c);
                } catch (CommandLine.InitializationException e) {
                    throw new IllegalStateException(p.getClass().getName() + ": cannot add command: " + e.getMessage(), e);
                }
            }
        }
        inheritRunOptions(cl, List.of(cl.getCommandSpec().findOption("--device"), cl.getCommandSpec().findOption("--validate")));
        return cl;
    }

    /**
     * Gives every command below the root a copy of the run options, bound to the root's setters, as
     * {@code ScopeType.INHERIT} would, except that a command declaring an option of the same name keeps its own
     * (INHERIT would make building the tree fail, and a module's command could then break the whole CLI).
     */
    private static void inheritRunOptions(CommandLine parent, List<OptionSpec> global) {
        for (CommandLine sub : parent.getSubcommands().values()) {
            for (OptionSpec o : global) {
                if (sub.getCommandSpec().findOption(o.longestName()) == null) {
                    sub.getCommandSpec().addOption(OptionSpec.builder(o).inherited(true).build());
                }
            }
            inheritRunOptions(sub, global);
        }
    }

    private static int onUsageError(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("dragedit: " + usageMessage(ex));
        printCloseSuggestions(ex, err);
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage.");
        if (debug) ex.printStackTrace(err);
        return EXIT_USAGE;
    }

    /** picocli's messages, except that a stray word is called an unknown command or an unexpected argument. */
    private static String usageMessage(ParameterException ex) {
        CommandSpec spec = ex.getCommandLine().getCommandSpec();
        if (ex instanceof UnmatchedArgumentException u && spec.positionalParameters().isEmpty()
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
            String word = u.getUnmatched().get(0);
            String where = spec.parent() == null ? "" : spec.qualifiedName().substring(spec.root().name().length() + 1) + ": ";
            return spec.subcommands().isEmpty() ? where + "unexpected argument '" + word + "'"
                    : where + "unknown command '" + word + "' (commands: " + String.join(", ", spec.subcommands().keySet()) + ")";
        }
        return ex.getMessage();
    }

    /** picocli's "Did you mean", keeping only near misses (a typo, not any word sharing two letters). */
    private static void printCloseSuggestions(ParameterException ex, PrintWriter err) {
        if (!(ex instanceof UnmatchedArgumentException u) || u.getUnmatched().isEmpty()) return;
        String typed = u.getUnmatched().get(0);
        List<String> close = new ArrayList<>();
        for (String s : u.getSuggestions()) {
            String name = s.substring(s.lastIndexOf(' ') + 1);
            if (editDistance(typed, name) <= Math.max(1, name.length() / 3)) close.add(name);
        }
        if (!close.isEmpty()) err.println("Did you mean: " + String.join(" or ", close) + "?");
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

    static int onFailure(Throwable t, PrintWriter err) {
        err.println("dragedit: " + oneLine(t) + (debug ? "" : "  (--debug or DRAGEDIT_DEBUG=1 shows the stack trace)"));
        if (debug) t.printStackTrace(err);
        err.flush();
        return EXIT_FAILURE;
    }

    /** The most telling message of a failure: wrappers without their own message give way to their cause. */
    static String oneLine(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c && isWrapper(c)) c = c.getCause();
        if (c instanceof OutOfMemoryError) {
            return "out of memory (" + c.getMessage() + "); give Java more with DRAGEDIT_JAVA_OPTS=-Xmx<size>";
        }
        if (c instanceof NoClassDefFoundError && String.valueOf(c.getMessage()).startsWith("jdk/incubator/vector")) {
            return "the Vector API is missing (" + c.getMessage() + "): start java with --add-modules jdk.incubator.vector (./dragedit does)";
        }
        String msg = c.getMessage();
        String line = msg == null || msg.isBlank() ? c.getClass().getSimpleName() : msg;
        return line.strip().replace('\n', ' ');
    }

    /** A wrapper says nothing of its own: no message, or only its cause's toString(). */
    private static boolean isWrapper(Throwable t) {
        String m = t.getMessage();
        return m == null || m.equals(t.getCause().toString());
    }

    /** The version from build.properties, which Maven fills in when it copies the resource. */
    public static String buildVersion() {
        try (InputStream in = Main.class.getResourceAsStream("/dev/dragedit/build.properties")) {
            if (in == null) return "unknown (no /dev/dragedit/build.properties on the classpath)";
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version");
            return v == null || v.isBlank() || v.startsWith("${") ? "unknown (build.properties was not filtered by Maven)" : v;
        } catch (java.io.IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** The -V/--version answer of every command. */
    public static final class BuildVersion implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"dragedit " + buildVersion()}; }
    }
}
