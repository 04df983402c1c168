package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import io.micrometer.core.instrument.Counter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.Node;

class MetricsEndpointTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private MetricsEndpoint endpoint;

    @AfterEach
    void close() {
        if (endpoint != null) {
            endpoint.close();
        }
        http.close();
    }

    private HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.address().getPort()
                + path)).method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void servesTheRegistryAndTheJvmInPrometheusTextFormat() throws Exception {
        endpoint = MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", 0));
        Counter.builder("keel.test.events").description("Events of the test").register(endpoint.registry())
                .increment(3);

        HttpResponse<byte[]> r = send("GET", "/metrics");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains(MetricsEndpoint.CONTENT_TYPE);
        String text = new String(r.body(), StandardCharsets.UTF_8);
        assertThat(text).contains("# TYPE keel_test_events_total counter", "keel_test_events_total 3.0",
                "jvm_memory_used_bytes{", "jvm_threads_live_threads", "jvm_gc_", "process_cpu_usage",
                "process_uptime_seconds", "jvm_classes_loaded_classes", "process_cpu_seconds_total ");
        assertThat(endpoint.url()).isEqualTo("http://127.0.0.1:" + endpoint.address().getPort() + "/metrics");
        Promtool.assertValid(text);
    }

    @Test
    void answersHeadGzipAndRefusesOtherPathsAndMethods() throws Exception {
        endpoint = MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", 0));

        HttpResponse<byte[]> head = send("HEAD", "/metrics");
        HttpResponse<byte[]> zipped = send("GET", "/metrics", "Accept-Encoding", "gzip");
        HttpResponse<byte[]> post = send("POST", "/metrics");
        HttpResponse<byte[]> elsewhere = send("GET", "/");

        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(zipped.headers().firstValue("Content-Encoding")).contains("gzip");
        String unzipped = new String(new GZIPInputStream(new ByteArrayInputStream(zipped.body())).readAllBytes(),
                StandardCharsets.UTF_8);
        assertThat(unzipped).contains("jvm_memory_used_bytes");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).contains("GET, HEAD");
        assertThat(elsewhere.statusCode()).isEqualTo(404);
    }

    @Test
    void aBusyAddressFailsTheStartNamingIt() throws Exception {
        endpoint = MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", 0));
        int port = endpoint.address().getPort();

        assertThatThrownBy(() -> MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", port)))
                .isInstanceOf(IOException.class).hasMessageStartingWith("metrics endpoint 127.0.0.1:" + port + ": ");

        endpoint.close(); // the port is free again once closed
        endpoint = MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", port));
        assertThat(endpoint.address().getPort()).isEqualTo(port);
    }

    private static List<String> readSection(String yaml, InetSocketAddress[] out) {
        Problems problems = new Problems("node.yaml");
        Node root = YamlText.compose(yaml, 1 << 20, problems, "");
        Nodes nodes = new Nodes(problems);
        Map<String, Node> top = nodes.mapping(root, "", null);
        out[0] = MetricsEndpoint.readSection(nodes, top.get("metrics"), "metrics");
        return problems.list().stream().map(Object::toString).toList();
    }

    @Test
    void readsTheMetricsSection() {
        InetSocketAddress[] listen = new InetSocketAddress[1];

        assertThat(readSection("metrics: {listen: \"127.0.0.1:9464\"}\n", listen)).isEmpty();
        assertThat(listen[0]).isEqualTo(new InetSocketAddress("127.0.0.1", 9464));
        assertThat(readSection("metrics: {listen: \"[::1]:0\"}\n", listen)).isEmpty();
        assertThat(listen[0].getAddress().isLoopbackAddress()).isTrue();
        assertThat(readSection("metrics: {listen: 127.0.0.1}\n", listen)).isEmpty();
        assertThat(listen[0]).as("the default port").isEqualTo(new InetSocketAddress("127.0.0.1", 9464));
    }

    @Test
    void aBadMetricsSectionNamesFileKeyPathAndProblem() {
        InetSocketAddress[] listen = new InetSocketAddress[1];

        assertThat(readSection("metrics: {listen: localhost:9464}\n", listen))
                .singleElement().asString().startsWith("node.yaml:1:19: metrics.listen: ").contains("localhost");
        assertThat(listen[0]).isNull();
        assertThat(readSection("metrics: {listen: 9464}\n", listen))
                .singleElement().asString().contains("metrics.listen: invalid IP address \"9464\"");
        assertThat(readSection("metrics: {listen: \"127.0.0.1:99999\"}\n", listen))
                .singleElement().asString().contains("metrics.listen: ", "0-65535");
        assertThat(readSection("metrics: {lisen: \"127.0.0.1:9464\"}\n", listen))
                .anySatisfy(p -> assertThat(p).contains("metrics.lisen: unknown key 'lisen'; did you mean 'listen'?"))
                .anySatisfy(p -> assertThat(p).contains("metrics.listen: missing"));
        assertThat(readSection("metrics: 9464\n", listen))
                .singleElement().asString().contains("metrics: expected a mapping");
    }

    @Test
    void aBadOptionValueNamesTheOption() {
        assertThat(MetricsEndpoint.listenOption("--metrics-listen", "127.0.0.1:9464"))
                .isEqualTo(new InetSocketAddress("127.0.0.1", 9464));
        assertThat(MetricsEndpoint.listenOption("--metrics-listen", "::1").getPort()).isEqualTo(9464);
        assertThatThrownBy(() -> MetricsEndpoint.listenOption("--metrics-listen", "9464"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("--metrics-listen: ");
    }
}
