package dev.keel.core.proposal;

/**
 * A proposal string that is not a usable proposal: empty, an unknown keyword, or an invalid
 * combination of algorithms. The message names the proposal and, where one token is at fault,
 * the token and its column, e.g. {@code unknown algorithm 'aes257' at column 1 in proposal
 * 'aes257-sha256-modp2048'}; it never contains anything but the configured text.
 */
public final class ProposalSyntaxException extends Exception {

    private final String proposal;
    private final String token;
    private final int column;

    ProposalSyntaxException(String message, String proposal, String token, int column) {
        super(message);
        this.proposal = proposal;
        this.token = token;
        this.column = column;
    }

    /** The proposal (or, for an error in the list itself, the proposal list) as written. */
    public String proposal() {
        return proposal;
    }

    /** The offending token as written, or null when the error is not about one token. */
    public String token() {
        return token;
    }

    /** The 1-based column of the offending token within {@link #proposal()}, or 0 when none. */
    public int column() {
        return column;
    }
}
