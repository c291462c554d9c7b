package io.ringblocks.cli;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import io.ringblocks.client.BlockClient;
import io.ringblocks.client.BlockOperations;
import io.ringblocks.client.ClientOptions;
import io.ringblocks.client.ClusterClient;
import io.ringblocks.client.ClusterOptions;
import io.ringblocks.client.Hash;
import io.ringblocks.client.ListPage;
import io.ringblocks.client.MemberList;
import io.ringblocks.client.RingblocksException;
import io.ringblocks.server.Failures;

/**
 * {@code tools/rbcat HOST:PORT}: a netcat for ringblocks. Reads one command per line from stdin (interactive or
 * piped) and prints one result per command; with {@code --raw} each line is a hex frame sent as is and the
 * response is printed decoded. The exit code is 1 if any command failed or the server failed (refused the connection,
 * dropped it), 2 for bad arguments.
 */
@Command(name = "rbcat", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    sortOptions = false,
    description = "Send ringblocks commands read from stdin, one per line.",
    footer = {"", "Commands:",
        "  put FILE         store FILE (the rest of the line, spaces and all), print its hash (64 hex)",
        "  put -            store the rest of stdin (must be the last command)",
        "  get HASH FILE    write the block to FILE, print 'OK <length>'",
        "  head HASH        print 'OK <length>'",
        "  del HASH         print 'OK'",
        "  stats            print 'name value' lines",
        "  list             print every stored block, 'HASH LENGTH', in hash order",
        "  missing HASH...  print the hashes given that are not stored, one per line",
        "  ping             print 'OK <round trip>'",
        "Errors print 'ERR <STATUS> <message>'. Exit 1 if a command failed or the server could not be reached, 2 on",
        "bad arguments."})
public final class RbCat implements Callable<Integer>
{
    @Parameters(index = "0", arity = "0..1", paramLabel = "HOST:PORT", description = "server address")
    String address;

    @Option(names = "--cluster", paramLabel = "LIST",
        description = "talk to a cluster instead: members host:port[=weight],... (docs/cluster.md)")
    String cluster;

    @Option(names = "--replicas", paramLabel = "R", defaultValue = "2",
        description = "with --cluster: owners per block (default: 2)")
    int replicas;

    @Option(names = "--raw", description = "lines are hex request frames; print decoded responses")
    boolean raw;

    private final InputStream stdin;
    private final PrintStream out;

    RbCat(final InputStream stdin, final PrintStream out)
    {
        this.stdin = stdin;
        this.out = out;
    }

    public static void main(final String[] args)
    {
        System.exit(run(args, System.in, System.out, System.err));
    }

    static int run(final String[] args, final InputStream in, final PrintStream out, final PrintStream err)
    {
        final CommandLine cli = new CommandLine(new RbCat(in, out));
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(out, true));
        cli.setParameterExceptionHandler((e, a) ->
        {
            err.println("rbcat: " + e.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, c, p) ->
        {
            // Bad arguments are usage errors; a server that cannot be reached or drops the connection is not.
            final boolean usage = e instanceof IllegalArgumentException;
            err.println("rbcat: " + Failures.describe(e) + (usage ? " (see --help)" : ""));
            return usage ? 2 : 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() throws Exception
    {
        if ((address == null) == (cluster == null))
        {
            throw new IllegalArgumentException("give either HOST:PORT or --cluster LIST");
        }
        if (cluster != null)
        {
            if (raw)
            {
                throw new IllegalArgumentException("--raw talks to one server, not a --cluster");
            }
            try (ClusterClient client = ClusterClient.connect(ClusterOptions.builder()
                .members(MemberList.parse(cluster)).replicas(replicas).build()))
            {
                return commandMode(client);
            }
        }
        final int colon = address.lastIndexOf(':');
        if (colon <= 0)
        {
            throw new IllegalArgumentException("address must be HOST:PORT: " + address);
        }
        final String host = address.substring(0, colon);
        final int port = Integer.parseInt(address.substring(colon + 1));
        return raw ? rawMode(host, port) : commandMode(host, port);
    }

    private int commandMode(final String host, final int port) throws IOException
    {
        try (BlockClient client = BlockClient.connect(ClientOptions.of(host, port)))
        {
            return commandMode(client);
        }
    }

    private int commandMode(final BlockOperations client) throws IOException
    {
        int failures = 0;
        String line;
        while ((line = readLine()) != null)
        {
            final String[] words = words(line.trim());
            if (words[0].isEmpty() || words[0].startsWith("#"))
            {
                continue;
            }
            try
            {
                if (!execute(client, words))
                {
                    failures++;
                }
            }
            catch (final RingblocksException e)
            {
                out.println("ERR " + e.statusName() + " " + e.getMessage());
                failures++;
            }
            catch (final IOException | IllegalArgumentException e)
            {
                out.println("ERR CLIENT " + e.getMessage());
                failures++;
            }
            out.flush();
        }
        return failures == 0 ? 0 : 1;
    }

    /** A command's words; the last one of {@code put} and {@code get}, a file name, is the rest of the line. */
    static String[] words(final String line)
    {
        final int limit = switch (line.split("\\s+", 2)[0])
        {
            case "put" -> 2;
            case "get" -> 3;
            default -> 0;
        };
        return line.split("\\s+", limit);
    }

    /** Reads a line byte by byte, so that {@code put -} finds the rest of stdin untouched. */
    private String readLine() throws IOException
    {
        final ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = stdin.read()) >= 0 && b != '\n')
        {
            line.write(b);
        }
        if (b < 0 && line.size() == 0)
        {
            return null;
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    private boolean execute(final BlockOperations client, final String[] w) throws IOException
    {
        switch (w[0])
        {
            case "put" ->
            {
                need(w, 2, "put FILE|-");
                final byte[] data = w[1].equals("-") ? stdin.readAllBytes() : Files.readAllBytes(Path.of(w[1]));
                out.println(client.put(data).toHex());
            }
            case "get" ->
            {
                need(w, 3, "get HASH FILE");
                final byte[] data = client.get(Hash.fromHex(w[1]));
                Files.write(Path.of(w[2]), data);
                out.println("OK " + data.length);
            }
            case "head" ->
            {
                need(w, 2, "head HASH");
                final OptionalInt length = client.head(Hash.fromHex(w[1]));
                if (length.isEmpty())
                {
                    out.println("ERR NOT_FOUND no block " + w[1]);
                    return false;
                }
                out.println("OK " + length.getAsInt());
            }
            case "del" ->
            {
                need(w, 2, "del HASH");
                if (!client.delete(Hash.fromHex(w[1])))
                {
                    out.println("ERR NOT_FOUND no block " + w[1]);
                    return false;
                }
                out.println("OK");
            }
            case "stats" ->
            {
                for (final Map.Entry<String, Long> e : client.stats().entrySet())
                {
                    out.println(e.getKey() + " " + e.getValue());
                }
            }
            case "ping" -> out.println("OK " + client.ping().toNanos() / 1000 + "us");
            case "list" ->
            {
                if (!(client instanceof BlockClient one))
                {
                    out.println("ERR CLIENT list walks one server: give its HOST:PORT (for a cluster, rbcluster " +
                        "status)");
                    return false;
                }
                Hash after = null;
                ListPage page;
                do
                {
                    page = one.list(after, ListPage.MAX_LIMIT);
                    for (final ListPage.Entry e : page.entries())
                    {
                        out.println(e.hash().toHex() + " " + e.length());
                    }
                    if (page.more() && after != null && page.next().toHex().compareTo(after.toHex()) <= 0)
                    {
                        out.println("ERR CLIENT the server's LIST cursor did not move past " + after.toHex());
                        return false;
                    }
                    after = page.next();
                }
                while (page.more());
            }
            case "missing" ->
            {
                if (w.length < 2)
                {
                    throw new IllegalArgumentException("usage: missing HASH...");
                }
                final List<Hash> hashes = new ArrayList<>();
                for (int i = 1; i < w.length; i++)
                {
                    hashes.add(Hash.fromHex(w[i]));
                }
                for (final Hash h : client.findMissing(hashes))
                {
                    out.println(h.toHex());
                }
            }
            default ->
            {
                out.println("ERR CLIENT unknown command '" + w[0] +
                    "' (put, get, head, del, stats, ping, list, missing)");
                return false;
            }
        }
        return true;
    }

    private static void need(final String[] words, final int count, final String usage)
    {
        if (words.length != count)
        {
            throw new IllegalArgumentException("usage: " + usage);
        }
    }

    /** A plain socket for --raw, failing with the same words as the client library's connect. */
    private static Socket connect(final String host, final int port) throws IOException
    {
        try
        {
            return new Socket(host, port);
        }
        catch (final IOException e)
        {
            throw new IOException("cannot connect to " + host + ":" + port + ": " + e, e);
        }
    }

    private int rawMode(final String host, final int port) throws IOException
    {
        int failures = 0;
        final HexFormat hex = HexFormat.of();
        try (Socket socket = connect(host, port))
        {
            socket.setSoTimeout(30_000);
            final DataInputStream in = new DataInputStream(socket.getInputStream());
            final BufferedReader lines = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
            String line;
            while ((line = lines.readLine()) != null)
            {
                final String text = line.replaceAll("\\s+", "");
                if (text.isEmpty() || text.startsWith("#"))
                {
                    continue;
                }
                final byte[] frame;
                try
                {
                    frame = hex.parseHex(text);
                }
                catch (final IllegalArgumentException e)
                {
                    out.println("ERR CLIENT not hex: " + e.getMessage());
                    failures++;
                    continue;
                }
                socket.getOutputStream().write(frame);
                final byte[] head = new byte[16];
                try
                {
                    in.readFully(head);
                }
                catch (final IOException e)
                {
                    out.println("ERR CLOSED the server closed the connection");
                    return 1;
                }
                final ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
                final int length = h.getInt(0);
                final byte[] body = new byte[Math.max(0, length - 12)];
                in.readFully(body);
                final int status = h.getShort(6) & 0xFFFF;
                out.println("length=" + length + " version=" + head[4] + " opcode=" + (head[5] & 0xFF) +
                    " status=" + io.ringblocks.wire.Status.name(status) + " id=" + h.getLong(8) +
                    " body=" + hex.formatHex(body));
                out.flush();
                if (status != 0)
                {
                    failures++;
                }
            }
        }
        return failures == 0 ? 0 : 1;
    }
}
