package dev.keel.rpc;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keel.core.config.Nodes;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.GZIPOutputStream;
import org.yaml.snakeyaml.nodes.Node;

/**
 * A Keel process's Prometheus endpoint: one registry with the JVM's meters (memory, GC, threads,
 * classes, process CPU, uptime) that the process's binders add theirs to, served as
 * {@code GET /metrics} in Prometheus' text exposition format (0.0.4) over plain HTTP on the
 * address the operator configures. Off unless configured; no authentication, so bind it to a
 * loopback or management address (docs/operations.md, "Metrics"). Scrapes run on one thread of
 * their own, never on an event loop; reading a meter reads the counters it is bound to.
 */
public final class MetricsEndpoint implements AutoCloseable {

    /** The path Prometheus scrapes. */
    public static final String PATH = "/metrics";
    /** The port when an address names none (the port OpenTelemetry's Prometheus exporter uses too). */
    public static final int DEFAULT_PORT = 9464;
    /** What a scrape returns: Prometheus' text exposition format, version 0.0.4. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final System.Logger LOG = System.getLogger(MetricsEndpoint.class.getName());
    private static final Set<String> SECTION_KEYS = Set.of("listen");

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;
    private final HttpServer server;
    private final ExecutorService executor;

    private MetricsEndpoint(PrometheusMeterRegistry registry, JvmGcMetrics gc, HttpServer server,
            ExecutorService executor) {
        this.registry = registry;
        this.gc = gc;
        this.server = server;
        this.executor = executor;
    }

    /**
     * A registry with the JVM's meters, served on {@code listen} (port 0: any free port).
     *
     * @throws IOException when the address cannot be bound (in use, not local)
     */
    public static MetricsEndpoint start(InetSocketAddress listen) throws IOException {
        PrometheusMeterRegistry registry = newRegistry();
        JvmGcMetrics gc = new JvmGcMetrics();
        HttpServer server;
        try {
            new JvmMemoryMetrics().bindTo(registry);
            gc.bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            new ClassLoaderMetrics().bindTo(registry);
            new ProcessorMetrics().bindTo(registry);
            bindProcessCpuTime(registry);
            new UptimeMetrics().bindTo(registry);
            RefusedCalls.process().bindTo(registry); // every gRPC server of the process refuses through it
            server = HttpServer.create(listen, 16);
        } catch (IOException | RuntimeException e) {
            gc.close();
            registry.close();
            throw new IOException("metrics endpoint " + listen.getHostString() + ":" + listen.getPort() + ": "
                    + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("keel-metrics").factory());
        server.setExecutor(executor);
        server.createContext("/", exchange -> serve(registry, exchange));
        server.start();
        MetricsEndpoint endpoint = new MetricsEndpoint(registry, gc, server, executor);
        LOG.log(System.Logger.Level.INFO, "metrics on {0} (Prometheus text format, plain HTTP)", endpoint.url());
        return endpoint;
    }

    /**
     * A registry as the endpoint makes it, without the JVM's meters or a server (the binders' tests).
     * A meter that cannot be registered (a name registered with other tag keys) throws instead of
     * vanishing from the scrape.
     */
    public static PrometheusMeterRegistry newRegistry() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)
                .throwExceptionOnRegistrationFailure();
        // Two of ProcessorMetrics' names break Prometheus' conventions (promtool check metrics): CPU time
        // in ns is process_cpu_seconds_total below, as Prometheus' own clients name it.
        registry.config().meterFilter(MeterFilter.deny(id -> NON_PROMETHEUS_NAMES.contains(id.getName())));
        return registry;
    }

    private static final Set<String> NON_PROMETHEUS_NAMES = Set.of("process.cpu.time", "system.cpu.count");

    /** {@code process_cpu_seconds_total}: CPU time of every thread of the process. */
    private static void bindProcessCpuTime(MeterRegistry registry) {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                && os.getProcessCpuTime() >= 0) {
            FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9).baseUnit("seconds")
                    .description("CPU time used by the process").register(registry);
        }
    }

    private static void serve(PrometheusMeterRegistry registry, HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                send(exchange, 404, "text/plain; charset=utf-8", "not found: metrics are at " + PATH + "\n", false);
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", "method not allowed: GET " + PATH + "\n", false);
                return;
            }
            String encodings = exchange.getRequestHeaders().getFirst("Accept-Encoding");
            boolean gzip = encodings != null && encodings.toLowerCase(java.util.Locale.ROOT).contains("gzip");
            send(exchange, 200, CONTENT_TYPE, registry.scrape(), gzip);
        }
    }

    private static void send(HttpExchange exchange, int status, String contentType, String body, boolean gzip)
            throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(body.length() / (gzip ? 4 : 1) + 64);
        try (OutputStream out = gzip ? new GZIPOutputStream(bytes) : bytes) {
            out.write(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        exchange.getResponseHeaders().set("Content-Type", contentType);
        if (gzip) {
            exchange.getResponseHeaders().set("Content-Encoding", "gzip");
        }
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.size());
        if (!head) {
            exchange.getResponseBody().write(bytes.toByteArray());
        }
    }

    /** The registry the process's binders bind to. */
    public MeterRegistry registry() {
        return registry;
    }

    /** What a scrape returns now. */
    public String scrape() {
        return registry.scrape();
    }

    /** The address it listens on (the bound port when 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** {@code http://host:port/metrics}. */
    public String url() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + PATH;
    }

    /** Stops serving and unbinds every meter. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        gc.close();
        registry.close();
    }

    /**
     * The {@code listen} address of a {@code metrics:} section ({@code metrics: {listen: HOST:PORT}},
     * an IP literal with an optional port, {@value #DEFAULT_PORT} by default), or null with the
     * problem reported under {@code path}.
     */
    public static InetSocketAddress readSection(Nodes nodes, Node section, String path) {
        Map<String, Node> m = nodes.mapping(section, path, SECTION_KEYS);
        if (m == null || !nodes.required(m, "listen", path, section)) {
            return null;
        }
        return nodes.endpoint(m.get("listen"), path + ".listen", DEFAULT_PORT);
    }

    /**
     * The value of a {@code --metrics-listen HOST[:PORT]} option.
     *
     * @throws IllegalArgumentException naming the option and what is wrong with the value
     */
    public static InetSocketAddress listenOption(String option, String value) {
        try {
            return Nodes.endpoint(value, DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
