package dev.keel.ike.session;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import java.util.ArrayList;
import java.util.List;

/** A request or response being built by the tasks of one exchange, in payload order. */
public final class OutboundMessage {

    private final ExchangeType exchange;
    private final boolean response;
    private final List<IkePayload> payloads = new ArrayList<>();

    /** An empty request or response of {@code exchange}. */
    public OutboundMessage(ExchangeType exchange, boolean response) {
        this.exchange = exchange;
        this.response = response;
    }

    /** The exchange this message belongs to. */
    public ExchangeType exchange() {
        return exchange;
    }

    /** True for a response. */
    public boolean isResponse() {
        return response;
    }

    /** Appends a payload. */
    public OutboundMessage add(IkePayload payload) {
        payloads.add(payload);
        return this;
    }

    /** Puts a payload first (a COOKIE notify must lead the retried IKE_SA_INIT, RFC 7296 §2.6). */
    public OutboundMessage addFirst(IkePayload payload) {
        payloads.addFirst(payload);
        return this;
    }

    /** Appends a notify without SPI. */
    public OutboundMessage notify(NotifyType type, byte[] data) {
        return add(NotifyPayload.of(type, data));
    }

    /** Appends a notify without SPI or data. */
    public OutboundMessage notify(NotifyType type) {
        return add(NotifyPayload.of(type));
    }

    /**
     * Makes this message carry only {@code error}: a responder answering a failed request sends
     * the error notify and nothing else (RFC 7296 §2.21).
     */
    public OutboundMessage onlyError(NotifyType error, byte[] data) {
        payloads.clear();
        return notify(error, data);
    }

    /** True when an error notify is already in the message. */
    public boolean hasError() {
        return payloads.stream().anyMatch(p -> p instanceof NotifyPayload n && n.isError());
    }

    /** The payloads in order. */
    public List<IkePayload> payloads() {
        return List.copyOf(payloads);
    }
}
