package dev.keel.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.nodes.Node;

/** The shared reading base: files, mappings with allowed keys, endpoints, and where problems point. */
class NodesTest {

    @TempDir
    Path dir;

    @Test
    void endpointsAreIpLiteralsWithAPortOrTheDefault() {
        assertThat(Nodes.endpoint("192.0.2.1:4500", -1)).isEqualTo(new InetSocketAddress("192.0.2.1", 4500));
        assertThat(Nodes.endpoint("[2001:db8::1]:500", -1)).isEqualTo(new InetSocketAddress("2001:db8::1", 500));
        assertThat(Nodes.endpoint("2001:db8::1", 4500)).isEqualTo(new InetSocketAddress("2001:db8::1", 4500));
        assertThat(Nodes.endpoint("127.0.0.1:0", -1).getPort()).isZero();
        assertThatThrownBy(() -> Nodes.endpoint("192.0.2.1", -1)).hasMessage("'192.0.2.1' needs a port, e.g. 192.0.2.1:4500");
        assertThatThrownBy(() -> Nodes.endpoint("192.0.2.1:70000", -1)).hasMessage("port '70000' is not a number 0-65535");
        assertThatThrownBy(() -> Nodes.endpoint("[::1:500", -1)).hasMessageContaining("without closing it");
        assertThatThrownBy(() -> Nodes.endpoint("localhost:500", -1)).hasMessageContaining("localhost");
    }

    @Test
    void problemsNameFileLineColumnAndKeyPath() {
        Problems problems = new Problems("node.yaml");
        Node root = YamlText.compose("""
                section:
                  porrt: 1
                  host: 10.0.0.1
                """, 1000, problems, "");
        Nodes nodes = new Nodes(problems);
        Map<String, Node> top = nodes.mapping(root, "", Set.of("section"));
        Map<String, Node> section = nodes.mapping(top.get("section"), "section", Set.of("port", "host"));
        nodes.endpoint(section.get("host"), "section.host", -1);
        assertThat(nodes.required(section, "port", "section", top.get("section"))).isFalse();
        assertThat(problems.list()).map(ConfigProblem::toString).containsExactly(
                "node.yaml:2:3: section.porrt: unknown key 'porrt'; did you mean 'port'?",
                "node.yaml:3:9: section.host: '10.0.0.1' needs a port, e.g. 10.0.0.1:4500",
                "node.yaml:2:3: section.port: missing");
    }

    @Test
    void aParsedListReportsEveryRefusedItemAtItsIndex() {
        Problems problems = new Problems("l.yaml");
        Nodes nodes = new Nodes(problems);
        Node list = YamlText.compose("[1, x, 3, y]", 100, problems, "");
        assertThat(nodes.list(list, "n", Integer::valueOf)).isNull();
        assertThat(problems.list()).map(ConfigProblem::toString).containsExactly(
                "l.yaml:1:5: n[1]: For input string: \"x\"", "l.yaml:1:11: n[3]: For input string: \"y\"");
        assertThat(nodes.list(YamlText.compose("1, 2", 100, problems, ""), "n", Integer::valueOf))
                .containsExactly(1, 2);
    }

    @Test
    void aFileIsReadWithinItsSizeLimitAsUtf8() throws Exception {
        Path file = Files.writeString(dir.resolve("a.yaml"), "a: 1\n");
        Problems problems = new Problems(file.toString());
        assertThat(YamlText.readFile(file, 100, problems)).isEqualTo("a: 1\n");
        assertThat(YamlText.readFile(file, 4, problems)).isNull();
        assertThat(YamlText.readFile(dir.resolve("none.yaml"), 100, problems)).isNull();
        Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xff});
        assertThat(YamlText.readFile(file, 100, problems)).isNull();
        assertThat(problems.list()).map(ConfigProblem::message).containsExactly(
                "the file is 5 bytes; at most 4 are read", "cannot read the file: no such file",
                "the file is not UTF-8 text");
        assertThat(YamlText.directoryOf(file)).isEqualTo(dir.toAbsolutePath());
    }
}
