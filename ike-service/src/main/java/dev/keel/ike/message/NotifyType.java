package dev.keel.ike.message;

/** Notify Message Types (RFC 7296 §3.10.1 and the IANA registry); below 16384 are errors, unknown types are kept as ints. */
public enum NotifyType {
    UNSUPPORTED_CRITICAL_PAYLOAD(1),
    INVALID_IKE_SPI(4),
    INVALID_MAJOR_VERSION(5),
    INVALID_SYNTAX(7),
    INVALID_MESSAGE_ID(9),
    INVALID_SPI(11),
    NO_PROPOSAL_CHOSEN(14),
    INVALID_KE_PAYLOAD(17),
    AUTHENTICATION_FAILED(24),
    SINGLE_PAIR_REQUIRED(34),
    NO_ADDITIONAL_SAS(35),
    INTERNAL_ADDRESS_FAILURE(36),
    FAILED_CP_REQUIRED(37),
    TS_UNACCEPTABLE(38),
    INVALID_SELECTORS(39),
    UNACCEPTABLE_ADDRESSES(40),
    UNEXPECTED_NAT_DETECTED(41),
    USE_ASSIGNED_HOA(42),
    TEMPORARY_FAILURE(43),
    CHILD_SA_NOT_FOUND(44),
    INITIAL_CONTACT(16384),
    SET_WINDOW_SIZE(16385),
    ADDITIONAL_TS_POSSIBLE(16386),
    IPCOMP_SUPPORTED(16387),
    NAT_DETECTION_SOURCE_IP(16388),
    NAT_DETECTION_DESTINATION_IP(16389),
    COOKIE(16390),
    USE_TRANSPORT_MODE(16391),
    HTTP_CERT_LOOKUP_SUPPORTED(16392),
    REKEY_SA(16393),
    ESP_TFC_PADDING_NOT_SUPPORTED(16394),
    NON_FIRST_FRAGMENTS_ALSO(16395),
    MOBIKE_SUPPORTED(16396),
    ADDITIONAL_IP4_ADDRESS(16397),
    ADDITIONAL_IP6_ADDRESS(16398),
    NO_ADDITIONAL_ADDRESSES(16399),
    UPDATE_SA_ADDRESSES(16400),
    COOKIE2(16401),
    NO_NATS_ALLOWED(16402),
    AUTH_LIFETIME(16403),
    MULTIPLE_AUTH_SUPPORTED(16404),
    ANOTHER_AUTH_FOLLOWS(16405),
    REDIRECT_SUPPORTED(16406),
    REDIRECT(16407),
    REDIRECTED_FROM(16408),
    TICKET_LT_OPAQUE(16409),
    TICKET_REQUEST(16410),
    TICKET_ACK(16411),
    TICKET_NACK(16412),
    TICKET_OPAQUE(16413),
    LINK_ID(16414),
    USE_WESP_MODE(16415),
    ROHC_SUPPORTED(16416),
    EAP_ONLY_AUTHENTICATION(16417),
    CHILDLESS_IKEV2_SUPPORTED(16418),
    QUICK_CRASH_DETECTION(16419),
    IKEV2_MESSAGE_ID_SYNC_SUPPORTED(16420),
    IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED(16421),
    IKEV2_MESSAGE_ID_SYNC(16422),
    IPSEC_REPLAY_COUNTER_SYNC(16423),
    SECURE_PASSWORD_METHODS(16424),
    PSK_PERSIST(16425),
    PSK_CONFIRM(16426),
    ERX_SUPPORTED(16427),
    IFOM_CAPABILITY(16428),
    SENDER_REQUEST_ID(16429),
    IKEV2_FRAGMENTATION_SUPPORTED(16430),
    SIGNATURE_HASH_ALGORITHMS(16431),
    /** RFC 9242 §3: both sides of IKE_SA_INIT announce IKE_INTERMEDIATE. */
    INTERMEDIATE_EXCHANGE_SUPPORTED(16438),
    /** RFC 9370 §2.2.4: links IKE_FOLLOWUP_KE exchanges (Keel does not run them). */
    ADDITIONAL_KEY_EXCHANGE(16441);

    private final int value;

    NotifyType(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** True for error types (below 16384), which make a request fail (RFC 7296 §3.10.1). */
    public boolean isError() {
        return value < 16384;
    }

    /** The constant with wire number {@code value}, or null when Keel does not know it (callers keep the int). */
    public static NotifyType of(int value) {
        for (NotifyType t : values()) {
            if (t.value == value) {
                return t;
            }
        }
        return null;
    }
}
