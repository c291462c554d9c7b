package io.ringblocks.server;

/**
 * What the operations need from connection I/O: a place for a request's response, and the accounting of the
 * arena memory a request holds against its connection's budget (so a client that never reads cannot pin more
 * than its share).
 */
interface Responder
{
    /** Queues {@code [at, at + length)} (arena offsets) as request {@code r}'s response, with its status. */
    void respond(int r, long at, int length, int status);

    /**
     * Queues a response in two parts: {@code [at, at + length)} of the arena (the header), then {@code bodyLength}
     * bytes at the absolute address {@code body}, which stay put until request {@code r} finishes.
     */
    void respond(int r, long at, int length, long body, int bodyLength, int status);

    /** Request {@code r} took ({@code bytes > 0}) or gave back ({@code bytes < 0}) arena memory. */
    void chargeBuffer(int r, long bytes);

    /** @return whether request {@code r}'s answer would still be sent (else it is dropped, as after an error frame). */
    boolean answerable(int r);

    /** The server-wide STATS text. */
    String statsText();
}
