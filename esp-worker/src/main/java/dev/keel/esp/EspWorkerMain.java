package dev.keel.esp;

import dev.keel.core.net.IpPrefix;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.core.config.ConfigProblem;
import dev.keel.esp.config.NamedSaPair;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.config.WorkerConfig;
import dev.keel.esp.config.WorkerConfigLoader;
import dev.keel.esp.config.WorkerConfigResult;
import dev.keel.esp.export.EspSaKeys;
import dev.keel.esp.export.EspSaTable;
import dev.keel.esp.export.KeyExportConfig;
import dev.keel.esp.export.WiresharkKeyWriter;
import dev.keel.esp.forward.ForwardMode;
import dev.keel.esp.forward.StaticGateway;
import dev.keel.esp.forward.StaticSaPair;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.tun.TunDevice;
import dev.keel.esp.tun.TunSetup;
import dev.keel.esp.tun.TunMtu;
import dev.keel.esp.tun.TunPort;
import dev.keel.rpc.LogOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code keel-esp-worker}: runs one data-plane node with statically keyed SAs from a YAML file
 * (docs/static-keying.md) until SIGTERM / SIGINT, or with {@code --check} only validates it.
 * Exit codes: 0 ok, 2 invalid configuration, 1 failed to start.
 */
@Command(name = "keel-esp-worker", mixinStandardHelpOptions = true, version = "keel-esp-worker 0.1",
        description = "Runs a Keel ESP data-plane node with static SAs (like ip xfrm state) from a YAML file.")
public final class EspWorkerMain implements Callable<Integer> {

    @Mixin
    LogOptions log = new LogOptions();

    @Parameters(index = "0", paramLabel = "CONFIG", description = "the worker's YAML configuration")
    Path config;

    @Option(names = "--check", description = "validate the configuration (keys included) and exit")
    boolean check;

    private final PrintStream out;
    private final PrintStream err;

    EspWorkerMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return new CommandLine(new EspWorkerMain(out, err))
                .setOut(new java.io.PrintWriter(out, true))
                .setErr(new java.io.PrintWriter(err, true))
                .execute(args);
    }

    @Override
    public Integer call() throws Exception {
        log.install();
        WorkerConfigResult result = new WorkerConfigLoader().loadFile(config);
        if (result instanceof WorkerConfigResult.Invalid invalid) {
            for (ConfigProblem p : invalid.problems()) {
                err.println(p);
            }
            err.println(config + ": " + invalid.problems().size() + " problem(s)");
            return 2;
        }
        WorkerConfig cfg = ((WorkerConfigResult.Valid) result).config();
        if (check) {
            out.println(config + ": OK, " + cfg.sas().size() + " SA pair(s): "
                    + String.join(", ", cfg.sas().stream().map(NamedSaPair::name).toList()));
            cfg.destroyKeys();
            return 0;
        }
        return serve(cfg);
    }

    private int serve(WorkerConfig cfg) throws Exception {
        Worker worker;
        try {
            worker = start(cfg, out);
        } catch (Exception e) {
            err.println("keel-esp-worker: cannot start: " + e.getMessage());
            return 1;
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                worker.close();
            } finally {
                done.countDown();
            }
        }, "keel-esp-worker-shutdown"));
        done.await();
        return 0;
    }

    /** A started worker: its gateway, plaintext port and (for TUN) device; {@link #close()} stops it. */
    public static final class Worker implements AutoCloseable {
        private final Vertx vertx;
        private final StaticGateway gateway;
        private final PlaintextPort port;
        private final TunDevice tun;
        private final PrintStream out;
        private boolean closed;

        private Worker(Vertx vertx, StaticGateway gateway, PlaintextPort port, TunDevice tun, PrintStream out) {
            this.vertx = vertx;
            this.gateway = gateway;
            this.port = port;
            this.tun = tun;
            this.out = out;
        }

        public StaticGateway gateway() {
            return gateway;
        }

        public PlaintextPort port() {
            return port;
        }

        /** Prints the counters, closes the gateway (zeroizing the SAs), the TUN device and Vert.x. */
        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                out.println("keel-esp-worker: stopping: " + gateway.counters() + "; esp in "
                        + gateway.espCounters().inboundSnapshot() + ", out " + gateway.espCounters().outboundSnapshot()
                        + (port instanceof TunPort tp ? "; too-big: icmp " + tp.mtuCounters().icmpSent.sum()
                                + ", rate-limited " + tp.mtuCounters().icmpRateLimited.sum() + ", fragmented "
                                + tp.mtuCounters().fragmented.sum() : "")
                        + (port instanceof TunPort tp && tp.offloadSummary() != null ? "; " + tp.offloadSummary() : "")
                        + (gateway.rawEsp() != null ? "; " + gateway.rawEsp() : "")
                        + "; event loops allocated " + loopAllocatedBytes() + " bytes in all");
                out.flush();
                gateway.close().await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                out.println("keel-esp-worker: closing the gateway: " + e);
            }
            if (tun != null) {
                tun.close();
            }
            try {
                vertx.close().await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                out.println("keel-esp-worker: closing Vert.x: " + e);
            }
        }
    }

    /** Bytes allocated so far by Vert.x's event-loop threads (HotSpot's per-thread counter), -1 if unknown. */
    static long loopAllocatedBytes() {
        if (!(java.lang.management.ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx)) {
            return -1;
        }
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("vert.x-eventloop-thread")) {
                sum += mx.getThreadAllocatedBytes(t.threadId());
            }
        }
        return sum;
    }

    /**
     * Starts a worker from a validated configuration: Vert.x with {@code loops} event loops, the
     * plaintext side (TUN: device, MTU, addresses, routes), the key export, the gateway. On
     * failure everything opened is closed again and the keys are wiped.
     */
    public static Worker start(WorkerConfig cfg, PrintStream out) throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(cfg.loops()));
        TunDevice tun = null;
        try {
            PlaintextPort port;
            String plainText;
            if (cfg.plaintext() instanceof PlaintextConfig.Tun t) {
                boolean outerV6 = cfg.listen().getAddress().getAddress().length == 16;
                List<EspSaSpec> outbound = cfg.saPairs().stream().map(StaticSaPair::outbound).toList();
                int inner = TunMtu.innerMtu(t.pathMtu(), outerV6, cfg.transport(), outbound);
                int mtu = t.mtu() > 0 ? t.mtu() : inner;
                List<IpPrefix> routes = new ArrayList<>();
                if (!t.addresses().isEmpty()) {
                    for (NamedSaPair p : cfg.sas()) {
                        for (TrafficSelector ts : p.pair().remote()) {
                            routes.addAll(ts.addressRange().toPrefixes());
                        }
                    }
                }
                tun = TunSetup.up(t.name(), cfg.loops(), mtu, t.addresses().stream().map(Object::toString).toList(),
                        routes, t.offload());
                // ICMP too-big errors come from the inner packet's destination, not from the TUN's
                // own address: the kernel drops a packet arriving with one of its own addresses as
                // source (a martian), and the destination is routed through the TUN, so it passes
                // reverse-path filtering (docs/tun.md).
                port = new TunPort(tun, inner, null, null);
                plainText = "tun " + tun.name() + " (" + cfg.loops() + " queues, mtu " + mtu + ", inner mtu " + inner
                        + (tun.offload() ? ", offload gso/gro" : "") + ")";
            } else {
                PlaintextConfig.VirtualWire w = (PlaintextConfig.VirtualWire) cfg.plaintext();
                port = new VirtualWire(vertx, w.bind(), w.host(), UdpOptions.DEFAULTS);
                plainText = "virtual wire " + w.bind() + " -> " + w.host();
            }
            if (cfg.exportKeys() != null) {
                exportKeys(cfg, out);
            }
            StaticGateway.Config gc = new StaticGateway.Config(cfg.listen(), cfg.saPairs(), ForwardMode.ESP,
                    UdpOptions.DEFAULTS, cfg.keepalive(), IkeHandoff.DISCARD, cfg.transport());
            // From here the SAs own the specs (and their keys): each loop builds its ciphers from
            // them on first use, and closing the gateway zeroizes them (a failed start too).
            StaticGateway gw = StaticGateway.start(vertx, gc, port).await(30, TimeUnit.SECONDS);
            out.println("keel-esp-worker: started: udp " + cfg.listen()
                    + (cfg.transport() == OuterTransport.RAW_ESP ? " (esp: raw ip protocol 50)" : "") + ", " + cfg.loops() + " event loop(s), "
                    + cfg.sas().size() + " SA pair(s), plaintext " + plainText);
            out.flush();
            return new Worker(vertx, gw, port, tun, out);
        } catch (Exception e) {
            cfg.destroyKeys();
            if (tun != null) {
                tun.close();
            }
            vertx.close().await(10, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** Writes Wireshark's esp_sa table for every SA (outer addresses: listen and peer). */
    private static void exportKeys(WorkerConfig cfg, PrintStream out) throws IOException {
        WiresharkKeyWriter w = WiresharkKeyWriter.open(KeyExportConfig.of(cfg.exportKeys(), EspSaTable.FILE_NAME));
        InetAddress local = cfg.listen().getAddress();
        for (NamedSaPair p : cfg.sas()) {
            InetAddress peer = p.pair().peer().getAddress();
            w.writeEsp(EspSaKeys.of(p.pair().inbound(), peer, local));
            w.writeEsp(EspSaKeys.of(p.pair().outbound(), local, peer));
        }
        out.println("keel-esp-worker: ESP keys for Wireshark in " + w.espSaFile());
    }

}
