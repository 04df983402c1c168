package dev.keel.ike.message;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.core.transform.Transform;
import dev.keel.core.transform.TransformType;
import dev.keel.core.proposal.EncryptionAlgorithm;
import java.util.ArrayList;
import java.util.List;

/**
 * Security Association payload (RFC 7296 §3.3): proposals of transforms of attributes, kept
 * exactly as on the wire (unknown protocols, transforms and attributes included). The engine
 * works on {@link #toProposals()} / {@link #fromProposals}, strongSwan's get_proposals /
 * sa_payload_create_from_proposals_v2. Additional Key Exchange transforms (types 6-12, RFC 9370)
 * are carried like KE ones; an ADDKE transform with an attribute is dropped like any other.
 */
public record SaPayload(List<SaPayload.WireProposal> proposals) implements IkePayload {
    /** The Key Length attribute type (§3.3.5), always in TV format. */
    public static final int KEY_LENGTH_ATTRIBUTE = 14;
    private static final int LAST = 0;
    private static final int MORE_PROPOSALS = 2;
    private static final int MORE_TRANSFORMS = 3;

    /** A Proposal substructure (§3.3.1). */
    public record WireProposal(int number, int protocolId, byte[] spi, List<WireTransform> transforms) {}

    /** A Transform substructure (§3.3.2). */
    public record WireTransform(int type, int id, List<WireAttribute> attributes) {}

    /** A Data Attribute (§3.3.5): TV ({@code value} is 2 bytes) or TLV. */
    public record WireAttribute(int type, boolean tv, byte[] value) {}

    /** Parses an SA body, checking every nested length against its parent. */
    public static SaPayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        List<WireProposal> proposals = new ArrayList<>();
        int lastOrMore = MORE_PROPOSALS;
        while (lastOrMore == MORE_PROPOSALS) {
            int i = proposals.size() + 1;
            lastOrMore = r.u8("proposal " + i + " last substruc");
            if (lastOrMore != LAST && lastOrMore != MORE_PROPOSALS) {
                throw new PayloadException("proposal " + i + " last substruc is " + lastOrMore);
            }
            r.u8("proposal " + i + " reserved");
            int length = r.u16("proposal " + i + " length");
            if (length < 8) {
                throw new PayloadException("proposal " + i + " length " + length + " is below 8");
            }
            proposals.add(decodeProposal(r.sub(length - 4, "proposal " + i), i));
        }
        r.expectEnd("SA payload after its last proposal");
        return new SaPayload(List.copyOf(proposals));
    }

    private static WireProposal decodeProposal(WireReader r, int i) throws PayloadException {
        int number = r.u8("proposal " + i + " number");
        int protocol = r.u8("proposal " + i + " protocol ID");
        int spiSize = r.u8("proposal " + i + " SPI size");
        int count = r.u8("proposal " + i + " number of transforms");
        if (spiSize != 0 && spiSize != 4 && spiSize != 8) {
            throw new PayloadException("proposal " + i + " SPI size " + spiSize + " is not 0, 4 or 8");
        }
        byte[] spi = r.bytes(spiSize, "proposal " + i + " SPI");
        List<WireTransform> transforms = new ArrayList<>();
        for (int t = 1; t <= count; t++) {
            String what = "proposal " + i + " transform " + t;
            int lastOrMore = r.u8(what + " last substruc");
            if (lastOrMore != (t == count ? LAST : MORE_TRANSFORMS)) {
                throw new PayloadException(what + " of " + count + " has last substruc " + lastOrMore);
            }
            r.u8(what + " reserved");
            int length = r.u16(what + " length");
            if (length < 8) {
                throw new PayloadException(what + " length " + length + " is below 8");
            }
            transforms.add(decodeTransform(r.sub(length - 4, what), what));
        }
        r.expectEnd("proposal " + i + " after " + count + " transforms");
        return new WireProposal(number, protocol, spi, List.copyOf(transforms));
    }

    private static WireTransform decodeTransform(WireReader r, String what) throws PayloadException {
        int type = r.u8(what + " type");
        r.u8(what + " reserved");
        int id = r.u16(what + " ID");
        List<WireAttribute> attributes = new ArrayList<>();
        while (r.hasRemaining()) {
            int typeField = r.u16(what + " attribute type");
            boolean tv = (typeField & 0x8000) != 0;
            int attrType = typeField & 0x7FFF;
            byte[] value = tv ? r.bytes(2, what + " attribute value")
                    : r.bytes(r.u16(what + " attribute length"), what + " attribute value");
            attributes.add(new WireAttribute(attrType, tv, value));
        }
        return new WireTransform(type, id, List.copyOf(attributes));
    }

    /**
     * An SA payload offering {@code proposals} in order; a proposal numbered 0 gets its position
     * (1-based) as number. Transforms go in strongSwan's order: ENCR, INTEG, PRF, KE, ESN.
     */
    public static SaPayload fromProposals(List<ProposalWithSpi> proposals) {
        List<WireProposal> out = new ArrayList<>();
        for (ProposalWithSpi p : proposals) {
            Proposal proposal = p.proposal();
            List<WireTransform> transforms = new ArrayList<>();
            for (EncryptionAlgorithm e : proposal.encryptionAlgorithms()) {
                List<WireAttribute> attrs = e.hasKeyLengthAttribute()
                        ? List.of(new WireAttribute(KEY_LENGTH_ATTRIBUTE, true,
                                new byte[] {(byte) (e.keyBits() >>> 8), (byte) e.keyBits()}))
                        : List.of();
                transforms.add(new WireTransform(TransformType.ENCR.id(), e.transform().id(), attrs));
            }
            addAll(transforms, proposal.integrityAlgorithms());
            addAll(transforms, proposal.prfs());
            addAll(transforms, proposal.keyExchangeMethods());
            for (int n = 1; n <= TransformType.ADDITIONAL_KEY_EXCHANGES; n++) { // RFC 9370 §2.2.1: types 6-12
                for (KeyExchangeTransform t : proposal.additionalKeyExchanges(n)) {
                    transforms.add(new WireTransform(TransformType.additionalKeyExchange(n).id(), t.id(), List.of()));
                }
            }
            addAll(transforms, proposal.esns());
            byte[] spi = new byte[p.spiSize()];
            for (int b = 0; b < spi.length; b++) {
                spi[b] = (byte) (p.spi() >>> (8 * (spi.length - 1 - b)));
            }
            int number = proposal.number() != 0 ? proposal.number() : out.size() + 1;
            out.add(new WireProposal(number, proposal.protocol().id(), spi, List.copyOf(transforms)));
        }
        return new SaPayload(List.copyOf(out));
    }

    private static void addAll(List<WireTransform> out, List<? extends Transform> transforms) {
        for (Transform t : transforms) {
            out.add(new WireTransform(t.type().id(), t.id(), List.of()));
        }
    }

    /**
     * The proposals as domain values, in order. Proposals of an unknown protocol are skipped;
     * unknown transforms, transforms with an attribute other than a valid Key Length, and
     * integrity NONE are dropped, as {@link Proposal} documents.
     */
    public List<ProposalWithSpi> toProposals() {
        List<ProposalWithSpi> out = new ArrayList<>();
        for (WireProposal wp : proposals) {
            Protocol protocol = Protocol.byId(wp.protocolId());
            if (protocol == null) {
                continue;
            }
            Proposal.Builder builder = Proposal.builder(protocol).number(wp.number());
            for (WireTransform wt : wp.transforms()) {
                Transform transform = known(wt.type(), wt.id());
                if (transform == null || transform == IntegrityTransform.NONE) {
                    continue;
                }
                int keyBits = 0;
                boolean usable = true;
                for (WireAttribute a : wt.attributes()) {
                    if (a.type() == KEY_LENGTH_ATTRIBUTE && a.tv() && keyBits == 0) {
                        keyBits = (a.value()[0] & 0xFF) << 8 | a.value()[1] & 0xFF;
                        usable = keyBits != 0;
                    } else {
                        usable = false; // RFC 7296 §3.3.6: a transform with an unknown attribute is not chosen
                    }
                }
                if (!usable) {
                    continue;
                }
                int additional = TransformType.byId(wt.type()).additionalKeyExchange();
                if (additional != 0) {
                    builder.additionalKeyExchange(additional, (KeyExchangeTransform) transform);
                    continue;
                }
                try {
                    builder.add(transform, keyBits);
                } catch (IllegalArgumentException e) {
                    // a key length the cipher does not take: the transform cannot be chosen
                }
            }
            long spi = 0;
            for (byte b : wp.spi()) {
                spi = spi << 8 | (b & 0xFF);
            }
            out.add(new ProposalWithSpi(builder.build(), spi, wp.spi().length));
        }
        return List.copyOf(out);
    }

    private static Transform known(int type, int id) {
        TransformType t = TransformType.byId(type);
        if (t == null) {
            return null;
        }
        return switch (t) {
            case ENCR -> EncryptionTransform.byId(id);
            case PRF -> PrfTransform.byId(id);
            case INTEG -> IntegrityTransform.byId(id);
            case KE, ADDKE1, ADDKE2, ADDKE3, ADDKE4, ADDKE5, ADDKE6, ADDKE7 -> KeyExchangeTransform.byId(id);
            case ESN -> EsnTransform.byId(id);
        };
    }

    @Override
    public int type() {
        return PayloadType.SA.value();
    }

    @Override
    public byte[] encodeBody() {
        WireWriter w = new WireWriter();
        for (int i = 0; i < proposals.size(); i++) {
            WireProposal p = proposals.get(i);
            int start = w.size();
            w.u8(i == proposals.size() - 1 ? LAST : MORE_PROPOSALS).u8(0).u16(0)
                    .u8(p.number()).u8(p.protocolId()).u8(p.spi().length).u8(p.transforms().size()).bytes(p.spi());
            for (int t = 0; t < p.transforms().size(); t++) {
                WireTransform wt = p.transforms().get(t);
                int tStart = w.size();
                w.u8(t == p.transforms().size() - 1 ? LAST : MORE_TRANSFORMS).u8(0).u16(0)
                        .u8(wt.type()).u8(0).u16(wt.id());
                for (WireAttribute a : wt.attributes()) {
                    if (a.tv()) {
                        w.u16(0x8000 | a.type()).bytes(a.value());
                    } else {
                        w.u16(a.type()).u16(a.value().length).bytes(a.value());
                    }
                }
                w.patchU16(tStart + 2, w.size() - tStart);
            }
            w.patchU16(start + 2, w.size() - start);
        }
        return w.toByteArray();
    }
}
