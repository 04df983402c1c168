package dev.keel.core.proposal;

/** Builds proposals from keyword strings without validation, as a codec would from a peer's SA payload. */
final class TestProposals {

    private TestProposals() {
    }

    static Proposal raw(Protocol protocol, int number, String text) {
        Proposal.Builder b = Proposal.builder(protocol).number(number);
        for (String token : text.split("-")) {
            ProposalKeywords.Keyword k = ProposalKeywords.lookup(token);
            if (k == null) {
                throw new IllegalArgumentException("unknown keyword in test data: " + token);
            }
            b.add(k.transform(), k.keyBits());
        }
        return b.build();
    }

    static Proposal raw(Protocol protocol, String text) {
        return raw(protocol, 0, text);
    }
}
