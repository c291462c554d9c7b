package io.ringblocks.server;

import org.agrona.concurrent.UnsafeBuffer;

import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Store;
import io.ringblocks.uring.Ring;

/**
 * What the two halves of a worker share — its identity, configuration, counters, request slots, I/O arena and
 * ring — so that connection I/O ({@link Worker}) and the operations ({@link Operations}) depend on this and on a
 * narrow interface ({@link Responder}) rather than on each other's fields. All of it belongs to the worker thread.
 */
final class WorkerContext
{
    final int id;
    /** "worker N", for error reports. */
    final String name;
    final ServerConfig config;
    final Store store;
    final ErrorHandler errors;
    final ServerStats stats = new ServerStats();
    final Requests reqs;
    final IoArena arena;
    final UnsafeBuffer memory;
    private Ring ring;

    WorkerContext(final int id, final ServerConfig config, final Store store, final ErrorHandler errors,
        final int requestSlots)
    {
        this.id = id;
        this.name = "worker " + id;
        this.config = config;
        this.store = store;
        this.errors = errors;
        reqs = new Requests(requestSlots);
        arena = new IoArena(config.arenaSize());
        memory = arena.buffer();
    }

    /** The worker thread's ring, created when the thread starts. */
    void ring(final Ring ring)
    {
        this.ring = ring;
    }

    Ring ring()
    {
        if (ring == null)
        {
            throw new IllegalStateException(name + " has no ring before its thread started");
        }
        return ring;
    }
}
