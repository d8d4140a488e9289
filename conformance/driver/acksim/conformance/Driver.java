package acksim.conformance;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.broker.BrokerPlugin;
import org.apache.activemq.broker.BrokerService;
import org.apache.activemq.broker.TransportConnector;
import org.apache.activemq.broker.region.Destination;
import org.apache.activemq.broker.region.policy.PolicyEntry;
import org.apache.activemq.broker.region.policy.PolicyMap;
import org.apache.activemq.command.ActiveMQDestination;
import org.apache.activemq.command.ActiveMQMessage;
import org.apache.activemq.command.ActiveMQQueue;
import org.apache.activemq.command.MessageAck;

/**
 * Runs one flattened scenario (`acksim check --flat`) on a real, embedded ActiveMQ broker and
 * writes summary.csv / consumers.csv with acksim's column names and definitions, plus
 * trace.csv (every consumer event, ack and dispatch, time relative to the run's t0) and
 * drained.csv (what was left in the queue and the DLQ).
 *
 * <p>Usage: {@code Driver FLAT_FILE OUT_DIR [HARD_LIMIT_S]}.
 */
public final class Driver {
    static final String DLQ = "ActiveMQ.DLQ";

    /** One consumer instance (c-0, c-1, …) across its incarnations (JVM processes). */
    static final class Instance {
        final int index;
        final String name;
        final String crash;
        final Long restartAfterNs;
        final long processingNs;
        final Path log;
        Process proc;
        int incarnations;
        boolean crashFired;
        volatile boolean ready;
        boolean killedByUs;
        Long goAtMicros; // a restart waiting to subscribe at this time
        boolean goSent;
        long restartPendingSince = -1;

        Instance(int index, String name, String crash, Long restartAfterNs, long processingNs, Path log) {
            this.index = index;
            this.name = name;
            this.crash = crash;
            this.restartAfterNs = restartAfterNs;
            this.processingNs = processingNs;
            this.log = log;
        }
    }

    /** A parsed consumer log line. */
    static final class Ev {
        final int instance;
        final char kind;
        final long micros;
        final String[] f;

        Ev(int instance, char kind, long micros, String[] f) {
            this.instance = instance;
            this.kind = kind;
            this.micros = micros;
            this.f = f;
        }

        int seq() {
            return Integer.parseInt(f[2]);
        }
    }

    private final Flat flat;
    private final Path out;
    private final Path work;
    private final String name;
    private final ActiveMQQueue queue = new ActiveMQQueue(ConsumerMain.QUEUE);
    private BrokerService broker;
    private Recorder recorder;
    private String clientUrl;
    private final List<Instance> instances = new ArrayList<>();
    private long t0Micros;
    private final Map<Integer, Long> sentAtMicros = new HashMap<>();
    private int produced;
    private boolean timedOut;
    private final List<String> notes = new ArrayList<>();

    Driver(Flat flat, Path out) throws IOException {
        this.flat = flat;
        this.out = out;
        this.work = out.resolve("work");
        Files.createDirectories(work);
        this.name = flat.str("name");
    }

    // ----------------------------------------------------------------------------------
    // Validation of the supported subset.

    /**
     * Keys `checkSupported()` and the real run read. An acksim whose `check --flat` does not
     * print one of them cannot show the driver that setting, so the case is refused rather than
     * run with the setting silently at its default.
     */
    static final String[] REQUIRED_KEYS = {"broker.flavor", "broker.destination.kind", "broker.slow_consumer", "broker.crash",
        "broker.persist_jms_redelivered", "broker.prioritized_messages", "broker.expire_messages_period_ns"};
    static final String[] REQUIRED_PRODUCER_KEYS = {"persistent", "send.mode", "send.timeout_ns", "send.retries", "send.failover",
        "faults.request_loss", "faults.response_loss", "faults.slow_broker.probability", "priority", "groups", "time_to_live_ns"};
    static final String[] REQUIRED_CONSUMER_KEYS = {"priority", "exclusive", "idempotent", "consumer_expiry_check_enabled",
        "message_priority_supported"};

    void requireKey(String key) {
        if (!flat.has(key)) {
            throw new Flat.Unsupported("acksim check --flat printed no " + key
                    + " (an acksim older than the driver: the setting would be invisible to the real run)");
        }
    }

    /**
     * Refuses every setting the real run cannot reproduce, keyed on what `acksim check --flat`
     * prints.
     */
    void checkSupported() {
        for (String k : REQUIRED_KEYS) {
            requireKey(k);
        }
        for (int i = 0; i < flat.integer("producers.count"); i++) {
            for (String k : REQUIRED_PRODUCER_KEYS) {
                requireKey("producers." + i + "." + k);
            }
        }
        for (int i = 0; i < flat.integer("consumers.count"); i++) {
            for (String k : REQUIRED_CONSUMER_KEYS) {
                requireKey("consumers." + i + "." + k);
            }
        }
        String kind = flat.str("broker.destination.kind");
        if (!kind.equals("queue")) {
            throw new Flat.Unsupported("broker.destination.kind=" + kind + " (the driver runs one queue; topics are not reproduced)");
        }
        String brokerCrash = flat.str("broker.crash");
        if (!brokerCrash.equals("none")) {
            throw new Flat.Unsupported("broker.crash=" + brokerCrash + " (a broker crash and store recovery are not reproduced)");
        }
        if (flat.bool("broker.persist_jms_redelivered")) {
            throw new Flat.Unsupported("broker.persist_jms_redelivered=true (only meaningful with a broker crash, not reproduced)");
        }
        if (flat.bool("broker.prioritized_messages")) {
            throw new Flat.Unsupported("broker.prioritized_messages=true (priority dispatch in the broker is not reproduced)");
        }
        if (flat.integer("producers.count") != 1) {
            throw new Flat.Unsupported("producers.count=" + flat.str("producers.count") + " (exactly one producer)");
        }
        String arrival = flat.str("producers.0.arrival");
        if (!arrival.equals("burst") && !arrival.startsWith("constant:")) {
            throw new Flat.Unsupported("arrival " + arrival + " (burst or constant only)");
        }
        String p = "producers.0.";
        if (!flat.bool(p + "persistent")) {
            throw new Flat.Unsupported(p + "persistent=false (the driver sends PERSISTENT messages; non-persistent ones are not DLQ'd, A4.2)");
        }
        String sendMode = flat.str(p + "send.mode");
        if (!sendMode.equals("sync")) {
            throw new Flat.Unsupported(p + "send.mode=" + sendMode + " (only synchronous sends are reproduced)");
        }
        if (flat.lng(p + "send.timeout_ns") != 0) {
            throw new Flat.Unsupported(p + "send.timeout (send timeouts are not reproduced)");
        }
        if (flat.integer(p + "send.retries") != 0) {
            throw new Flat.Unsupported(p + "send.retries (application resends are not reproduced)");
        }
        if (flat.bool(p + "send.failover")) {
            throw new Flat.Unsupported(p + "send.failover=true (the failover transport is not reproduced)");
        }
        for (String f : new String[] {"faults.request_loss", "faults.response_loss", "faults.slow_broker.probability"}) {
            if (flat.dbl(p + f) != 0.0) {
                throw new Flat.Unsupported(p + f + "=" + flat.str(p + f) + " (random send faults are not reproduced)");
            }
        }
        if (flat.integer(p + "priority") != 4) {
            throw new Flat.Unsupported(p + "priority=" + flat.str(p + "priority") + " (message priority is not reproduced)");
        }
        if (flat.lng(p + "time_to_live_ns") % 1_000_000L != 0) {
            throw new Flat.Unsupported(p + "time_to_live not a whole number of ms (JMS timeToLive is in ms)");
        }
        if (flat.lng("broker.expire_messages_period_ns") % 1_000_000L != 0) {
            throw new Flat.Unsupported("broker.expire_messages_period not a whole number of ms");
        }
        String flavor = flat.str("broker.flavor");
        if (!flavor.equals("activemq")) {
            throw new Flat.Unsupported("broker.flavor=" + flavor + " (the real broker here is ActiveMQ)");
        }
        String slow = flat.str("broker.slow_consumer");
        if (!slow.equals("none")) {
            throw new Flat.Unsupported("broker.slow_consumer=" + slow + " (slow-consumer strategies are not reproduced)");
        }
        int n = flat.integer("consumers.count");
        for (int i = 0; i < n; i++) {
            String c = "consumers." + i + ".";
            flat.constantNs(c + "processing");
            if (flat.dbl(c + "failures.probability") != 0.0) {
                throw new Flat.Unsupported(c + "failures.probability (random failures; use failures.poison)");
            }
            if (flat.lng(c + "start_at_ns") != 0) {
                throw new Flat.Unsupported(c + "start_at (consumers subscribe before the producer starts)");
            }
            if (flat.integer(c + "prefetch") == 0 && flat.str(c + "delivery").equals("listener")) {
                throw new Flat.Unsupported(c + "prefetch 0 with a listener (the real client rejects it)");
            }
            String idempotent = flat.str(c + "idempotent");
            if (!idempotent.equals("none")) {
                throw new Flat.Unsupported(c + "idempotent=" + idempotent + " (an idempotent consumer's store is not reproduced)");
            }
            if (!flat.bool(c + "consumer_expiry_check_enabled")) {
                throw new Flat.Unsupported(c + "consumer_expiry_check_enabled=false (not reproduced)");
            }
            if (flat.bool(c + "message_priority_supported")) {
                throw new Flat.Unsupported(c + "message_priority_supported=true (client-side priority ordering is not reproduced)");
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Broker.

    void startBroker() throws Exception {
        broker = new BrokerService();
        broker.setBrokerName("acksim");
        broker.setPersistent(false);
        broker.setUseJmx(false);
        broker.setUseShutdownHook(false);
        broker.setAdvisorySupport(false);
        broker.setSchedulerSupport(false);
        PolicyEntry entry = new PolicyEntry();
        entry.setUsePrefetchExtension(flat.bool("broker.use_prefetch_extension"));
        // PolicyEntry.expireMessagesPeriod (A10.1): the broker's periodic expiry sweep.
        entry.setExpireMessagesPeriod(flat.lng("broker.expire_messages_period_ns") / 1_000_000L);
        PolicyMap map = new PolicyMap();
        map.setDefaultEntry(entry);
        broker.setDestinationPolicy(map);
        broker.setPlugins(new BrokerPlugin[] {next -> recorder = new Recorder(next, queue)});
        TransportConnector tc = broker.addConnector("tcp://127.0.0.1:0?transport.tcpNoDelay=true");
        broker.start();
        broker.waitUntilStarted();
        int port = tc.getServer().getSocketAddress().getPort();
        clientUrl = "tcp://127.0.0.1:" + port + "?tcpNoDelay=true";
        // Create the queue now, so its statistics exist before anyone subscribes.
        broker.getRegionBroker().addDestination(broker.getAdminConnectionContext(), queue, true);
    }

    Destination dest(ActiveMQDestination d) {
        return broker.getRegionBroker().getDestinationMap().get(d);
    }

    int subscriptions() {
        Destination d = dest(queue);
        return d == null ? 0 : d.getConsumers().size();
    }

    // ----------------------------------------------------------------------------------
    // Consumer processes.

    void spawn(Instance in, boolean crashEnabled) throws IOException {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(Arrays.asList(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Xss512k", "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                "acksim.conformance.ConsumerMain", clientUrl, flat.path, Integer.toString(in.index),
                in.log.toString(), crashEnabled ? "1" : "0"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(work.resolve(in.name + "." + in.incarnations + ".stderr").toFile());
        in.incarnations++;
        in.ready = false;
        in.goSent = false;
        in.killedByUs = false;
        in.proc = pb.start();
        final Process p = in.proc;
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals("READY")) {
                        in.ready = true;
                    }
                }
            } catch (IOException e) {
                // process gone
            }
        });
        t.setDaemon(true);
        t.start();
    }

    void go(Instance in) throws IOException {
        Writer w = new OutputStreamWriter(in.proc.getOutputStream(), StandardCharsets.UTF_8);
        w.write("go\n");
        w.flush();
        in.goSent = true;
    }

    static void waitFor(String what, long timeoutMs, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    // ----------------------------------------------------------------------------------
    // Logs.

    List<Ev> readLogs() throws IOException {
        List<Ev> evs = new ArrayList<>();
        for (Instance in : instances) {
            if (!Files.exists(in.log)) {
                continue;
            }
            for (String line : Files.readAllLines(in.log, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split(" ", -1);
                if (f.length < 2) {
                    continue; // a line cut by the SIGKILL
                }
                try {
                    evs.add(new Ev(in.index, f[0].charAt(0), Long.parseLong(f[1]), f));
                } catch (NumberFormatException e) {
                    // a line cut by the SIGKILL
                }
            }
        }
        evs.sort((a, b) -> Long.compare(a.micros, b.micros));
        return evs;
    }

    long logBytes() {
        long n = 0;
        for (Instance in : instances) {
            n += in.log.toFile().length();
        }
        return n;
    }

    // ----------------------------------------------------------------------------------
    // The run.

    long quietPeriodMs() {
        String r = "broker.redelivery.";
        long initial = flat.lng(r + "initial_redelivery_delay_ns") / 1_000_000L;
        long delay = flat.lng(r + "redelivery_delay_ns") / 1_000_000L;
        long maxDelay = Math.max(initial, delay);
        if (flat.bool(r + "use_exponential_backoff")) {
            double d = Math.max(initial, delay);
            for (int i = 0; i < Math.max(0, flat.integer(r + "maximum_redeliveries")); i++) {
                d *= flat.dbl(r + "backoff_multiplier");
            }
            maxDelay = (long) Math.min(d, 3_600_000);
            long cap = flat.lng(r + "maximum_redelivery_delay_ns");
            if (cap > 0) {
                maxDelay = Math.min(maxDelay, cap / 1_000_000L);
            }
        }
        long maxProc = 0;
        for (Instance in : instances) {
            maxProc = Math.max(maxProc, in.processingNs / 1_000_000L);
        }
        return Math.max(800, Math.max(maxDelay + 600, 3 * maxProc + 400));
    }

    void run(double hardLimitS) throws Exception {
        checkSupported();
        startBroker();
        int n = flat.integer("consumers.count");
        for (int i = 0; i < n; i++) {
            String c = "consumers." + i + ".";
            Instance in = new Instance(i, flat.str(c + "name"), flat.str(c + "crash"), flat.optNs(c + "crash.restart_after_ns"),
                    flat.constantNs(c + "processing"), work.resolve(flat.str(c + "name") + ".log"));
            Files.deleteIfExists(in.log);
            instances.add(in);
        }
        // Every JVM starts at once; they subscribe one after the other, in index order, as
        // acksim's consumers do (the broker's consumer list order decides dispatch).
        for (Instance in : instances) {
            spawn(in, !in.crash.equals("none"));
        }
        for (Instance in : instances) {
            waitFor(in.name + " READY", 60_000, () -> in.ready || !in.proc.isAlive());
            if (!in.proc.isAlive()) {
                throw new IllegalStateException(in.name + " died at start; see " + work);
            }
        }
        for (Instance in : instances) {
            int expect = subscriptions() + 1;
            go(in);
            waitFor(in.name + " subscription", 30_000, () -> subscriptions() >= expect);
        }
        long startAtNs = flat.lng("producers.0.start_at_ns");
        long wallStart = System.nanoTime();
        t0Micros = ConsumerMain.nowMicros();
        // The scenario's time 0 is when the consumers start; subscriptions take ~0.1 ms in acksim.
        Thread producer = new Thread(() -> {
            try {
                produce(startAtNs);
            } catch (Exception e) {
                e.printStackTrace();
                System.exit(1);
            }
        }, "producer");
        producer.start();

        int total = flat.integer("producers.0.messages");
        long quietMs = quietPeriodMs();
        long hardLimitMs = (long) (hardLimitS * 1000);
        long lastBytes = -1;
        long lastChange = System.nanoTime();
        Set<Integer> uniqueProcessed = new HashSet<>();
        for (;;) {
            Thread.sleep(10);
            long now = System.nanoTime();
            long bytes = logBytes();
            if (bytes != lastBytes) {
                lastBytes = bytes;
                lastChange = now;
                uniqueProcessed.clear();
                for (Ev e : readLogs()) {
                    if (e.kind == 'P') {
                        uniqueProcessed.add(e.seq());
                    }
                }
            }
            long nowMicros = ConsumerMain.nowMicros();
            boolean restartPending = false;
            for (Instance in : instances) {
                // crash.at: T — the driver kills the process at t0 + T.
                if (in.crash.startsWith("at:") && !in.crashFired && in.proc.isAlive()) {
                    long atMicros = t0Micros + Long.parseLong(in.crash.substring(3)) / 1000;
                    if (nowMicros >= atMicros) {
                        in.killedByUs = true;
                        in.proc.destroyForcibly().waitFor();
                        Files.write(in.log, ("K " + ConsumerMain.nowMicros() + "\n").getBytes(StandardCharsets.UTF_8),
                                java.nio.file.StandardOpenOption.APPEND, java.nio.file.StandardOpenOption.CREATE);
                    }
                }
                if (!in.proc.isAlive() && in.goAtMicros == null && !in.crashFired) {
                    // The process died: its own SIGKILL (a crash point) or ours (crash.at).
                    in.crashFired = true;
                    long killedAt = lastKill(in);
                    if (killedAt < 0) {
                        throw new IllegalStateException(in.name + " exited unexpectedly (rc " + in.proc.exitValue()
                                + "); see " + work);
                    }
                    if (in.restartAfterNs != null) {
                        in.goAtMicros = killedAt + in.restartAfterNs / 1000;
                        spawn(in, false);
                    }
                } else if (!in.proc.isAlive() && in.goAtMicros == null && in.crashFired && !in.killedByUs) {
                    if (lastKill(in) < 0 || in.incarnations > 1) {
                        throw new IllegalStateException(in.name + " exited unexpectedly; see " + work);
                    }
                }
                if (in.goAtMicros != null) {
                    restartPending = true;
                    if (!in.goSent && in.ready && nowMicros >= in.goAtMicros) {
                        if (nowMicros - in.goAtMicros > 50_000) {
                            notes.add(in.name + " restarted " + (nowMicros - in.goAtMicros) / 1000 + " ms late (JVM start)");
                        }
                        go(in);
                        in.goAtMicros = null;
                        lastChange = now;
                    } else if (!in.proc.isAlive()) {
                        throw new IllegalStateException(in.name + " restart died; see " + work);
                    }
                }
            }
            long quiet = (now - Math.max(lastChange, recorder.lastActivityNanos())) / 1_000_000L;
            boolean fated = producedSoFar() == total && uniqueProcessed.size() + recorder.poisoned() >= total;
            boolean pendingCrash = false;
            for (Instance in : instances) {
                if (in.crash.startsWith("at:") && !in.crashFired) {
                    pendingCrash = true;
                }
            }
            if (!restartPending && !pendingCrash && producedSoFar() == total) {
                if (fated && quiet >= 300) {
                    break;
                }
                if (quiet >= quietMs) {
                    break;
                }
            }
            if ((now - wallStart) / 1_000_000L > hardLimitMs) {
                timedOut = true;
                notes.add("hard time limit " + hardLimitS + " s reached");
                break;
            }
        }
        producer.join();
        // 1. Snapshot the broker's counters, 2. SIGKILL the consumers (a clean close would send
        // acks acksim does not model), 3. drain what is left.
        recorder.freeze();
        for (Instance in : instances) {
            if (in.proc.isAlive()) {
                in.proc.destroyForcibly();
            }
        }
        for (Instance in : instances) {
            in.proc.waitFor();
        }
        waitFor("the broker to drop the killed consumers", 30_000, () -> subscriptions() == 0);
        List<Ev> evs = readLogs();
        List<String[]> drained = new ArrayList<>();
        drain(ConsumerMain.QUEUE, drained);
        drain(DLQ, drained);
        writeResults(evs, drained);
        broker.stop();
        broker.waitUntilStopped();
    }

    private volatile int producedCount;

    int producedSoFar() {
        return producedCount;
    }

    /** Epoch micros of the last K line of this instance's log, -1 if none. */
    long lastKill(Instance in) throws IOException {
        long t = -1;
        for (Ev e : readLogs()) {
            if (e.instance == in.index && e.kind == 'K') {
                t = e.micros;
            }
        }
        return t;
    }

    void produce(long startAtNs) throws Exception {
        long startMicros = t0Micros + startAtNs / 1000;
        while (ConsumerMain.nowMicros() < startMicros) {
            Thread.sleep(0, 100_000);
        }
        int total = flat.integer("producers.0.messages");
        String arrival = flat.str("producers.0.arrival");
        ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory("vm://acksim?create=false");
        cf.setWatchTopicAdvisories(false);
        Connection conn = cf.createConnection();
        conn.start();
        boolean burst = arrival.equals("burst");
        // A burst is one transaction: all messages become available to the queue at once, as
        // acksim's burst accepts them all at the same instant.
        Session s = conn.createSession(burst, burst ? Session.SESSION_TRANSACTED : Session.AUTO_ACKNOWLEDGE);
        MessageProducer p = s.createProducer(queue);
        p.setDeliveryMode(DeliveryMode.PERSISTENT); // non-persistent poison messages are dropped, not DLQ'd
        // JMSExpiration = send time + timeToLive (A10.1), both on the wall clock.
        p.setTimeToLive(flat.lng("producers.0.time_to_live_ns") / 1_000_000L);
        long intervalNs = burst ? 0 : Long.parseLong(arrival.substring("constant:".length()));
        // Message groups (A7.6): the k-th message (k from 0) carries JMSXGroupID number
        // k mod groups, no JMSXGroupSeq, as acksim's `group_of` numbers them.
        int groups = flat.integer("producers.0.groups");
        long base = System.nanoTime();
        for (int seq = 1; seq <= total; seq++) {
            if (!burst) {
                long due = base + (seq - 1) * intervalNs;
                ConsumerMain.sleepNs(due - System.nanoTime());
            }
            TextMessage m = s.createTextMessage("acksim message " + seq);
            m.setIntProperty("seq", seq);
            if (groups > 0) {
                m.setStringProperty("JMSXGroupID", "group-" + ((seq - 1) % groups));
            }
            p.send(m);
            sentAtMicros.put(seq, ConsumerMain.nowMicros());
            if (!burst) {
                producedCount = seq;
            }
        }
        if (burst) {
            s.commit();
            long t = ConsumerMain.nowMicros();
            for (int seq = 1; seq <= total; seq++) {
                sentAtMicros.put(seq, t);
            }
            producedCount = total;
        }
        produced = total;
        conn.close();
    }

    /**
     * destination, seq, redelivered, redelivery counter, expired (1 when the broker dead-lettered
     * it because it expired: RegionBroker.messageExpired's cause "Message Expired", A10.1).
     */
    static String[] drainedRow(String dest, Message m) throws javax.jms.JMSException {
        String cause = m.getStringProperty(ActiveMQMessage.DLQ_DELIVERY_FAILURE_CAUSE_PROPERTY);
        boolean expired = dest.equals(DLQ) && cause != null && cause.contains("Message Expired");
        return new String[] {dest, Integer.toString(m.getIntProperty("seq")), m.getJMSRedelivered() ? "1" : "0",
                Integer.toString(((ActiveMQMessage) m).getRedeliveryCounter()), expired ? "1" : "0"};
    }

    void drain(String dest, List<String[]> drained) throws Exception {
        ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory("vm://acksim?create=false");
        cf.setWatchTopicAdvisories(false);
        Connection conn = cf.createConnection();
        conn.start();
        Session s = conn.createSession(false, Session.AUTO_ACKNOWLEDGE);
        ActiveMQQueue q = new ActiveMQQueue(dest);
        Destination d = dest(q);
        long expected = d == null ? 0 : d.getDestinationStatistics().getMessages().getCount();
        MessageConsumer c = s.createConsumer(q);
        long got = 0;
        while (got < expected) {
            Message m = c.receive(2000);
            if (m == null) {
                notes.add("drain of " + dest + " got " + got + " of " + expected + " messages");
                break;
            }
            got++;
            drained.add(drainedRow(dest, m));
        }
        Message extra = c.receive(100);
        if (extra != null) {
            notes.add("drain of " + dest + ": more messages than its statistics said");
            drained.add(drainedRow(dest, extra));
            while ((extra = c.receive(100)) != null) {
                drained.add(drainedRow(dest, extra));
            }
        }
        conn.close();
    }

    // ----------------------------------------------------------------------------------
    // Metrics, with acksim's definitions (README "What the numbers mean", contract.md).

    static String sec(double s) {
        return String.format(Locale.ROOT, "%.6f", s);
    }

    void writeResults(List<Ev> evs, List<String[]> drained) throws IOException {
        int n = instances.size();
        Map<String, Integer> instanceOfConsumerId = new HashMap<>();
        long[] deliveries = new long[n], redelivered = new long[n], processed = new long[n], dups = new long[n],
                acksSent = new long[n], crashes = new long[n], dispatchedBy = new long[n];
        double[] busy = new double[n];
        Long[] deliveredAt = new Long[n];
        Set<Integer> seen = new HashSet<>();
        Map<Integer, Long> firstProcessedAt = new HashMap<>();
        long lastProcessed = t0Micros;
        long lastEvent = t0Micros;
        long totalDeliveries = 0, totalRedelivered = 0, totalProcessed = 0;
        List<String> errors = new ArrayList<>();
        for (Ev e : evs) {
            int i = e.instance;
            lastEvent = Math.max(lastEvent, e.micros);
            switch (e.kind) {
                case 'S':
                    instanceOfConsumerId.put(e.f[2], i);
                    break;
                case 'D':
                    deliveries[i]++;
                    totalDeliveries++;
                    if (e.f[3].equals("1")) {
                        redelivered[i]++;
                        totalRedelivered++;
                    }
                    deliveredAt[i] = e.micros;
                    break;
                case 'P': {
                    processed[i]++;
                    totalProcessed++;
                    int seq = e.seq();
                    if (!seen.add(seq)) {
                        dups[i]++;
                    } else {
                        firstProcessedAt.put(seq, e.micros);
                    }
                    lastProcessed = Math.max(lastProcessed, e.micros);
                    if (deliveredAt[i] != null) {
                        busy[i] += (e.micros - deliveredAt[i]) / 1e6;
                        deliveredAt[i] = null;
                    }
                    break;
                }
                case 'F':
                    if (deliveredAt[i] != null) {
                        busy[i] += (e.micros - deliveredAt[i]) / 1e6;
                        deliveredAt[i] = null;
                    }
                    break;
                case 'K':
                    crashes[i]++;
                    if (deliveredAt[i] != null) {
                        busy[i] += (e.micros - deliveredAt[i]) / 1e6;
                        deliveredAt[i] = null;
                    }
                    break;
                case 'E':
                    errors.add(instances.get(i).name + ": " + String.join(" ", Arrays.copyOfRange(e.f, 2, e.f.length)));
                    break;
                default:
                    break;
            }
        }
        List<Recorder.Ack> acks = recorder.acks();
        List<Recorder.Dispatch> dispatches = recorder.dispatches();
        long[] ackByType = new long[8];
        long rejected = 0;
        for (Recorder.Ack a : acks) {
            if (a.type >= 0 && a.type < ackByType.length) {
                ackByType[a.type]++;
            }
            if (a.rejected) {
                rejected++;
            }
            Integer i = instanceOfConsumerId.get(a.consumerId);
            if (i != null) {
                acksSent[i]++;
            }
            lastEvent = Math.max(lastEvent, a.micros);
        }
        for (Recorder.Dispatch d : dispatches) {
            Integer i = instanceOfConsumerId.get(d.consumerId);
            if (i != null) {
                dispatchedBy[i]++;
            }
            lastEvent = Math.max(lastEvent, d.micros);
        }
        Set<Integer> inQueue = new TreeSet<>(), inDlq = new TreeSet<>(), expired = new TreeSet<>();
        int dlqProcessed = 0;
        for (String[] d : drained) {
            int seq = Integer.parseInt(d[1]);
            if (d[0].equals(DLQ)) {
                if (seen.contains(seq)) {
                    dlqProcessed++;
                } else if (d[4].equals("1")) {
                    // acksim counts an expired message under `expired`, its DLQ copy being a
                    // by-product (docs/contract-additions-queue.md, census decision).
                    expired.add(seq);
                } else {
                    inDlq.add(seq);
                }
            } else if (!seen.contains(seq)) {
                inQueue.add(seq);
            }
        }
        int unique = seen.size();
        long lost = produced - unique - inDlq.size() - expired.size() - inQueue.size();
        double makespan = (lastProcessed - t0Micros) / 1e6;
        double sumX = 0, sumX2 = 0;
        for (long p : processed) {
            sumX += p;
            sumX2 += (double) p * p;
        }
        double jain = sumX2 == 0 ? 1.0 : sumX * sumX / (n * sumX2);
        List<Double> lat = new ArrayList<>();
        for (Map.Entry<Integer, Long> e : firstProcessedAt.entrySet()) {
            Long sent = sentAtMicros.get(e.getKey());
            if (sent != null) {
                lat.add((e.getValue() - sent) / 1e6);
            }
        }
        lat.sort(Double::compare);
        LinkedHashMap<String, String> row = new LinkedHashMap<>();
        row.put("scenario", name);
        row.put("seed", flat.str("seed"));
        row.put("produced", Integer.toString(produced));
        row.put("dispatched", Integer.toString(dispatches.size()));
        row.put("deliveries", Long.toString(totalDeliveries));
        row.put("redelivered", Long.toString(totalRedelivered));
        row.put("processed", Long.toString(totalProcessed));
        row.put("unique_processed", Integer.toString(unique));
        row.put("duplicates", Long.toString(totalProcessed - unique));
        row.put("lost", Long.toString(lost));
        row.put("dlq", Integer.toString(inDlq.size()));
        row.put("expired", Integer.toString(expired.size()));
        row.put("in_flight", Integer.toString(inQueue.size()));
        row.put("acks_total", Integer.toString(acks.size()));
        row.put("acks_standard", Long.toString(ackByType[MessageAck.STANDARD_ACK_TYPE]));
        row.put("acks_delivered", Long.toString(ackByType[MessageAck.DELIVERED_ACK_TYPE]));
        row.put("acks_individual", Long.toString(ackByType[MessageAck.INDIVIDUAL_ACK_TYPE]));
        row.put("acks_redelivered", Long.toString(ackByType[MessageAck.REDELIVERED_ACK_TYPE]));
        row.put("acks_poison", Long.toString(ackByType[MessageAck.POISON_ACK_TYPE]));
        row.put("acks_expired", Long.toString(ackByType[MessageAck.EXPIRED_ACK_TYPE]));
        row.put("acks_rejected", Long.toString(rejected));
        row.put("stalled", Boolean.toString(!inQueue.isEmpty()));
        row.put("idle_with_backlog_s", "");
        row.put("jain_fairness", String.format(Locale.ROOT, "%.6f", jain));
        row.put("makespan_s", sec(makespan));
        row.put("throughput", makespan > 0 ? String.format(Locale.ROOT, "%.3f", totalProcessed / makespan) : "0");
        row.put("latency_p50_s", lat.isEmpty() ? "" : sec(lat.get((int) Math.min(lat.size() - 1, Math.ceil(0.50 * lat.size()) - 1))));
        row.put("latency_p99_s", lat.isEmpty() ? "" : sec(lat.get((int) Math.min(lat.size() - 1, Math.ceil(0.99 * lat.size()) - 1))));
        row.put("end_s", sec((lastEvent - t0Micros) / 1e6));
        row.put("events", "");
        row.put("wall_s", "");
        // Extensions of the real run only.
        row.put("acks_unmatched", Long.toString(ackByType[MessageAck.UNMATCHED_ACK_TYPE]));
        row.put("dlq_total", Integer.toString(inDlq.size() + expired.size() + dlqProcessed));
        row.put("timed_out", Boolean.toString(timedOut));
        row.put("consumer_errors", Integer.toString(errors.size()));
        writeCsv(out.resolve("summary.csv"), new ArrayList<>(row.keySet()), List.of(new ArrayList<>(row.values())));

        List<List<String>> rows = new ArrayList<>();
        for (Instance in : instances) {
            int i = in.index;
            rows.add(List.of(in.name, Long.toString(processed[i]), Long.toString(dups[i]), Long.toString(deliveries[i]),
                    Long.toString(redelivered[i]), Long.toString(acksSent[i]), "", "", sec(busy[i]), Long.toString(crashes[i]),
                    Long.toString(dispatchedBy[i])));
        }
        writeCsv(out.resolve("consumers.csv"), List.of("consumer", "processed", "duplicates", "deliveries", "redelivered",
                "acks_sent", "max_unacked", "idle_with_backlog_s", "busy_s", "crashes", "dispatched"), rows);

        // trace.csv: what happened, for explaining a disagreement.
        List<long[]> order = new ArrayList<>();
        List<List<String>> trace = new ArrayList<>();
        for (Ev e : evs) {
            String ev, msg = "", extra = "";
            switch (e.kind) {
                case 'S': ev = "subscribed"; extra = e.f[2]; break;
                case 'D': ev = "delivered"; msg = e.f[2]; extra = "redelivered=" + e.f[3] + " counter=" + e.f[4]; break;
                case 'P': ev = "processed"; msg = e.f[2]; break;
                case 'F': ev = "failed"; msg = e.f[2]; break;
                case 'K': ev = "crashed"; break;
                case 'E': ev = "error"; extra = String.join(" ", Arrays.copyOfRange(e.f, 2, e.f.length)); break;
                default: ev = String.valueOf(e.kind);
            }
            trace.add(List.of(sec((e.micros - t0Micros) / 1e6), ev, instances.get(e.instance).name, msg, extra));
            order.add(new long[] {e.micros, trace.size() - 1});
        }
        String[] ackNames = {"delivered", "poison", "standard", "redelivered", "individual", "unmatched", "expired"};
        for (Recorder.Ack a : acks) {
            Integer i = instanceOfConsumerId.get(a.consumerId);
            String ty = a.type >= 0 && a.type < ackNames.length ? ackNames[a.type] : Byte.toString(a.type);
            trace.add(List.of(sec((a.micros - t0Micros) / 1e6), "ack_received", i == null ? a.consumerId : instances.get(i).name,
                    a.last, "type=" + ty + " count=" + a.count + " first=" + a.first + (a.rejected ? " REJECTED " + a.error : "")));
            order.add(new long[] {a.micros, trace.size() - 1});
        }
        for (Recorder.Dispatch d : dispatches) {
            Integer i = instanceOfConsumerId.get(d.consumerId);
            trace.add(List.of(sec((d.micros - t0Micros) / 1e6), "dispatched", i == null ? d.consumerId : instances.get(i).name,
                    Integer.toString(d.seq), "counter=" + d.redeliveryCounter));
            order.add(new long[] {d.micros, trace.size() - 1});
        }
        order.sort((a, b) -> Long.compare(a[0], b[0]));
        List<List<String>> sorted = new ArrayList<>();
        for (long[] o : order) {
            sorted.add(trace.get((int) o[1]));
        }
        writeCsv(out.resolve("trace.csv"), List.of("time_s", "event", "consumer", "message", "detail"), sorted);
        List<List<String>> dr = new ArrayList<>();
        for (String[] d : drained) {
            dr.add(Arrays.asList(d));
        }
        writeCsv(out.resolve("drained.csv"), List.of("destination", "message", "redelivered", "redelivery_counter", "expired"), dr);
        List<String> allNotes = new ArrayList<>(notes);
        allNotes.addAll(errors);
        Files.write(out.resolve("notes.txt"), allNotes, StandardCharsets.UTF_8);
    }

    static String csvField(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    /** Atomic: a temporary file renamed into place. */
    static void writeCsv(Path path, List<String> header, List<List<String>> rows) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            w.write(String.join(",", header));
            w.write("\n");
            for (List<String> r : rows) {
                List<String> f = new ArrayList<>();
                for (String s : r) {
                    f.add(csvField(s));
                }
                w.write(String.join(",", f));
                w.write("\n");
            }
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Driver FLAT_FILE OUT_DIR [HARD_LIMIT_S]");
            System.exit(2);
        }
        Flat flat = new Flat(args[0]);
        Path out = Paths.get(args[1]);
        Files.createDirectories(out);
        double limit = args.length > 2 ? Double.parseDouble(args[2]) : 120;
        Driver d = new Driver(flat, out);
        int rc = 0;
        try {
            d.run(limit);
        } catch (Flat.Unsupported u) {
            System.err.println(args[0] + ": " + u.getMessage());
            rc = 2;
        } catch (Exception e) {
            e.printStackTrace();
            rc = 1;
        } finally {
            for (Instance in : d.instances) {
                if (in.proc != null && in.proc.isAlive()) {
                    in.proc.destroyForcibly();
                }
            }
        }
        System.exit(rc);
    }
}
