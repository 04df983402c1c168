package dev.keel.core.proposal;

import dev.keel.core.transform.KeyExchangeTransform;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Reads strongSwan's proposal syntax; see {@link Proposal#parse} and {@link ProposalKeywords}. */
final class ProposalParser {

    private ProposalParser() {
    }

    static Proposal parse(Protocol protocol, String text) throws ProposalSyntaxException {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(text, "text");
        if (text.isBlank()) {
            throw new ProposalSyntaxException("empty proposal '" + text + "'", text, null, 0);
        }
        Proposal.Builder builder = Proposal.builder(protocol);
        int start = 0;
        while (true) {
            int dash = text.indexOf('-', start);
            int end = dash < 0 ? text.length() : dash;
            addToken(builder, text, start, end);
            if (dash < 0) {
                break;
            }
            start = dash + 1;
        }
        Proposal proposal = builder.build();
        Optional<String> error = proposal.validationError();
        if (error.isPresent()) {
            throw new ProposalSyntaxException(
                    "invalid " + protocol + " proposal '" + text + "': " + error.get(), text, null, 0);
        }
        return proposal;
    }

    static List<Proposal> parseList(Protocol protocol, String text) throws ProposalSyntaxException {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(text, "text");
        if (text.isBlank()) {
            throw new ProposalSyntaxException("empty proposal list '" + text + "'", text, null, 0);
        }
        List<Proposal> proposals = new ArrayList<>();
        int start = 0;
        while (true) {
            int comma = text.indexOf(',', start);
            int end = comma < 0 ? text.length() : comma;
            String entry = text.substring(start, end).strip();
            if (entry.isEmpty()) {
                // Catches ",x", "x,,y" and "x,": a stray comma is a typo, not an empty proposal.
                throw new ProposalSyntaxException("empty proposal at column " + (start + 1)
                        + " in proposal list '" + text + "'", text, null, start + 1);
            }
            proposals.add(parse(protocol, entry));
            if (comma < 0) {
                break;
            }
            start = comma + 1;
        }
        return List.copyOf(proposals);
    }

    private static void addToken(Proposal.Builder builder, String text, int start, int end)
            throws ProposalSyntaxException {
        // strongSwan trims blanks around each token, so "aes128 - sha256" is accepted there too.
        int from = start;
        int to = end;
        while (from < to && Character.isWhitespace(text.charAt(from))) {
            from++;
        }
        while (to > from && Character.isWhitespace(text.charAt(to - 1))) {
            to--;
        }
        if (from == to) {
            int column = start + 1;
            throw new ProposalSyntaxException("empty algorithm at column " + column
                    + " in proposal '" + text + "'", text, "", column);
        }
        int column = from + 1;
        String token = text.substring(from, to);
        ProposalKeywords.Keyword keyword = ProposalKeywords.lookup(token);
        if (keyword == null) {
            throw new ProposalSyntaxException("unknown algorithm '" + token + "' at column " + column
                    + " in proposal '" + text + "'", text, token, column);
        }
        if (keyword.additional() != 0) {
            builder.additionalKeyExchange(keyword.additional(), (KeyExchangeTransform) keyword.transform());
        } else {
            builder.add(keyword.transform(), keyword.keyBits());
        }
    }
}
