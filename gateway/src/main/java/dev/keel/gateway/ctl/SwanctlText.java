package dev.keel.gateway.ctl;

import com.google.protobuf.ByteString;
import com.google.protobuf.ProtocolMessageEnum;
import dev.keel.core.sa.ReplayWindowSize;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Algorithms;
import dev.keel.proto.v1.Auth;
import dev.keel.proto.v1.CertInfo;
import dev.keel.proto.v1.Child;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.CloseAction;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.SpdEntry;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.TrafficSelector;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The text keelctl prints: the shape of swanctl's output (strongSwan {@code src/swanctl/commands}),
 * so that an operator's eyes and greps work on both. Pure functions of the API's messages and of
 * "now" (relative times are seconds, as swanctl prints them; dates in {@code zone}).
 */
final class SwanctlText {

    /** swanctl's (and charon's log's) date form, e.g. "Jan 02 10:00:00 2025". */
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("MMM dd HH:mm:ss yyyy", Locale.ROOT);
    /** A log line's time, as charon's file log prints it by default (without the year). */
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("MMM dd HH:mm:ss", Locale.ROOT);

    private final long nowMillis;
    private final ZoneId zone;

    SwanctlText(Instant now, ZoneId zone) {
        this.nowMillis = now.toEpochMilli();
        this.zone = zone;
    }

    // --- --list-sas -------------------------------------------------------------------------------

    /** One block per IKE SA with its CHILD SAs (swanctl --list-sas). */
    String ikeSa(IkeSaInfo sa) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%s: #%d, %s, IKEv2, %016x_i%s %016x_r%s%n", sa.getConnection(), sa.getUniqueId(),
                name(sa.getState(), "IKE_SA_STATE_"), sa.getInitiatorSpi(), sa.getInitiator() ? "*" : "",
                sa.getResponderSpi(), sa.getInitiator() ? "" : "*"));
        b.append(String.format("  local  '%s' @ %s%n", sa.getLocalId(), endpoint(sa.getLocal())));
        b.append(String.format("  remote '%s' @ %s%n", sa.getRemoteId(), endpoint(sa.getRemote())));
        if (!sa.getAlgorithms().getEncryption().isEmpty()) {
            b.append("  ").append(algorithms(sa.getAlgorithms(), true)).append(System.lineSeparator());
        }
        if (sa.getEstablishedMillis() != 0) {
            b.append("  established ").append(ago(sa.getEstablishedMillis())).append(" ago");
            if (sa.getRekeyMillis() != 0) {
                b.append(", rekeying in ").append(in(sa.getRekeyMillis()));
            }
            if (sa.getReauthMillis() != 0) {
                b.append(", reauth in ").append(in(sa.getReauthMillis()));
            }
            b.append(System.lineSeparator());
        }
        if (!sa.getOwner().isEmpty()) {
            b.append("  owner:   ").append(sa.getOwner()).append(System.lineSeparator());
        }
        for (ChildSaInfo child : sa.getChildrenList()) {
            childSa(b, child);
        }
        return b.toString();
    }

    private void childSa(StringBuilder b, ChildSaInfo c) {
        b.append(String.format("  %s: #%d, %s, %s%s, %s:%s%n", c.getName(), c.getUniqueId(), childState(c),
                name(c.getMode(), "IPSEC_MODE_"), c.getEncap() ? "-in-UDP" : "", name(c.getProtocol(), "IPSEC_PROTOCOL_"),
                algorithms(c.getAlgorithms(), false)));
        List<String> times = new ArrayList<>();
        if (c.getInstalledMillis() != 0) {
            times.add("installed " + ago(c.getInstalledMillis()) + " ago");
        }
        if (c.getRekeyMillis() != 0) {
            times.add("rekeying in " + in(c.getRekeyMillis()));
        }
        if (c.getExpireMillis() != 0) {
            times.add("expires in " + in(c.getExpireMillis()));
        }
        if (!times.isEmpty()) {
            b.append("    ").append(String.join(", ", times)).append(System.lineSeparator());
        }
        b.append(traffic("in ", c.getSpiIn(), c.getBytesIn(), c.getPacketsIn(), c.getLastInMillis()));
        b.append(traffic("out", c.getSpiOut(), c.getBytesOut(), c.getPacketsOut(), c.getLastOutMillis()));
        b.append("    local  ").append(selectors(c.getLocalTsList())).append(System.lineSeparator());
        b.append("    remote ").append(selectors(c.getRemoteTsList())).append(System.lineSeparator());
    }

    /** strongSwan's name for an installed CHILD SA is INSTALLED; the rest keep the API's name. */
    private static String childState(ChildSaInfo c) {
        return switch (c.getState()) {
            case CHILD_SA_STATE_ACTIVE -> "INSTALLED";
            default -> name(c.getState(), "CHILD_SA_STATE_");
        };
    }

    private String traffic(String direction, int spi, long bytes, long packets, long lastMillis) {
        return String.format("    %s %08x, %6s bytes, %5s packets%s%n", direction, spi, Long.toUnsignedString(bytes),
                Long.toUnsignedString(packets), lastMillis == 0 ? "" : String.format(", %5ds ago", secondsAgo(lastMillis)));
    }

    /** ENCR[-bits][/INTEG][/PRF][/KE][/ESN], as swanctl joins them. */
    private static String algorithms(Algorithms a, boolean ike) {
        List<String> parts = new ArrayList<>();
        if (!a.getEncryption().isEmpty()) {
            parts.add(a.getEncryption() + (a.getEncryptionKeyBits() == 0 ? "" : "-" + a.getEncryptionKeyBits()));
        }
        if (!a.getIntegrity().isEmpty()) {
            parts.add(a.getIntegrity());
        }
        if (ike && !a.getPrf().isEmpty()) {
            parts.add(a.getPrf());
        }
        if (!a.getKeyExchange().isEmpty()) {
            parts.add(a.getKeyExchange());
        }
        if (!ike && a.getEsn()) {
            parts.add("ESN");
        }
        return String.join("/", parts);
    }

    // --- --list-conns -----------------------------------------------------------------------------

    /** One block per connection (swanctl --list-conns), with Keel's proposals and start actions. */
    static String connection(Connection c) {
        StringBuilder b = new StringBuilder(c.getName()).append(": IKEv").append(c.getVersion() == 0 ? 2 : c.getVersion());
        b.append(c.getReauthTimeSeconds() == 0 ? ", no reauthentication"
                : ", reauthentication every " + c.getReauthTimeSeconds() + "s");
        b.append(c.getRekeyTimeSeconds() == 0 ? ", no rekeying" : ", rekeying every " + c.getRekeyTimeSeconds() + "s");
        if (c.getDpdDelaySeconds() != 0) {
            b.append(", dpd delay ").append(c.getDpdDelaySeconds()).append('s');
        }
        if (c.getEncap()) {
            b.append(", UDP encapsulation forced");
        }
        b.append(System.lineSeparator());
        b.append("  local:  ").append(String.join(" ", c.getLocalAddrsList())).append(System.lineSeparator());
        b.append("  remote: ").append(String.join(" ", c.getRemoteAddrsList())).append(System.lineSeparator());
        if (c.getProposalsCount() > 0) {
            b.append("  proposals: ").append(String.join(" ", c.getProposalsList())).append(System.lineSeparator());
        }
        auth(b, "local", c.getLocal());
        auth(b, "remote", c.getRemote());
        for (Child child : c.getChildrenList()) {
            b.append("  ").append(child.getName()).append(": ").append(name(child.getMode(), "IPSEC_MODE_")).append(", ");
            List<String> rekey = new ArrayList<>();
            if (child.getRekeyTimeSeconds() != 0) {
                rekey.add(child.getRekeyTimeSeconds() + "s");
            }
            if (child.getRekeyBytes() != 0) {
                rekey.add(Long.toUnsignedString(child.getRekeyBytes()) + " bytes");
            }
            if (child.getRekeyPackets() != 0) {
                rekey.add(Long.toUnsignedString(child.getRekeyPackets()) + " packets");
            }
            b.append(rekey.isEmpty() ? "no rekeying" : "rekeying every " + String.join(" or ", rekey));
            if (child.getLifeTimeSeconds() != 0) {
                b.append(", expires after ").append(child.getLifeTimeSeconds()).append('s');
            }
            if (c.getDpdDelaySeconds() != 0) {
                b.append(", dpd action is ").append(name(child.getDpdAction(), "DPD_ACTION_").toLowerCase(Locale.ROOT));
            }
            b.append(System.lineSeparator());
            b.append("    local:  ").append(String.join(" ", child.getLocalTsTextList())).append(System.lineSeparator());
            b.append("    remote: ").append(String.join(" ", child.getRemoteTsTextList())).append(System.lineSeparator());
            if (child.getEspProposalsCount() > 0) {
                b.append("    esp_proposals: ").append(String.join(" ", child.getEspProposalsList()))
                        .append(System.lineSeparator());
            }
            b.append("    start_action: ").append(name(child.getStartAction(), "START_ACTION_").toLowerCase(Locale.ROOT))
                    .append(System.lineSeparator());
            if (child.getCloseAction() != CloseAction.CLOSE_ACTION_NONE
                    && child.getCloseAction() != CloseAction.CLOSE_ACTION_UNSPECIFIED) {
                b.append("    close_action: ").append(name(child.getCloseAction(), "CLOSE_ACTION_").toLowerCase(Locale.ROOT))
                        .append(System.lineSeparator());
            }
            if (child.hasReplayWindow() && child.getReplayWindow() != ReplayWindowSize.DEFAULT) {
                b.append("    replay_window: ").append(child.getReplayWindow() == 0 ? "0 (no replay protection)"
                        : Integer.toString(child.getReplayWindow())).append(System.lineSeparator());
            }
            if (child.getPriority() != 0) {
                b.append("    priority: ").append(child.getPriority()).append(System.lineSeparator());
            }
        }
        return b.toString();
    }

    private static void auth(StringBuilder b, String side, Auth a) {
        String method = switch (a.getMethod()) {
            case AUTH_METHOD_PSK -> "pre-shared key";
            case AUTH_METHOD_PUBKEY -> "public key";
            default -> "unspecified";
        };
        b.append("  ").append(side).append(' ').append(method).append(" authentication:").append(System.lineSeparator());
        if (!a.getId().isEmpty()) {
            b.append("    id: ").append(a.getId()).append(System.lineSeparator());
        }
        if (a.getCertsCount() > 0) {
            b.append("    certs: ").append(subjects(a.getCertsList())).append(System.lineSeparator());
        }
        if (a.getCacertsCount() > 0) {
            b.append("    cacerts: ").append(subjects(a.getCacertsList())).append(System.lineSeparator());
        }
    }

    /** The subjects of DER certificates, quoted as swanctl quotes DNs. */
    private static String subjects(List<ByteString> ders) {
        List<String> names = new ArrayList<>();
        for (ByteString der : ders) {
            try {
                X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(der.toByteArray()));
                names.add('"' + cert.getSubjectX500Principal().getName() + '"');
            } catch (CertificateException | ClassCastException e) {
                names.add("(not an X.509 certificate)");
            }
        }
        return String.join(" ", names);
    }

    // --- --list-pols ------------------------------------------------------------------------------

    /** One SPD entry (swanctl --list-pols), in SPD order: the action where swanctl has the mode. */
    static String policy(SpdEntry e) {
        return e.getName() + ", " + name(e.getAction(), "POLICY_ACTION_") + System.lineSeparator()
                + "  local:  " + e.getLocalText() + System.lineSeparator()
                + "  remote: " + e.getRemoteText() + System.lineSeparator();
    }

    // --- --list-certs -----------------------------------------------------------------------------

    /** Certificates under swanctl's headings: this node's first, then the CAs. */
    String certificates(List<CertInfo> certs) {
        StringBuilder b = new StringBuilder();
        certificateGroup(b, "List of X.509 End Entity Certificates", certs.stream()
                .filter(c -> c.getKind() != CertInfo.Kind.KIND_CA).toList());
        certificateGroup(b, "List of X.509 CA Certificates", certs.stream()
                .filter(c -> c.getKind() == CertInfo.Kind.KIND_CA).toList());
        return b.toString();
    }

    private void certificateGroup(StringBuilder b, String heading, List<CertInfo> certs) {
        if (certs.isEmpty()) {
            return;
        }
        String nl = System.lineSeparator();
        b.append(nl).append(heading).append(nl);
        for (CertInfo c : certs) {
            b.append(nl);
            b.append("  subject:  \"").append(c.getSubject()).append('"').append(nl);
            b.append("  issuer:   \"").append(c.getIssuer()).append('"').append(nl);
            b.append("  validity:  not before ").append(date(c.getNotBeforeMillis()))
                    .append(c.getNotBeforeMillis() > nowMillis ? ", not valid yet (valid in "
                            + in(c.getNotBeforeMillis()) + ")" : ", ok").append(nl);
            b.append("             not after  ").append(date(c.getNotAfterMillis()))
                    .append(c.getNotAfterMillis() < nowMillis ? ", expired (" + ago(c.getNotAfterMillis()) + " ago)"
                            : ", ok (expires in " + in(c.getNotAfterMillis()) + ")").append(nl);
            b.append("  serial:    ").append(c.getSerial()).append(nl);
            if (c.getSubjectAltNamesCount() > 0) {
                b.append("  altNames:  ").append(String.join(", ", c.getSubjectAltNamesList())).append(nl);
            }
            b.append("  pubkey:    ").append(c.getPublicKey()).append(c.getHasPrivateKey() ? ", has private key" : "")
                    .append(nl);
            if (c.getConnectionsCount() > 0) {
                b.append("  used by:   ").append(String.join(", ", c.getConnectionsList())).append(nl);
            }
        }
    }

    // --- --stats ----------------------------------------------------------------------------------

    /** swanctl --stats: uptime and SA counts, then Keel's IKE counters that are not zero, by series name. */
    String stats(StatsResponse s) {
        String nl = System.lineSeparator();
        StringBuilder b = new StringBuilder();
        if (!s.getVersion().isEmpty()) {
            b.append("Keel ").append(s.getVersion()).append(nl);
        }
        if (s.getStartedMillis() != 0) {
            b.append("uptime: ").append(span(nowMillis - s.getStartedMillis())).append(", since ")
                    .append(date(s.getStartedMillis())).append(nl);
        }
        b.append("IKE_SAs: ").append(s.getIkeSas()).append(" total, ").append(s.getHalfOpenIkeSas()).append(" half-open")
                .append(nl);
        b.append("CHILD_SAs: ").append(s.getChildSas()).append(nl);
        b.append("cluster members: ").append(s.getClusterMembers()).append(nl);
        if (s.getCountersCount() > 0) {
            Map<String, Long> counted = new TreeMap<>(s.getCountersMap());
            counted.values().removeIf(v -> v == 0); // a few hundred series, most of them zero
            int width = counted.keySet().stream().mapToInt(String::length).max().orElse(0);
            b.append("counters (not zero; --json for all ").append(s.getCountersCount()).append("):").append(nl);
            counted.forEach((k, v) -> b.append(String.format("  %-" + width + "s  %s%n", k, Long.toUnsignedString(v))));
        }
        return b.toString();
    }

    // --- --initiate, --log ------------------------------------------------------------------------

    /** A log line as swanctl --initiate prints charon's: {@code [IKE] message}. */
    static String initiateLine(LogLine l) {
        return "[" + subsystem(l) + "] " + l.getMessage();
    }

    /** A log line of --log: the time (as charon's file log has it), then as {@link #initiateLine}. */
    String logLine(LogLine l) {
        return LOG_TIME.format(Instant.ofEpochMilli(l.getTimeMillis()).atZone(zone)) + " " + initiateLine(l);
    }

    private static String subsystem(LogLine l) {
        String s = name(l.getSubsystem(), "LOG_SUBSYSTEM_");
        return s.equals("UNSPECIFIED") ? "   " : s;
    }

    // --- --list-sad -------------------------------------------------------------------------------

    /**
     * One CHILD SA record of the SAD in one line, for eyes and for the container tests:
     * {@code connection child direction spi(hex) state owner=node epoch=n}.
     */
    static String sadRecord(ChildSaRecord sa) {
        return String.format("%s %s %s %08x %s owner=%s epoch=%d", sa.getConnection(), sa.getChild(),
                name(sa.getDirection(), "DIRECTION_"), sa.getSpi(), name(sa.getState(), "CHILD_SA_STATE_"),
                sa.getOwnerNodeId(), sa.getOwnerEpoch());
    }

    // --- pieces -----------------------------------------------------------------------------------

    /** An enum value's name without its prefix; UNKNOWN for a number this build does not know. */
    static String name(ProtocolMessageEnum value, String prefix) {
        if (value instanceof Enum<?> e && !e.name().equals("UNRECOGNIZED")) {
            return e.name().startsWith(prefix) ? e.name().substring(prefix.length()) : e.name();
        }
        return "UNKNOWN";
    }

    private static String endpoint(Endpoint e) {
        return address(e.getAddress()) + "[" + e.getPort() + "]";
    }

    private static String address(ByteString bytes) {
        try {
            return CoreMapping.address(bytes, "address").toString();
        } catch (IllegalArgumentException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    private static String selectors(List<TrafficSelector> list) {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            try {
                texts.add(CoreMapping.selector(list.get(i), "ts").toString());
            } catch (IllegalArgumentException e) {
                texts.add("(" + e.getMessage() + ")");
            }
        }
        return String.join(" ", texts);
    }

    /** Whole seconds from {@code millis} to now, as swanctl's "Ns ago". */
    private String ago(long millis) {
        return secondsAgo(millis) + "s";
    }

    private long secondsAgo(long millis) {
        return Math.max(0, (nowMillis - millis) / 1000);
    }

    /** Whole seconds from now to {@code millis}, as swanctl's "in Ns". */
    private String in(long millis) {
        return Math.max(0, (millis - nowMillis) / 1000) + "s";
    }

    private String date(long millis) {
        return DATE.format(Instant.ofEpochMilli(millis).atZone(zone));
    }

    /** A duration as strongSwan words it: the largest unit of which there are more than two. */
    static String span(long millis) {
        long s = Math.max(0, millis / 1000);
        if (s > 2 * 86_400) {
            return s / 86_400 + " days";
        }
        if (s > 2 * 3_600) {
            return s / 3_600 + " hours";
        }
        if (s > 2 * 60) {
            return s / 60 + " minutes";
        }
        return s + (s == 1 ? " second" : " seconds");
    }
}
