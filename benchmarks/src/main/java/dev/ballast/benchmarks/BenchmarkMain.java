package dev.ballast.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Runs JMH with the JVM flags every Ballast JVM needs (the parent POM's {@code ballast.jvmFlags},
 * filtered into {@code benchmark-jvm.properties} at build time) appended to every fork:
 * <pre>
 *   mvn -o -q -pl benchmarks -am verify
 *   java -jar benchmarks/target/benchmarks.jar JournalWriteBenchmark -p waitStrategy=SLEEPING,BLOCKING,YIELDING
 * </pre>
 * Any JMH option works; a {@code -jvmArgsAppend} given on the command line is kept and extended.
 * With {@code -f 0} the benchmarks run in this JVM, which then needs the flags itself.
 */
public final class BenchmarkMain {
    private BenchmarkMain() {}

    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(withJvmFlags(args, jvmFlags()));
    }

    static String[] withJvmFlags(String[] args, String flags) {
        List<String> out = new ArrayList<>();
        boolean merged = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-jvmArgsAppend") && i + 1 < args.length) {
                out.add(args[i]);
                out.add(args[++i] + " " + flags);
                merged = true;
            } else {
                out.add(args[i]);
            }
        }
        if (!merged && !flags.isBlank()) {
            out.add("-jvmArgsAppend");
            out.add(flags);
        }
        return out.toArray(String[]::new);
    }

    static String jvmFlags() throws IOException {
        Properties p = new Properties();
        try (InputStream in = BenchmarkMain.class.getResourceAsStream("/benchmark-jvm.properties")) {
            if (in != null) p.load(in);
        }
        return p.getProperty("jvmFlags", "").trim();
    }
}
