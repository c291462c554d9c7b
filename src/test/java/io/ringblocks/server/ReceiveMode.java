package io.ringblocks.server;

/** The three ways a worker receives, for tests that run in each. */
enum ReceiveMode
{
    /** A multishot receive armed per connection waiting for requests, into provided buffers. */
    MULTISHOT,
    /** One receive per arrival, into provided buffers. */
    SINGLE_SHOT,
    /** Every connection owns its receive buffer (a kernel before 5.19, simulated). */
    OWN_BUFFERS;

    /** Sets the mode on {@code builder}, and the process-wide provided-buffer switch: call {@link #reset()} after. */
    ServerConfig.Builder apply(final ServerConfig.Builder builder)
    {
        Inbox.withoutProvidedBuffers = this == OWN_BUFFERS;
        return builder.multishotRecv(this == MULTISHOT);
    }

    static void reset()
    {
        Inbox.withoutProvidedBuffers = false;
    }
}
