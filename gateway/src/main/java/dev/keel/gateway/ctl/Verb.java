package dev.keel.gateway.ctl;

import java.util.List;

/**
 * keelctl's commands, swanctl's verbs: the option that names each, the admin API role it needs
 * (ike.proto: READER lists, OPERATOR initiates, terminates and rekeys, ADMIN loads and sets log
 * levels) and the options that go with it besides the connection ones.
 */
enum Verb {
    LIST_SAS("--list-sas", Role.READER, "--ike", "--ike-id"),
    LIST_CONNS("--list-conns", Role.READER),
    LIST_POLS("--list-pols", Role.READER, "--ike"),
    LIST_CERTS("--list-certs", Role.READER),
    LIST_SAD("--list-sad", Role.READER, "--ike"),
    INITIATE("--initiate", Role.OPERATOR, "--ike", "--child", "--timeout", "--level"),
    TERMINATE("--terminate", Role.OPERATOR, "--ike", "--ike-id", "--child", "--child-id", "--timeout"),
    REKEY("--rekey", Role.OPERATOR, "--ike", "--ike-id", "--child", "--child-id", "--reauth", "--timeout"),
    LOAD_ALL("--load-all", Role.ADMIN, "--file", "--remote-path"),
    LOAD_CONNS("--load-conns", Role.ADMIN, "--file", "--remote-path"),
    STATS("--stats", Role.READER),
    LOG("--log", Role.READER, "--level", "--subsystem"),
    LOGLEVEL("--loglevel", Role.ADMIN),
    COMPLETION("--completion", Role.NONE);

    /** Admin API roles (GatewayAdminRoles, ike.proto). */
    enum Role { NONE, READER, OPERATOR, ADMIN }

    /** Options every verb that talks to a node takes. */
    static final List<String> CONNECTION_OPTIONS =
            List.of("--uri", "--cert", "--key", "--cacert", "--plaintext", "--server-name", "--json");

    private final String option;
    private final Role role;
    private final List<String> modifiers;

    Verb(String option, Role role, String... modifiers) {
        this.option = option;
        this.role = role;
        this.modifiers = List.of(modifiers);
    }

    /** The long option that names the verb, e.g. {@code --list-sas}. */
    String option() {
        return option;
    }

    /** The role the node requires for it. */
    Role role() {
        return role;
    }

    /** Whether {@code longOption} may be given with this verb. */
    boolean takes(String longOption) {
        return longOption.equals(option) || modifiers.contains(longOption)
                || role != Role.NONE && CONNECTION_OPTIONS.contains(longOption);
    }

    /** The verb named by {@code longOption}, or null. */
    static Verb of(String longOption) {
        for (Verb v : values()) {
            if (v.option.equals(longOption)) {
                return v;
            }
        }
        return null;
    }

    /** Where to look after a NOT_FOUND. */
    String listHint() {
        return switch (this) {
            case LIST_POLS, LIST_SAD, INITIATE -> "keelctl --list-conns shows the connections and their children";
            default -> "keelctl --list-sas shows the SAs there are";
        };
    }
}
