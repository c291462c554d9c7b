package io.ringblocks.cli;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The server process a benchmark measures, found through /proc: its CPU time, and which process listens on a port
 * (so {@code rbbench --server} or {@code --redis} can report server CPU per request without being told a pid).
 * Linux only; everything here answers -1 rather than fail, since server CPU is a nice-to-have column.
 */
final class ServerPid
{
    /** USER_HZ: /proc reports CPU times in these ticks; 100 on every Linux architecture this runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;
    private static final String LISTEN = "0A";
    private static final int LOCAL_ADDRESS = 1;
    private static final int STATE = 3;
    private static final int INODE = 9;
    /** Fields of /proc/PID/stat after "(comm) ": utime and stime are fields 14 and 15 of the whole line. */
    private static final int UTIME = 11;
    private static final int STIME = 12;

    private ServerPid()
    {
    }

    /** @return utime + stime of process {@code pid} in nanoseconds (10 ms resolution), or -1 if unknown. */
    static long cpuNanos(final long pid)
    {
        if (pid <= 0)
        {
            return -1;
        }
        try
        {
            final String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[UTIME]) + Long.parseLong(f[STIME])) * NANOS_PER_TICK;
        }
        catch (final IOException | RuntimeException e)
        {
            return -1;
        }
    }

    /** @return the pid of a process holding a TCP socket that listens on {@code port}, or -1 if none is visible. */
    static long listening(final int port)
    {
        final String inode = listeningInode(port);
        if (inode == null)
        {
            return -1;
        }
        final String target = "socket:[" + inode + "]";
        final long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> processes = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*"))
        {
            for (final Path process : processes)
            {
                final long pid = Long.parseLong(process.getFileName().toString());
                if (pid != self && holds(process.resolve("fd"), target))
                {
                    return pid;
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            return -1;
        }
        return -1;
    }

    private static String listeningInode(final int port)
    {
        final String hexPort = String.format(":%04X", port);
        for (final String table : List.of("/proc/net/tcp", "/proc/net/tcp6"))
        {
            try
            {
                for (final String line : Files.readAllLines(Path.of(table)))
                {
                    final String[] f = line.trim().split("\\s+");
                    if (f.length > INODE && f[LOCAL_ADDRESS].endsWith(hexPort) && f[STATE].equals(LISTEN))
                    {
                        return f[INODE];
                    }
                }
            }
            catch (final IOException | RuntimeException e)
            {
                // No such table (no IPv6) or unreadable: try the next one.
            }
        }
        return null;
    }

    private static boolean holds(final Path fdDir, final String target)
    {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir))
        {
            for (final Path fd : fds)
            {
                try
                {
                    if (Files.readSymbolicLink(fd).toString().equals(target))
                    {
                        return true;
                    }
                }
                catch (final IOException | RuntimeException e)
                {
                    // Closed meanwhile: not it.
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // Another user's process, or gone: not visible.
        }
        return false;
    }
}
