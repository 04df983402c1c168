package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import dev.keel.proto.v1.SubsystemLevel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.Node;

class KeelLogTest {

    @AfterEach
    void back() {
        KeelLog.install(LogSettings.DEFAULT);
    }

    @Test
    void aLoggerBelongsToTheSubsystemOfItsLongestPrefix() {
        assertThat(KeelLog.subsystemOf("dev.keel.ike.session.IkeSa")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_IKE);
        assertThat(KeelLog.subsystemOf("dev.keel.ike.session.ChildSas")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_CHD);
        assertThat(KeelLog.subsystemOf("dev.keel.ike.net.UdpIkeSockets")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_NET);
        assertThat(KeelLog.subsystemOf("dev.keel.esp.tun.TunPort")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_KNL);
        assertThat(KeelLog.subsystemOf("dev.keel.esp.feed.SpdFeed")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_CFG);
        assertThat(KeelLog.subsystemOf("dev.keel.esp.feed.SaFeed")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_SAD);
        assertThat(KeelLog.subsystemOf("com.hazelcast.cluster.Foo")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_SAD);
        // a prefix is a whole name component: dev.keel.ikefoo is not dev.keel.ike
        assertThat(KeelLog.subsystemOf("dev.keel.ikefoo.X")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_LIB);
        assertThat(KeelLog.subsystemOf("io.grpc.internal.ServerImpl")).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_LIB);
        assertThat(KeelLog.subsystemOf(null)).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_LIB);
    }

    @Test
    void aSubsystemsLevelChangesAtRuntimeAndLeavesTheOthersAlone() {
        KeelLog.install(LogSettings.parse("info", false));
        Logger ikeSa = Logger.getLogger("dev.keel.ike.session.IkeSa");
        Logger sockets = Logger.getLogger("dev.keel.ike.net.UdpIkeSockets");
        Logger grpc = Logger.getLogger("io.grpc.internal.ServerImpl");
        assertThat(ikeSa.isLoggable(Level.FINE)).isFalse();

        List<SubsystemLevel> after = KeelLog.setLevels(List.of(level(LogSubsystem.LOG_SUBSYSTEM_IKE, LogLevel.LOG_LEVEL_DEBUG)));

        assertThat(ikeSa.isLoggable(Level.FINE)).isTrue();
        assertThat(ikeSa.isLoggable(Level.FINEST)).isFalse();
        assertThat(sockets.isLoggable(Level.FINE)).isFalse(); // net keeps INFO below ike's package
        assertThat(grpc.isLoggable(Level.FINE)).isFalse();
        assertThat(after).hasSize(KeelLog.SUBSYSTEMS.size()).contains(level(LogSubsystem.LOG_SUBSYSTEM_IKE,
                LogLevel.LOG_LEVEL_DEBUG), level(LogSubsystem.LOG_SUBSYSTEM_NET, LogLevel.LOG_LEVEL_INFO));

        KeelLog.setLevels(List.of(level(LogSubsystem.LOG_SUBSYSTEM_LIB, LogLevel.LOG_LEVEL_ERROR)));
        assertThat(grpc.isLoggable(Level.WARNING)).isFalse();
        assertThat(ikeSa.isLoggable(Level.FINE)).isTrue();
        assertThatThrownBy(() -> KeelLog.setLevels(List.of(SubsystemLevel.newBuilder()
                .setSubsystem(LogSubsystem.LOG_SUBSYSTEM_IKE).build()))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void grpcsFrameDumpsStayOffWhateverLibsLevel() {
        // at DEBUG they print the first bytes of every DATA frame: keys, on ike-service's installs
        KeelLog.install(LogSettings.parse("trace", false));
        assertThat(Logger.getLogger("io.grpc.internal.ServerImpl").isLoggable(Level.FINEST)).isTrue();
        assertThat(KeelLog.MESSAGE_BYTE_LOGGERS).allSatisfy(name -> {
            assertThat(Logger.getLogger(name).isLoggable(Level.FINE)).as(name).isFalse();
            assertThat(Logger.getLogger(name).isLoggable(Level.INFO)).as(name).isTrue();
        });
        KeelLog.setLevels(List.of(level(LogSubsystem.LOG_SUBSYSTEM_LIB, LogLevel.LOG_LEVEL_TRACE)));
        assertThat(KeelLog.MESSAGE_BYTE_LOGGERS).allSatisfy(name ->
                assertThat(Logger.getLogger(name).isLoggable(Level.FINE)).as(name).isFalse());
    }

    @Test
    void theTapDeliversTheLevelsAndSubsystemsASubscriberAskedFor() throws Exception {
        KeelLog.install(LogSettings.parse("debug", false));
        List<LogLine> lines = new CopyOnWriteArrayList<>();
        try (AutoCloseable sub = KeelLog.tap().subscribe(LogLevel.LOG_LEVEL_INFO, Set.of(LogSubsystem.LOG_SUBSYSTEM_IKE),
                lines::add)) {
            Logger.getLogger("dev.keel.ike.session.IkeSa").log(Level.INFO, "IKE SA {0} established", "x[1]");
            Logger.getLogger("dev.keel.ike.session.IkeSa").fine("below the subscriber's level");
            Logger.getLogger("dev.keel.sad.Foo").warning("another subsystem");
            Logger.getLogger("dev.keel.ike.engine.IkeEngine").log(Level.SEVERE, "failed", new IllegalStateException("why"));
        }
        Logger.getLogger("dev.keel.ike.session.IkeSa").info("after the subscription closed");
        assertThat(lines).extracting(LogLine::getMessage)
                .containsExactly("IKE SA x[1] established", "failed (java.lang.IllegalStateException: why)");
        assertThat(lines.getFirst().getSubsystem()).isEqualTo(LogSubsystem.LOG_SUBSYSTEM_IKE);
        assertThat(lines.getFirst().getLevel()).isEqualTo(LogLevel.LOG_LEVEL_INFO);
        assertThat(lines.get(1).getLevel()).isEqualTo(LogLevel.LOG_LEVEL_ERROR);
    }

    @Test
    void aLineIsOneLineOfTextOrOneJsonObject() {
        LogRecord r = new LogRecord(Level.WARNING, "peer \"moon\"\nunreachable\u0001");
        r.setLoggerName("dev.keel.ike.engine.IkeEngine");
        r.setInstant(java.time.Instant.parse("2026-12-06T14:03:01.123Z"));
        assertThat(new LogLineFormat(false).format(r))
                .isEqualTo("2026-12-06T14:03:01.123Z WARN  [ike] peer \"moon\"\nunreachable\u0001" + System.lineSeparator());
        String json = new LogLineFormat(true).format(r);
        assertThat(json).startsWith("{\"time\":\"2026-12-06T14:03:01.123Z\",\"level\":\"WARN\",\"subsystem\":\"ike\","
                + "\"logger\":\"dev.keel.ike.engine.IkeEngine\",\"thread\":")
                .endsWith(",\"message\":\"peer \\\"moon\\\"\\nunreachable\\u0001\"}" + System.lineSeparator());
        assertThat(json.strip()).doesNotContain("\n");
    }

    @Test
    void settingsParseFromACommandLineAndSayWhatIsWrong() {
        LogSettings s = LogSettings.parse("warn, ike=debug,NET=trace", true);
        assertThat(s.json()).isTrue();
        assertThat(s.levels()).containsEntry(LogSubsystem.LOG_SUBSYSTEM_IKE, LogLevel.LOG_LEVEL_DEBUG)
                .containsEntry(LogSubsystem.LOG_SUBSYSTEM_NET, LogLevel.LOG_LEVEL_TRACE)
                .containsEntry(LogSubsystem.LOG_SUBSYSTEM_ESP, LogLevel.LOG_LEVEL_WARN);
        assertThatThrownBy(() -> LogSettings.parse("ike=loud", false)).hasMessageContaining("unknown log level 'loud'");
        assertThatThrownBy(() -> LogSettings.parse("kernel=debug", false))
                .hasMessageContaining("unknown log subsystem 'kernel'");
        assertThatThrownBy(() -> LogSettings.json("xml")).hasMessageContaining("text or json");
    }

    @Test
    void theYamlSectionIsReadWithEveryProblemAtItsKeyPath() {
        Problems problems = new Problems("keel.yaml");
        LogSettings ok = LogSettings.read(new Nodes(problems), yaml("{level: warn, subsystems: {chd: debug}, format: json}",
                problems), "logging");
        assertThat(problems.isEmpty()).isTrue();
        assertThat(ok).isEqualTo(LogSettings.of(LogLevel.LOG_LEVEL_WARN,
                java.util.Map.of(LogSubsystem.LOG_SUBSYSTEM_CHD, LogLevel.LOG_LEVEL_DEBUG), true));

        Problems bad = new Problems("keel.yaml");
        assertThat(LogSettings.read(new Nodes(bad), yaml("{level: loud, subsystems: {ikee: debug}, fromat: json}", bad),
                "logging")).isNull();
        assertThat(bad.list()).extracting(Object::toString).anySatisfy(p -> assertThat(p).contains("logging.level")
                .contains("'loud' is not one of error, warn, info, debug, trace"))
                .anySatisfy(p -> assertThat(p).contains("logging.subsystems.ikee").contains("did you mean 'ike'"))
                .anySatisfy(p -> assertThat(p).contains("logging.fromat").contains("did you mean 'format'"));
    }

    private static Node yaml(String text, Problems problems) {
        return YamlText.compose(text, 10_000, problems, "");
    }

    private static SubsystemLevel level(LogSubsystem s, LogLevel l) {
        return SubsystemLevel.newBuilder().setSubsystem(s).setLevel(l).build();
    }
}
