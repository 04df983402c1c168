package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogSubsystem;
import org.junit.jupiter.api.Test;

/** The node file's {@code logging:} section: the subsystems' levels and the line format. */
class GatewayLoggingSettingsTest {

    private static final String NODE = """
            gateway:
              address: 127.0.0.1
              plaintext:
                virtual_wire: {bind: 127.0.0.1:40999, host: 127.0.0.1:40998}
            """;

    @Test
    void withoutTheSectionEverySubsystemLogsInfoAsText() {
        GatewaySettings s = ((GatewaySettingsReader.Result.Valid) GatewaySettingsReader.read("node.yaml", NODE)).settings();
        assertThat(s.logging().json()).isFalse();
        assertThat(s.logging().levels()).containsEntry(LogSubsystem.LOG_SUBSYSTEM_IKE, LogLevel.LOG_LEVEL_INFO)
                .containsEntry(LogSubsystem.LOG_SUBSYSTEM_LIB, LogLevel.LOG_LEVEL_INFO);
    }

    @Test
    void theSectionSetsLevelsAndFormatAndAWrongValueNamesItsLine() {
        GatewaySettings s = ((GatewaySettingsReader.Result.Valid) GatewaySettingsReader.read("node.yaml", NODE
                + "logging: {level: warn, subsystems: {ike: debug}, format: json}\n")).settings();
        assertThat(s.logging().json()).isTrue();
        assertThat(s.logging().levels()).containsEntry(LogSubsystem.LOG_SUBSYSTEM_IKE, LogLevel.LOG_LEVEL_DEBUG)
                .containsEntry(LogSubsystem.LOG_SUBSYSTEM_ESP, LogLevel.LOG_LEVEL_WARN);

        GatewaySettingsReader.Result bad = GatewaySettingsReader.read("node.yaml", NODE
                + "logging:\n  subsystems: {esp: verbose}\n");
        assertThat(((GatewaySettingsReader.Result.Invalid) bad).problems()).singleElement().asString()
                .startsWith("node.yaml:6:")
                .contains("logging.subsystems.esp: 'verbose' is not one of error, warn, info, debug, trace");
    }
}
