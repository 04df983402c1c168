package dev.keel.esp.config;

import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.Node;

/** (Same shape as policy-service's config reader.) Collects the problems of one load, each with the file, key path and position. */
final class Problems {

    private final String file;
    private final List<ConfigProblem> list = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    String file() {
        return file;
    }

    void add(String path, Node node, String message) {
        add(path, node == null ? null : node.getStartMark(), message);
    }

    void add(String path, Mark mark, String message) {
        list.add(new ConfigProblem(file, path, mark == null ? 0 : mark.getLine() + 1,
                mark == null ? 0 : mark.getColumn() + 1, message));
    }

    boolean isEmpty() {
        return list.isEmpty();
    }

    int size() {
        return list.size();
    }

    List<ConfigProblem> list() {
        return List.copyOf(list);
    }
}
