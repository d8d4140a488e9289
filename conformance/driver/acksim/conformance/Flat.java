package acksim.conformance;

import java.io.FileReader;
import java.io.IOException;
import java.io.Reader;
import java.util.Properties;

/** The scenario as `acksim check --flat` prints it: Java-properties lines. */
final class Flat {
    private final Properties p = new Properties();
    final String path;

    Flat(String path) throws IOException {
        this.path = path;
        try (Reader r = new FileReader(path)) {
            p.load(r);
        }
    }

    String str(String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalArgumentException(path + ": missing key " + key);
        }
        return v.trim();
    }

    String str(String key, String dflt) {
        String v = p.getProperty(key);
        return v == null ? dflt : v.trim();
    }

    long lng(String key) {
        return Long.parseLong(str(key));
    }

    int integer(String key) {
        return Integer.parseInt(str(key));
    }

    double dbl(String key) {
        return Double.parseDouble(str(key));
    }

    boolean bool(String key) {
        return Boolean.parseBoolean(str(key));
    }

    /** Whether `acksim check --flat` printed this key at all. */
    boolean has(String key) {
        return p.getProperty(key) != null;
    }

    /** A duration in ns, empty = null. */
    Long optNs(String key) {
        String v = str(key, "");
        return v.isEmpty() ? null : Long.valueOf(v);
    }

    /** `constant:<ns>` → ns; any other distribution is outside the harness's subset. */
    long constantNs(String key) {
        String v = str(key);
        if (!v.startsWith("constant:")) {
            throw new Unsupported(key + "=" + v + " (only constant processing times are reproducible on a real broker)");
        }
        return Long.parseLong(v.substring("constant:".length()));
    }

    static final class Unsupported extends RuntimeException {
        Unsupported(String m) {
            super("unsupported by the conformance driver: " + m);
        }
    }
}
