package acksim.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Compares acksim's output directory with the real broker's for one case and appends rows
 * {@code case,metric,acksim,activemq,verdict,note} to a CSV; exit 1 if an exact metric differs
 * or a tolerance is exceeded. {@code Compare --table CSV} pretty-prints such a CSV.
 *
 * <p>Verdicts: {@code ok} (exact match), {@code MISMATCH} (exact metric differs), {@code ~ok} /
 * {@code OUT_OF_TOLERANCE} (timing-dependent metric, within / outside its tolerance),
 * {@code info} (reported, never fails).
 */
public final class Compare {
    /** Must match exactly (issue 3: duplicates, lost, dlq, redelivered, acks by type, deliveries…). */
    static final String[] EXACT = {"produced", "deliveries", "redelivered", "processed", "unique_processed", "duplicates",
        "lost", "dlq", "expired", "in_flight", "acks_total", "acks_standard", "acks_delivered", "acks_individual", "acks_redelivered",
        "acks_poison", "acks_expired", "dispatched"};
    /** Makespan: within max(MAKESPAN_ABS_S, MAKESPAN_REL × acksim). */
    static final double MAKESPAN_ABS_S = 0.3, MAKESPAN_REL = 0.25;
    /** Per-consumer processed counts with several consumers: within max(SHARE_ABS, SHARE_REL × produced). */
    static final double SHARE_ABS = 3, SHARE_REL = 0.10;

    static List<Map<String, String>> read(Path p) throws IOException {
        List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
        List<Map<String, String>> rows = new ArrayList<>();
        String[] h = lines.get(0).split(",", -1);
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String[] f = lines.get(i).split(",", -1);
            Map<String, String> m = new HashMap<>();
            for (int j = 0; j < h.length && j < f.length; j++) {
                m.put(h[j], f[j]);
            }
            rows.add(m);
        }
        return rows;
    }

    static String num(String s) {
        if (s == null) {
            return "";
        }
        try {
            double d = Double.parseDouble(s);
            if (d == Math.rint(d) && Math.abs(d) < 1e15 && !s.contains(".")) {
                return Long.toString((long) d);
            }
            return String.format(Locale.ROOT, "%.3f", d);
        } catch (NumberFormatException e) {
            return s;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--table")) {
            table(Paths.get(args[1]));
            return;
        }
        if (args.length != 4) {
            System.err.println("usage: Compare CASE ACKSIM_DIR ACTIVEMQ_DIR OUT_CSV | Compare --table CSV");
            System.exit(2);
        }
        String name = args[0];
        Path sim = Paths.get(args[1]), real = Paths.get(args[2]), outCsv = Paths.get(args[3]);
        List<String> rows = new ArrayList<>();
        boolean fail = false;
        Map<String, String> s = read(sim.resolve("summary.csv")).get(0);
        Map<String, String> r = read(real.resolve("summary.csv")).get(0);
        for (String m : EXACT) {
            String a = num(s.get(m)), b = num(r.get(m));
            boolean ok = a.equals(b);
            fail |= !ok;
            rows.add(row(name, m, a, b, ok ? "ok" : "MISMATCH", ""));
        }
        double ma = Double.parseDouble(s.get("makespan_s")), mb = Double.parseDouble(r.get("makespan_s"));
        double tol = Math.max(MAKESPAN_ABS_S, MAKESPAN_REL * ma);
        boolean mok = Math.abs(ma - mb) <= tol;
        fail |= !mok;
        rows.add(row(name, "makespan_s", num(s.get("makespan_s")), num(r.get("makespan_s")), mok ? "~ok" : "OUT_OF_TOLERANCE",
                String.format(Locale.ROOT, "tolerance %.3f s", tol)));
        for (String m : new String[] {"stalled", "jain_fairness", "latency_p50_s", "latency_p99_s", "end_s"}) {
            rows.add(row(name, m, num(s.get(m)), num(r.get(m)), "info", ""));
        }
        if ("true".equals(r.get("timed_out"))) {
            fail = true;
            rows.add(row(name, "timed_out", "false", "true", "MISMATCH", "the real run hit its time limit"));
        }
        if (!"0".equals(r.getOrDefault("consumer_errors", "0"))) {
            fail = true;
            rows.add(row(name, "consumer_errors", "0", r.get("consumer_errors"), "MISMATCH", "see notes.txt"));
        }
        List<Map<String, String>> cs = read(sim.resolve("consumers.csv")), cr = read(real.resolve("consumers.csv"));
        Map<String, Map<String, String>> byName = new HashMap<>();
        for (Map<String, String> c : cr) {
            byName.put(c.get("consumer"), c);
        }
        long produced = Long.parseLong(s.get("produced"));
        double shareTol = Math.max(SHARE_ABS, SHARE_REL * produced);
        for (Map<String, String> c : cs) {
            String cn = c.get("consumer");
            Map<String, String> rc = byName.getOrDefault(cn, new HashMap<>());
            String a = num(c.get("crashes")), b = num(rc.get("crashes"));
            fail |= !a.equals(b);
            rows.add(row(name, cn + ".crashes", a, b, a.equals(b) ? "ok" : "MISMATCH", ""));
            if (cs.size() > 1) {
                double pa = Double.parseDouble(c.get("processed"));
                double pb = rc.containsKey("processed") ? Double.parseDouble(rc.get("processed")) : Double.NaN;
                boolean ok = Math.abs(pa - pb) <= shareTol;
                fail |= !ok;
                rows.add(row(name, cn + ".processed", num(c.get("processed")), num(rc.get("processed")),
                        ok ? "~ok" : "OUT_OF_TOLERANCE", String.format(Locale.ROOT, "tolerance %.0f", shareTol)));
                for (String m : new String[] {"deliveries", "redelivered", "acks_sent"}) {
                    rows.add(row(name, cn + "." + m, num(c.get(m)), num(rc.get(m)), "info", ""));
                }
            }
            rows.add(row(name, cn + ".busy_s", num(c.get("busy_s")), num(rc.get("busy_s")), "info", ""));
        }
        if (!Files.exists(outCsv)) {
            Files.write(outCsv, List.of("case,metric,acksim,activemq,verdict,note"), StandardCharsets.UTF_8);
        }
        Files.write(outCsv, rows, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        System.exit(fail ? 1 : 0);
    }

    static String row(String... f) {
        return String.join(",", f);
    }

    /** Pretty-prints a comparison CSV; failures are marked with `!!`. */
    static void table(Path csv) throws IOException {
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        List<String[]> rows = new ArrayList<>();
        for (String l : lines) {
            if (!l.isBlank()) {
                rows.add(l.split(",", -1));
            }
        }
        int cols = 6;
        int[] w = new int[cols];
        for (String[] r : rows) {
            for (int i = 0; i < cols && i < r.length; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        String prev = null;
        for (String[] r : rows) {
            if (prev != null && !prev.equals(r[0]) && !prev.equals("case")) {
                sb.append('\n');
            }
            prev = r[0];
            boolean bad = r.length > 4 && (r[4].equals("MISMATCH") || r[4].equals("OUT_OF_TOLERANCE") || r[4].equals("ERROR"));
            sb.append(bad ? "!! " : "   ");
            for (int i = 0; i < cols && i < r.length; i++) {
                sb.append(String.format("%-" + (w[i] + 2) + "s", r[i]));
            }
            sb.append('\n');
        }
        System.out.print(sb);
    }
}
