package dev.keel.esp.net;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.List;

/** Vert.x's own Netty event loops, on which the data plane's channels are registered. */
public final class EventLoops {

    private EventLoops() {
    }

    /**
     * The event loops of {@code vertx}, in a stable order.
     *
     * @throws IllegalStateException when Vert.x does not run the native epoll transport
     *     (create it with {@code VertxOptions.setPreferNativeTransport(true)} on Linux, with
     *     {@code netty-transport-native-epoll} on the class path)
     */
    public static List<EventLoop> of(Vertx vertx) {
        if (!vertx.isNativeTransportEnabled()) {
            Throwable cause = vertx.unavailableNativeTransportCause();
            throw new IllegalStateException("the data plane needs Vert.x's native (epoll) transport: "
                    + (cause == null ? "create Vert.x with setPreferNativeTransport(true)" : cause), cause);
        }
        EventLoopGroup group = ((VertxInternal) vertx).nettyEventLoopGroup();
        List<EventLoop> loops = new ArrayList<>();
        for (EventExecutor e : group) {
            loops.add((EventLoop) e);
        }
        return List.copyOf(loops);
    }
}
