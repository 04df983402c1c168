package dev.keel.core.config;

import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.Node;

/** Collects the problems of one load, each with the file, key path and position. */
public final class Problems {

    private final String file;
    private final List<ConfigProblem> list = new ArrayList<>();

    public Problems(String file) {
        this.file = file;
    }

    public String file() {
        return file;
    }

    public void add(String path, Node node, String message) {
        add(path, node == null ? null : node.getStartMark(), message);
    }

    public void add(String path, Mark mark, String message) {
        list.add(new ConfigProblem(file, path, mark == null ? 0 : mark.getLine() + 1,
                mark == null ? 0 : mark.getColumn() + 1, message));
    }

    public boolean isEmpty() {
        return list.isEmpty();
    }

    public int size() {
        return list.size();
    }

    public List<ConfigProblem> list() {
        return List.copyOf(list);
    }
}
