/**
 * The plaintext side of a gateway on Linux: a multi-queue TUN device through the JDK's
 * foreign-function API ({@code java.lang.foreign}), no JNI and no library beyond libc.
 *
 * <p>{@link dev.keel.esp.tun.TunDevice#open(String, int)} opens {@code /dev/net/tun} once per
 * queue and attaches each descriptor with {@code ioctl(TUNSETIFF)} and
 * {@code IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE}; it sets the MTU and the link state itself
 * ({@code SIOCSIFMTU}, {@code SIOCSIFFLAGS} on an {@code AF_INET} socket). Addresses and
 * routes stay with the operator ({@code ip}). Each {@link dev.keel.esp.tun.TunQueue} reads
 * and writes one packet per call between a caller's {@code byte[]} and a per-queue
 * off-heap staging buffer, without allocating.
 *
 * <p>Choices, measured on JDK 25 (x86_64, 1400-byte packets):
 * <ul>
 *   <li><b>Staging copy, not heap access.</b> A {@code critical(true)} downcall given
 *       {@code MemorySegment.ofArray(buf).asSlice(off, len)} saves the copy but allocated
 *       112 bytes per call and was no faster; the copy costs 50 to 80 ns against 1 to 15
 *       microseconds for the system call. Ordinary (non-critical)
 *       downcalls keep the garbage collector free to run while a thread is in the kernel.
 *   <li><b>Non-blocking descriptors, {@code poll(2)} plus an {@code eventfd} to wake.</b>
 *       A blocking read tries {@code read(2)}, and on {@code EAGAIN} polls the queue and the
 *       device's eventfd; {@code close()} writes the eventfd, so blocked readers return -1 at
 *       once, then waits for calls in progress before closing the descriptors (so a number
 *       cannot be reused under a reader). Polls last at most 500 ms so interrupts are seen.
 *   <li><b>errno</b> is captured with {@code Linker.Option.captureCallState("errno")} into a
 *       per-queue, per-direction segment and turned into a
 *       {@link dev.keel.esp.tun.TunException} naming call, device, error and likely cause.
 * </ul>
 */
package dev.keel.esp.tun;
