package dev.keel.esp.config;

import java.util.List;

/** The outcome of loading a worker configuration: valid, or every problem found. */
public sealed interface WorkerConfigResult {

    /** A configuration without problems. */
    record Valid(WorkerConfig config) implements WorkerConfigResult {
    }

    /** One or more problems, in file order; nothing was configured. */
    record Invalid(List<ConfigProblem> problems) implements WorkerConfigResult {
        public Invalid {
            problems = List.copyOf(problems);
        }
    }
}
