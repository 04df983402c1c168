package dev.keel.policy.config;

import dev.keel.core.config.ConfigProblem;

import java.util.List;

/** The outcome of loading a configuration: a valid configuration, or every problem found. */
public sealed interface ConfigResult {

    /** A configuration that passed every check. */
    record Valid(PolicyConfig config) implements ConfigResult {
    }

    /** A configuration that did not; {@code problems} is never empty. */
    record Invalid(List<ConfigProblem> problems) implements ConfigResult {
        /** Copies the list; at least one problem. */
        public Invalid {
            problems = List.copyOf(problems);
            if (problems.isEmpty()) {
                throw new IllegalArgumentException("an invalid configuration has at least one problem");
            }
        }
    }
}
