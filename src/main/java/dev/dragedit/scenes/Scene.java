package dev.dragedit.scenes;

import dev.dragedit.drag.Images;

import java.util.List;

/**
 * image (RGB interleaved), caption ("a red disc on a striped blue background"), objects (drawn in order), background
 * description (the words the caption uses for it, e.g. "striped blue").
 */
public record Scene(Images.Rgb image, String caption, List<SceneObject> objects, String background) {
    public Scene {
        java.util.Objects.requireNonNull(image, "image");
        java.util.Objects.requireNonNull(caption, "caption");
        objects = List.copyOf(objects);
        java.util.Objects.requireNonNull(background, "background");
    }
}
