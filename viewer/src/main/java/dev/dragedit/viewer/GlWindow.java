package dev.dragedit.viewer;

import imgui.ImGui;
import imgui.gl3.ImGuiImplGl3;
import imgui.glfw.ImGuiImplGlfw;
import org.lwjgl.glfw.GLFWErrorCallback;
import org.lwjgl.opengl.GL;

import java.util.ArrayList;
import java.util.List;

import static org.lwjgl.glfw.GLFW.*;
import static org.lwjgl.opengl.GL11.*;

/**
 * The viewer's window: GLFW, an OpenGL 3.3 core context and imgui on top of it. Two ways to open it:
 * <ul>
 * <li>interactive: GLFW's default platform (X11 or Wayland) and its usual context API;</li>
 * <li>headless (--script, --headless, CI): GLFW's null platform, which needs no display, with the context made by EGL,
 * which Mesa's llvmpipe serves on a machine without a GPU. Everything draws and glReadPixels reads it back, so the
 * scripted tests exercise the same renderer as a real window.</li>
 * </ul>
 * What cannot be opened is a {@link OpenException} whose message says what is missing and what to do (no display:
 * use --script/--headless; no EGL: the Debian/Ubuntu packages that provide it), because GLFW's own errors
 * ("EGL: Library not found") do not say what the user should install.
 */
final class GlWindow implements AutoCloseable {
    /** The packages that give Mesa's EGL + software OpenGL on Debian/Ubuntu (what .ci/run installs). */
    static final String EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri";
    private static final String NO_DISPLAY = "no display: ";
    private static final String NO_DISPLAY_HINT = "; the interactive viewer needs a desktop session. Without one, use --script FILE "
            + "(a scripted session) or --headless (render offscreen, e.g. with --screenshot OUT.png)";

    /** Why the window could not open; {@link #noDisplay} tells the two user-facing cases apart. */
    static final class OpenException extends RuntimeException {
        final boolean noDisplay;

        OpenException(String message, boolean noDisplay) {
            super(message);
            this.noDisplay = noDisplay;
        }
    }

    private final long handle;
    private final boolean headless;
    private final ImGuiImplGlfw imguiGlfw = new ImGuiImplGlfw();
    private final ImGuiImplGl3 imguiGl3 = new ImGuiImplGl3();
    private final String renderer;
    private final GLFWErrorCallback errorCallback;
    private boolean imguiReady;

    /** GLFW's error messages since the last check: the reason a failed init or window creation gives. */
    private final List<String> errors = new ArrayList<>();

    private GlWindow(long handle, boolean headless, String renderer, GLFWErrorCallback cb) {
        this.handle = handle;
        this.headless = headless;
        this.renderer = renderer;
        this.errorCallback = cb;
    }

    /**
     * Opens a window of w×h window pixels. {@code beforeImgui} runs after the context exists and before imgui installs
     * its GLFW callbacks, so that callbacks set there are chained behind imgui's (imgui calls the previous ones).
     */
    static GlWindow open(String title, int w, int h, boolean headless, java.util.function.LongConsumer beforeImgui) {
        if (!headless && System.getenv("DISPLAY") == null && System.getenv("WAYLAND_DISPLAY") == null) {
            // Said before GLFW tries X11 and Wayland, whose libraries print their own complaints to stderr.
            throw new OpenException(NO_DISPLAY + "DISPLAY and WAYLAND_DISPLAY are unset" + NO_DISPLAY_HINT, true);
        }
        List<String> errors = new ArrayList<>();
        GLFWErrorCallback cb = GLFWErrorCallback.create((code, desc) -> errors.add(GLFWErrorCallback.getDescription(desc)));
        GLFWErrorCallback old = glfwSetErrorCallback(cb);
        if (old != null) old.free();
        if (headless) glfwInitHint(GLFW_PLATFORM, GLFW_PLATFORM_NULL);
        else glfwInitHint(GLFW_PLATFORM, GLFW_ANY_PLATFORM);
        if (!glfwInit()) {
            String why = String.join("; ", errors);
            glfwSetErrorCallback(null);
            cb.free();
            if (headless) throw new OpenException("cannot initialise GLFW's null platform (" + why + ")", false);
            throw new OpenException(NO_DISPLAY + why + NO_DISPLAY_HINT, true);
        }
        glfwDefaultWindowHints();
        if (headless) glfwWindowHint(GLFW_CONTEXT_CREATION_API, GLFW_EGL_CONTEXT_API);
        glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
        glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
        glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
        glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
        glfwWindowHint(GLFW_VISIBLE, headless ? GLFW_FALSE : GLFW_TRUE);
        errors.clear();
        long win = glfwCreateWindow(w, h, title, 0, 0);
        if (win == 0) {
            String why = String.join("; ", errors);
            glfwTerminate();
            glfwSetErrorCallback(null);
            cb.free();
            if (headless) {
                throw new OpenException("cannot create an offscreen OpenGL 3.3 context through EGL (" + why + "). The headless viewer "
                        + "(--script/--headless) needs EGL and Mesa's software OpenGL: install the packages " + EGL_PACKAGES
                        + " (apt-get install " + EGL_PACKAGES + ")", false);
            }
            throw new OpenException("cannot open an OpenGL 3.3 window (" + why + "); the graphics driver must provide OpenGL 3.3 "
                    + "(or use --headless with Mesa's EGL: " + EGL_PACKAGES + ")", false);
        }
        glfwMakeContextCurrent(win);
        GL.createCapabilities();
        // Vsync where the platform has it (an interactive window); the main loop caps the rate itself as well,
        // since the null platform has no vertical blank.
        glfwSwapInterval(1);
        String renderer = glGetString(GL_RENDERER) + " / " + glGetString(GL_VERSION);
        GlWindow gw = new GlWindow(win, headless, renderer, cb);
        gw.errors.addAll(errors);
        if (beforeImgui != null) beforeImgui.accept(win);
        ImGui.createContext();
        // No imgui.ini next to wherever the user ran the command: the layout is fixed by the viewer.
        ImGui.getIO().setIniFilename(null);
        gw.imguiGlfw.init(win, true);
        gw.imguiGl3.init("#version 330 core");
        gw.imguiReady = true;
        return gw;
    }

    long handle() { return handle; }

    boolean headless() { return headless; }

    /** GL_RENDERER / GL_VERSION, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) / 4.5 (Core Profile) Mesa 22.3.6". */
    String renderer() { return renderer; }

    boolean shouldClose() { return glfwWindowShouldClose(handle); }

    void requestClose() { glfwSetWindowShouldClose(handle, true); }

    /** Framebuffer size {w, h} (equal to the window size except on HiDPI screens). */
    int[] framebufferSize() {
        int[] w = new int[1], h = new int[1];
        glfwGetFramebufferSize(handle, w, h);
        return new int[]{w[0], h[0]};
    }

    /** Window size {w, h} in window pixels: the coordinates of mouse events and of imgui's draw lists. */
    int[] windowSize() {
        int[] w = new int[1], h = new int[1];
        glfwGetWindowSize(handle, w, h);
        return new int[]{w[0], h[0]};
    }

    /** Starts a frame: clears and starts imgui's frame (GL3 backend first: it builds the font texture on first use). */
    void beginFrame() {
        int[] fb = framebufferSize();
        glViewport(0, 0, fb[0], fb[1]);
        glClearColor(0.11f, 0.11f, 0.13f, 1f);
        glClear(GL_COLOR_BUFFER_BIT);
        imguiGl3.newFrame();
        imguiGlfw.newFrame();
        ImGui.newFrame();
    }

    /** Renders imgui's draw data into the back buffer; the frame is complete (and can be read back) after this. */
    void renderFrame() {
        ImGui.render();
        imguiGl3.renderDrawData(ImGui.getDrawData());
    }

    void swap() { glfwSwapBuffers(handle); }

    @Override
    public void close() {
        if (imguiReady) {
            imguiGl3.shutdown();
            imguiGlfw.shutdown();
            ImGui.destroyContext();
            imguiReady = false;
        }
        org.lwjgl.glfw.Callbacks.glfwFreeCallbacks(handle);
        glfwDestroyWindow(handle);
        glfwTerminate();
        glfwSetErrorCallback(null);
        errorCallback.free();
    }
}
