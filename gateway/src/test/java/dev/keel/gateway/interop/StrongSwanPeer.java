package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import static org.junit.jupiter.api.Assertions.fail;

import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A strongSwan charon daemon in a network namespace, configured for one {@link ConnectionSpec}
 * and driven with swanctl over its own vici socket.
 *
 * <p>The kernel here has no XFRM ESP, so charon loads kernel-libipsec (user-space ESP on a TUN
 * device "ipsec0") before kernel-netlink, and connections force ESP in UDP 4500. Each daemon gets
 * its own strongswan.conf ({@code STRONGSWAN_CONF}), vici socket, filelog and a private mount
 * namespace with a tmpfs on /run (charon 5.9 writes /var/run/charon.pid, which would clash between
 * daemons); that tmpfs goes away with the daemon's mount namespace. The daemon runs in its own
 * session ({@code setsid}), so {@link #close()} signals the whole process group.
 *
 * <p>Files in the work directory: strongswan.conf, swanctl/swanctl.conf (+ x509, x509ca, private),
 * charon.vici, charon.log, charon.stdout. {@link #close()} deletes the work directory.
 */
public final class StrongSwanPeer implements AutoCloseable {

    private static final List<String> CHARON_CANDIDATES = List.of("/usr/lib/ipsec/charon",
            "/usr/libexec/ipsec/charon", "/usr/lib/strongswan/charon", "/usr/libexec/strongswan/charon");
    /** Crypto plugins plus kernel-libipsec before kernel-netlink: the first kernel ipsec interface wins. */
    static final String PLUGINS = "random nonce openssl aes sha1 sha2 hmac gcm curve25519 gmp pem pkcs1 pkcs8 x509"
            + " pubkey revocation constraints kdf kernel-libipsec kernel-netlink socket-default vici";
    private static final Duration SWANCTL_TIMEOUT = Duration.ofSeconds(10);

    private final String namespace;
    private final Path workDir;
    private final CharonOptions options;
    private ConnectionSpec connection;
    /** Every connection loaded, with the extra lines of its child section; empty after {@link #reconfigure}: {@link #connection} alone. */
    private List<Map.Entry<ConnectionSpec, List<String>>> connectionsWithChildLines = List.of();
    private Process charon;
    private boolean closed;

    private StrongSwanPeer(String namespace, Path workDir, ConnectionSpec connection, CharonOptions options) {
        this.namespace = namespace;
        this.workDir = workDir;
        this.connection = connection;
        this.options = options;
    }

    /** Skips or fails (see {@link SystemTests}) unless root, ip netns, charon and swanctl are there. */
    public static Path assumeAvailable() {
        SystemTests.assumeIpNetns();
        SystemTests.assumeTool("swanctl");
        SystemTests.assumeTool("setsid");
        SystemTests.assumeTool("unshare");
        Optional<Path> c = charonBinary();
        if (c.isEmpty()) {
            String reason = "strongSwan's charon is not installed (looked in " + CHARON_CANDIDATES + ")";
            if (SystemTests.required()) {
                fail(reason + " and " + SystemTests.REQUIRE_ENV + "=1 forbids skipping");
            }
            Assumptions.abort("skipped: " + reason);
        }
        return c.orElseThrow();
    }

    /** Where charon is on this machine, if anywhere. */
    public static Optional<Path> charonBinary() {
        return CHARON_CANDIDATES.stream().map(Path::of).filter(Files::isExecutable).findFirst();
    }

    /** {@link #start(String, Path, ConnectionSpec, CharonOptions)} with {@link CharonOptions#defaults()}. */
    public static StrongSwanPeer start(String namespace, Path workDir, ConnectionSpec connection) throws IOException {
        return start(namespace, workDir, connection, CharonOptions.defaults());
    }

    /**
     * Writes the configuration into {@code workDir} (created if missing), starts charon in
     * {@code namespace}, waits (bounded by {@link CharonOptions#startTimeout()}) until its vici
     * socket answers, and loads the connection and secrets. On any failure the daemon is stopped
     * and the work directory removed before the exception leaves.
     */
    public static StrongSwanPeer start(String namespace, Path workDir, ConnectionSpec connection,
            CharonOptions options) throws IOException {
        return start(namespace, workDir, List.of(connection), options, c -> List.of());
    }

    /**
     * As {@link #start(String, Path, ConnectionSpec, CharonOptions)} with several connections
     * (non-empty; names and child names unique), each child section getting {@code childLines} of
     * its connection beside {@link CharonOptions#extraChildLines()}; {@link #connection()} is the
     * first. For many tunnels from one daemon (the soak's strongSwan share).
     */
    public static StrongSwanPeer start(String namespace, Path workDir, List<ConnectionSpec> connections,
            CharonOptions options, java.util.function.Function<ConnectionSpec, List<String>> childLines)
            throws IOException {
        Path charonBin = assumeAvailable();
        StrongSwanPeer peer = new StrongSwanPeer(namespace, workDir, connections.getFirst(), options);
        peer.connectionsWithChildLines = connections.stream().map(c -> Map.entry(c, childLines.apply(c))).toList();
        try {
            peer.writeConfig();
            peer.launch(charonBin);
            peer.loadConfig();
            return peer;
        } catch (IOException | RuntimeException | Error e) {
            String log = peer.diagnostics();
            peer.close();
            if (e instanceof IOException io) {
                throw new IOException(io.getMessage() + "\n" + log, io);
            }
            throw e;
        }
    }

    /** The process id of charon (the launch commands exec one another down to it). */
    public long pid() {
        return charon.pid();
    }

    /** The namespace charon runs in. */
    public String namespace() {
        return namespace;
    }

    /** The work directory (configuration, socket, logs). */
    public Path workDir() {
        return workDir;
    }

    /** The vici socket URI, for {@code swanctl --uri}. */
    public String viciUri() {
        return "unix://" + workDir.resolve("charon.vici");
    }

    /** The connection currently loaded. */
    public ConnectionSpec connection() {
        return connection;
    }

    /** Replaces the connection: rewrites swanctl.conf and reloads it (old connection and secrets unloaded). */
    public void reconfigure(ConnectionSpec newConnection) throws IOException {
        this.connection = newConnection;
        this.connectionsWithChildLines = List.of();
        writeSwanctlConf();
        loadConfig();
    }

    /** {@code swanctl --load-all --clear --file <workDir>/swanctl/swanctl.conf}; requires success. */
    public void loadConfig() throws IOException {
        swanctl(SWANCTL_TIMEOUT, "--load-all", "--clear", "--noprompt", "--file",
                workDir.resolve("swanctl/swanctl.conf").toString()).requireOk();
    }

    /** Initiates the CHILD_SA config {@code connection().childName()} (and its IKE_SA), waiting at most {@code timeout}. */
    public BoundedCommand.Result initiate(Duration timeout) throws IOException {
        return initiate(connection.childName(), timeout);
    }

    /** Initiates CHILD_SA config {@code childName} (and its IKE_SA if needed), waiting at most {@code timeout}. */
    public BoundedCommand.Result initiate(String childName, Duration timeout) throws IOException {
        long seconds = Math.max(1, timeout.toSeconds());
        return swanctl(timeout.plusSeconds(5), "--initiate", "--child", childName, "--timeout", Long.toString(seconds));
    }

    /** Closes the CHILD_SAs of config {@code childName} (the IKE_SA stays). */
    public BoundedCommand.Result terminateChild(String childName, Duration timeout) throws IOException {
        long seconds = Math.max(1, timeout.toSeconds());
        return swanctl(timeout.plusSeconds(5), "--terminate", "--child", childName, "--timeout", Long.toString(seconds));
    }

    /** Deletes the IKE_SAs of connection {@code ikeName} and their CHILD_SAs. */
    public BoundedCommand.Result terminateIke(String ikeName, Duration timeout) throws IOException {
        long seconds = Math.max(1, timeout.toSeconds());
        return swanctl(timeout.plusSeconds(5), "--terminate", "--ike", ikeName, "--timeout", Long.toString(seconds));
    }

    /** The current IKE_SAs with their CHILD_SAs ({@code swanctl --list-sas --pretty}). */
    public List<SwanctlSas.IkeSa> listSas() throws IOException {
        return SwanctlSas.parsePretty(swanctl(SWANCTL_TIMEOUT, "--list-sas", "--pretty").requireOk().output());
    }

    /**
     * Polls {@link #listSas()} every 100 ms until {@code done} holds or {@code timeout} passes;
     * returns the last list either way.
     */
    public List<SwanctlSas.IkeSa> awaitSas(java.util.function.Predicate<List<SwanctlSas.IkeSa>> done, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<SwanctlSas.IkeSa> sas = listSas();
        while (!done.test(sas) && System.nanoTime() < deadline) {
            sleep(100);
            sas = listSas();
        }
        return sas;
    }

    /**
     * Runs {@code swanctl <command> --uri <this daemon> <args...>}; {@code args[0]} is the command
     * (e.g. {@code --list-conns}), since swanctl takes {@code --uri} only after it.
     */
    public BoundedCommand.Result swanctl(Duration timeout, String command, String... args) throws IOException {
        List<String> c = new ArrayList<>(List.of("swanctl", command, "--uri", viciUri()));
        c.addAll(List.of(args));
        return BoundedCommand.run(timeout, Map.of("SWANCTL_DIR", workDir.resolve("swanctl").toString()), c);
    }

    /** The charon filelog so far (empty when there is none yet). */
    public String log() throws IOException {
        Path p = workDir.resolve("charon.log");
        return Files.exists(p) ? Files.readString(p, StandardCharsets.ISO_8859_1) : "";
    }

    /** True while the daemon process is alive. */
    public boolean isRunning() {
        return charon != null && charon.isAlive();
    }

    private void writeConfig() throws IOException {
        for (String d : List.of("x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private",
                "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12")) {
            Files.createDirectories(workDir.resolve("swanctl").resolve(d));
        }
        if (workDir.resolve("charon.vici").toString().length() > 100) {
            throw new IOException("work directory path too long for a unix socket (sun_path is 108 bytes): " + workDir);
        }
        StringBuilder levels = new StringBuilder();
        options.logLevels().forEach((k, v) -> levels.append("      ").append(k).append(" = ").append(v).append('\n'));
        String conf = """
                # Written by dev.keel.gateway.interop.StrongSwanPeer.
                charon {
                  load = %s
                  install_routes = yes
                  retransmit_tries = 3
                  retransmit_timeout = 1.0
                  retransmit_base = 1.4
                  filelog {
                    main {
                      path = %s
                      time_format = %%T
                      ike_name = yes
                      flush_line = yes
                %s    }
                  }
                  syslog {
                    daemon { default = -1 }
                    auth { default = -1 }
                  }
                  plugins {
                    vici { socket = %s }
                  }
                %s
                }
                """.formatted(PLUGINS, workDir.resolve("charon.log"), levels, viciUri(),
                String.join("\n", options.extraCharonLines()));
        Files.writeString(workDir.resolve("strongswan.conf"), conf);
        writeSwanctlConf();
    }

    private void writeSwanctlConf() throws IOException {
        List<Map.Entry<ConnectionSpec, List<String>>> all = connectionsWithChildLines.isEmpty()
                ? List.of(Map.entry(connection, List.<String>of())) : connectionsWithChildLines;
        StringBuilder connections = new StringBuilder();
        StringBuilder secrets = new StringBuilder();
        for (int k = 0; k < all.size(); k++) {
            connections.append(connectionConf(all.get(k).getKey(), all.get(k).getValue(), k, secrets));
        }
        Files.writeString(workDir.resolve("swanctl/swanctl.conf"), """
                # Written by dev.keel.gateway.interop.StrongSwanPeer.
                connections {
                %s}
                secrets {
                %s}
                """.formatted(connections, secrets));
    }

    /** One connection's section of swanctl.conf; its secret (the {@code k}th) goes to {@code secrets}. */
    private String connectionConf(ConnectionSpec c, List<String> childLines, int k, StringBuilder secrets)
            throws IOException {
        String localAuth;
        String remoteAuth;
        switch (c.auth()) {
            case PeerAuth.Psk psk -> {
                localAuth = "auth = psk\n      id = \"" + c.localId() + "\"";
                remoteAuth = "auth = psk\n      id = \"" + c.remoteId() + "\"";
                // Hex (0x...) so the secret needs no quoting; strongSwan reads it as raw bytes.
                String hex = HexFormat.of().formatHex(psk.secret().getBytes(StandardCharsets.UTF_8));
                secrets.append("  ike-").append(k + 1).append(" {\n    id-1 = \"").append(c.localId())
                        .append("\"\n    id-2 = \"").append(c.remoteId()).append("\"\n    secret = 0x").append(hex)
                        .append("\n  }\n");
            }
            case PeerAuth.Certificates certs -> {
                Path swanctl = workDir.resolve("swanctl");
                Files.copy(certs.localCertificate(), swanctl.resolve("x509/local-cert.pem"),
                        StandardCopyOption.REPLACE_EXISTING);
                Files.copy(certs.localPrivateKey(), swanctl.resolve("private/local-key.pem"),
                        StandardCopyOption.REPLACE_EXISTING);
                int i = 0;
                for (Path ca : certs.caCertificates()) {
                    Files.copy(ca, swanctl.resolve("x509ca/ca-" + (i++) + ".pem"), StandardCopyOption.REPLACE_EXISTING);
                }
                for (Path crl : certs.crls()) {
                    Files.copy(crl, swanctl.resolve("x509crl/crl-" + (i++) + ".pem"), StandardCopyOption.REPLACE_EXISTING);
                }
                localAuth = "auth = " + certs.localAuth() + "\n      certs = local-cert.pem\n      id = \"" + c.localId()
                        + "\"";
                remoteAuth = "auth = " + certs.remoteAuth() + "\n      id = \"" + c.remoteId() + "\"";
            }
        }
        List<String> child = new ArrayList<>(options.extraChildLines());
        child.addAll(childLines);
        return """
                  %s {
                    version = 2
                    local_addrs = "%s"
                    remote_addrs = "%s"
                    proposals = "%s"
                    encap = %s
                    mobike = no
                    %s
                    local {
                      %s
                    }
                    remote {
                      %s
                    }
                    children {
                      %s {
                        mode = %s
                        esp_proposals = "%s"
                        local_ts = %s
                        remote_ts = %s
                        start_action = %s
                        %s
                      }
                    }
                  }
                """.formatted(c.name(), c.localAddress(), c.remoteAddress(), c.ikeProposal(),
                c.udpEncapsulation() ? "yes" : "no", String.join("\n    ", options.extraConnectionLines()), localAuth,
                remoteAuth, c.childName(), c.mode(), c.espProposal(), quotedList(c.localTs()), quotedList(c.remoteTs()),
                c.startAction(), String.join("\n        ", child));
    }

    private static String quotedList(List<String> items) {
        return items.isEmpty() ? "dynamic" : "\"" + String.join(",", items) + "\"";
    }

    private void launch(Path charonBin) throws IOException {
        // setsid: own process group, so close() can signal everything charon started.
        // unshare -m + tmpfs /run: a private /var/run for charon.pid; it vanishes with the daemon.
        ProcessBuilder pb = new ProcessBuilder("setsid", "ip", "netns", "exec", namespace, "unshare", "-m", "sh", "-c",
                "mount -t tmpfs tmpfs /run && exec " + charonBin)
                .redirectErrorStream(true).redirectOutput(workDir.resolve("charon.stdout").toFile());
        pb.environment().put("STRONGSWAN_CONF", workDir.resolve("strongswan.conf").toString());
        charon = pb.start();
        long deadline = System.nanoTime() + options.startTimeout().toNanos();
        while (true) {
            if (!charon.isAlive()) {
                throw new IOException("charon in " + namespace + " exited with " + charon.exitValue()
                        + " before its vici socket answered");
            }
            if (Files.exists(workDir.resolve("charon.vici"))
                    && swanctl(Duration.ofSeconds(3), "--stats").ok()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("charon in " + namespace + " did not answer on " + viciUri() + " within "
                        + options.startTimeout().toMillis() + " ms");
            }
            sleep(100);
        }
    }

    private String diagnostics() {
        try {
            Path out = workDir.resolve("charon.stdout");
            String stdout = Files.exists(out) ? Files.readString(out, StandardCharsets.ISO_8859_1) : "";
            String log = log();
            return "charon stdout:\n" + stdout + "\ncharon log (tail):\n"
                    + log.substring(Math.max(0, log.length() - 4000));
        } catch (IOException e) {
            return "(no charon output: " + e.getMessage() + ")";
        }
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Kills charon at once (SIGKILL to its process group): a peer that dies without a Delete
     * (on SIGTERM charon deletes its IKE SAs first); then as {@link #close}.
     */
    public void kill() throws IOException {
        if (!closed && charon != null) {
            BoundedCommand.signalGroup(charon.pid(), "KILL");
            try {
                charon.waitFor(3, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        close();
    }

    /**
     * Stops charon (SIGTERM to its process group, SIGKILL after 3 s) and deletes the work
     * directory; idempotent, safe in finally.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (charon != null) {
            long pid = charon.pid();
            BoundedCommand.signalGroup(pid, "TERM");
            try {
                if (!charon.waitFor(3, TimeUnit.SECONDS)) {
                    BoundedCommand.signalGroup(pid, "KILL");
                    charon.destroyForcibly();
                    charon.waitFor(3, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                charon.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (Files.exists(workDir)) {
            try (Stream<Path> walk = Files.walk(workDir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
