package io.ringblocks.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine;

/**
 * {@code --version} of every tool: the project version Maven records in the jar
 * ({@code META-INF/maven/io.ringblocks/ringblocks/pom.properties}), so it is defined once, in pom.xml; "dev" when
 * running from a class directory.
 */
public final class VersionProvider implements CommandLine.IVersionProvider
{
    private static final String POM_PROPERTIES = "/META-INF/maven/io.ringblocks/ringblocks/pom.properties";

    @Override
    public String[] getVersion()
    {
        return new String[]{"ringblocks " + version()};
    }

    /** @return the project version, or "dev". */
    static String version()
    {
        try (InputStream in = VersionProvider.class.getResourceAsStream(POM_PROPERTIES))
        {
            if (in == null)
            {
                return "dev";
            }
            final Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "dev");
        }
        catch (final IOException e)
        {
            return "dev";
        }
    }
}
