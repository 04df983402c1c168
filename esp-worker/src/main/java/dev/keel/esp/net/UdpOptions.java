package dev.keel.esp.net;

/**
 * Socket settings for the event-loop datagram channels.
 *
 * @param maxDatagram largest datagram read (bigger ones are truncated by the kernel and then fail
 *     their ICV); also the slot size of a {@code recvmmsg} batch
 * @param readBatch datagrams per {@code recvmmsg} call
 * @param socketBuffer requested SO_RCVBUF / SO_SNDBUF in bytes (the kernel caps it at
 *     {@code net.core.rmem_max} / {@code wmem_max})
 * @param writeHighWaterMark bytes queued in a channel beyond which sends are dropped and counted
 *     rather than queued without bound
 */
public record UdpOptions(int maxDatagram, int readBatch, int socketBuffer, int writeHighWaterMark) {

    public static final UdpOptions DEFAULTS = new UdpOptions(4096, 32, 4 << 20, 1 << 20);

    public UdpOptions {
        if (maxDatagram < 64 || maxDatagram > 65535) {
            throw new IllegalArgumentException("maxDatagram " + maxDatagram + " outside 64..65535");
        }
        if (readBatch < 1 || readBatch > 1024) {
            throw new IllegalArgumentException("readBatch " + readBatch + " outside 1..1024");
        }
        if (socketBuffer < 0 || writeHighWaterMark < 1) {
            throw new IllegalArgumentException("socketBuffer and writeHighWaterMark must be positive");
        }
    }
}
