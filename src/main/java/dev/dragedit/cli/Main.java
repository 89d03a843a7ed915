package dev.dragedit.cli;

import dev.dragedit.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
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
            return cl.execute(args);
        } catch (Throwable t) {
            // Errors escape picocli's handler (out of memory, a broken static initialiser).
            return onFailure(t, err);
        } finally {
            out.flush();
            err.flush();
        }
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
        cl.addSubcommand(new VersionCommand());
        cl.addSubcommand(new DemoCommand());
        cl.addSubcommand(new BenchCommand());
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
        return cl;
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
