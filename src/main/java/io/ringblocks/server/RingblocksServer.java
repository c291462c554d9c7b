package io.ringblocks.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import io.ringblocks.storage.ErrorHandler;
import io.ringblocks.storage.Store;
import io.ringblocks.sys.Errno;
import io.ringblocks.sys.ErrnoException;
import io.ringblocks.sys.LibC;
import io.ringblocks.sys.Sockets;
import io.ringblocks.uring.Wakeup;

/**
 * The ringblocks server: N {@link Worker}s, each with its own ring and its own SO_REUSEPORT listener on the same port
 * (the kernel hashes new connections over the listeners; one shared listener would hand nearly all of them to one
 * ring), and the {@link Store} with its committer thread.
 * {@link #close()} is the graceful shutdown: stop accepting, finish in-flight requests, final commit, close files.
 */
public final class RingblocksServer implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger("ringblocks");

    private final ServerConfig config;
    private final ErrorHandler errors = new ErrorHandler();
    private final AtomicInteger connections = new AtomicInteger();
    private final long startedAt = System.currentTimeMillis();
    private final int[] listenFds;
    /** The host-wide claim on the port (see {@link Sockets#claimPort}); -1 where none was taken. */
    private int portClaim = -1;
    private final int port;
    private final Wakeup[] wakeups;
    private final Store store;
    private final Worker[] workers;
    private final Thread[] threads;
    private final ServerReport report;
    private boolean closed;
    private volatile boolean closing;

    private RingblocksServer(final ServerConfig config)
    {
        this.config = config;
        final byte[] ip = ipv4(config.host());
        wakeups = new Wakeup[config.workers()];
        for (int i = 0; i < wakeups.length; i++)
        {
            wakeups[i] = new Wakeup();
        }
        listenFds = new int[config.workers()];
        Arrays.fill(listenFds, -1);
        Store opened = null;
        int boundPort = config.port();
        int wildcardClaim = -1;
        try
        {
            // A plain bind first: SO_REUSEPORT alone would let us share a port another server already listens on.
            // A fixed port is claimed first, so that of two servers starting at once one gives up before either
            // binds; an ephemeral one once the probe has it, before the probe lets go. A specific address also holds
            // the wildcard address's claim while it binds: a server on 0.0.0.0 overlaps it.
            if (config.port() != 0)
            {
                portClaim = Sockets.claimPort(ip, config.port());
                refuseIfClaimed(portClaim, boundPort);
                if (!isWildcard(ip))
                {
                    wildcardClaim = Sockets.claimPort(new byte[4], config.port());
                    refuseIfClaimed(wildcardClaim, boundPort);
                }
            }
            final int probe = Sockets.listenTcp(ip, config.port(), 1, false);
            boundPort = Sockets.localPort(probe);
            if (config.port() == 0)
            {
                portClaim = Sockets.claimPort(ip, boundPort);
            }
            LibC.close(probe);
            refuseIfClaimed(portClaim, boundPort);
            for (int i = 0; i < listenFds.length; i++)
            {
                listenFds[i] = Sockets.listenTcp(ip, boundPort, 4096, true);
                // Accepted sockets inherit TCP_NODELAY: responses go out whole, Nagle only adds latency.
                Sockets.noDelay(listenFds[i]);
            }
            closeClaim(wildcardClaim); // bound: a wildcard server starting now finds the port busy
            wildcardClaim = -1;
            opened = Store.open(config.store(), wakeups, errors);
        }
        catch (final RuntimeException e)
        {
            closeClaim(wildcardClaim);
            closeListeners();
            closeWakeups();
            throw e;
        }
        port = boundPort;
        store = opened;
        workers = new Worker[config.workers()];
        threads = new Thread[config.workers()];
        report = new ServerReport(config, store, workers, connections, errors, startedAt);
        try
        {
            for (int i = 0; i < workers.length; i++)
            {
                // Started at once, so that close() below (which waits for every non-null worker) never waits for one
                // whose thread never ran; a failure here must not keep the store, and its directory lock, open.
                final Worker worker = new Worker(i, config, store, wakeups[i], listenFds[i], connections, errors);
                worker.statsText(this::statsText);
                threads[i] = new Thread(worker, "ringblocks-worker-" + i);
                threads[i].start();
                workers[i] = worker;
            }
            for (final Worker worker : workers)
            {
                worker.awaitStarted();
            }
        }
        catch (final InterruptedException | RuntimeException | Error e)
        {
            // An Error too (e.g. OutOfMemoryError sizing a worker's tables): workers already started are not daemons
            // and would keep a half-started server, its store and its directory lock alive.
            close();
            if (e instanceof Error error)
            {
                throw error;
            }
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    /**
     * Opens the store (recovering it) and starts serving.
     *
     * @throws IllegalArgumentException for an unusable configuration (address, data directory).
     * @throws ErrnoException           when the port cannot be bound (the message names the errno, e.g. EADDRINUSE).
     */
    public static RingblocksServer start(final ServerConfig config)
    {
        return new RingblocksServer(config);
    }

    private static byte[] ipv4(final String host)
    {
        try
        {
            final byte[] address = InetAddress.getByName(host).getAddress();
            if (address.length != 4)
            {
                throw new IllegalArgumentException("listen address must be IPv4: " + host);
            }
            return address;
        }
        catch (final UnknownHostException e)
        {
            throw new IllegalArgumentException("unknown listen address: " + host, e);
        }
    }

    /** @return the bound port (useful with port 0). */
    public int port()
    {
        return port;
    }

    public ServerConfig config()
    {
        return config;
    }

    public Store store()
    {
        return store;
    }

    /** @return runtime faults seen so far (all logged). */
    public long errors()
    {
        return errors.errors();
    }

    /** The STATS body: {@code name value} lines, a racy but cheap snapshot of every worker and the store. */
    public String statsText()
    {
        final StatsText text = new StatsText();
        report.report(text);
        return text.toString();
    }

    /** Hands every published figure, with its kind and help text, to {@code visitor} (a racy, cheap snapshot). */
    public void report(final StatsVisitor visitor)
    {
        report.report(visitor);
    }

    /** @return true from the end of recovery until {@link #close()} starts. */
    public boolean serving()
    {
        return !closing;
    }

    /**
     * @return null while every worker, the committer and the checkpointer run (or the server is shutting down, when
     * they end on purpose) and the write-ahead log works, else what ended: only a restart helps (liveness).
     */
    public String deadThread()
    {
        for (int i = 0; i < threads.length; i++)
        {
            if (!closing && (threads[i] == null || !threads[i].isAlive()))
            {
                return "worker " + i + " has stopped";
            }
        }
        if (!closing && !store.threadsAlive())
        {
            return "the committer or the checkpointer has stopped";
        }
        // Not a thread, but as final: every change is answered FAILED until a restart replays the log.
        return store.journalHealthy() ? null : "the write-ahead log failed: restart to recover";
    }

    /** @return why new PUTs would be refused now (low disk, a failed journal), or null when they are accepted. */
    public String refusingWritesBecause()
    {
        return store.refusingWritesBecause();
    }

    /**
     * Graceful shutdown: workers stop accepting, answer what is in flight (bounded by the shutdown timeout) and
     * close their connections; then the committer's final commit, and the files are closed.
     */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        closing = true;
        for (final Worker worker : workers)
        {
            if (worker != null)
            {
                worker.requestStop();
            }
        }
        boolean allStopped = true;
        for (int i = 0; i < workers.length; i++)
        {
            if (workers[i] == null)
            {
                continue;
            }
            try
            {
                if (!workers[i].awaitStopped(config.shutdownTimeoutMillis() + 5_000))
                {
                    LOG.log(System.Logger.Level.ERROR, "worker " + i + " did not stop in time");
                    allStopped = false;
                    listenFds[i] = -1; // it may still shut its listener down: its number must not be reused under it
                }
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                allStopped = false;
                listenFds[i] = -1;
            }
        }
        closeListeners();
        if (allStopped)
        {
            store.close();
            closeWakeups();
        }
        else
        {
            // A worker may still read the index or the data file: closing them under it could crash the JVM. In sync
            // mode acknowledged data is durable already; relaxed mode's is made so by flushing both files (the next
            // start recovers as after a crash).
            final int rc = store.flushFiles();
            LOG.log(System.Logger.Level.ERROR, "leaving the store open: a worker is still running" +
                (rc < 0 ? "; flushing the data file and the log failed: " + Errno.describe(rc) : ""));
        }
    }

    private static boolean isWildcard(final byte[] ipv4)
    {
        return (ipv4[0] | ipv4[1] | ipv4[2] | ipv4[3]) == 0;
    }

    private static void closeClaim(final int claim)
    {
        if (claim >= 0)
        {
            LibC.close(claim);
        }
    }

    /** Another server of this host holds the claim on the address: refused (with EADDRINUSE) before binding. */
    private void refuseIfClaimed(final int claim, final int boundPort)
    {
        if (claim == -Errno.EADDRINUSE)
        {
            // Reads: "bind(127.0.0.1:10100), claimed by another ringblocks server on this host, failed: EADDRINUSE".
            throw new ErrnoException("bind(" + config.host() + ":" + boundPort + "), claimed by another ringblocks " +
                "server on this host,", claim);
        }
    }

    private void closeListeners()
    {
        if (portClaim >= 0)
        {
            LibC.close(portClaim);
            portClaim = -1;
        }
        for (final int fd : listenFds)
        {
            if (fd >= 0)
            {
                LibC.close(fd);
            }
        }
    }

    private void closeWakeups()
    {
        for (final Wakeup w : wakeups)
        {
            if (w != null)
            {
                w.close();
            }
        }
    }
}
