package acksim.conformance;

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

import javax.jms.Connection;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageListener;
import javax.jms.Session;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQMessageConsumer;
import org.apache.activemq.ActiveMQSession;
import org.apache.activemq.RedeliveryPolicy;
import org.apache.activemq.command.ActiveMQMessage;

/**
 * One consumer instance in its own JVM, so that a crash is a real SIGKILL.
 *
 * <p>Usage: {@code ConsumerMain BROKER_URL FLAT_FILE INDEX LOG_FILE CRASH(0|1)}. It connects,
 * creates its session, prints {@code READY} and waits for a line on stdin before it subscribes
 * (the driver orders the subscriptions and times restarts that way). Every event goes to
 * LOG_FILE, one unbuffered line each (so a SIGKILL loses nothing written before it):
 * {@code S t consumerId}, {@code D t seq redelivered redeliveryCounter} (a hand-over to the
 * application), {@code P t seq} (successful processing), {@code F t seq} (failed processing),
 * {@code K t} (about to SIGKILL itself), {@code E t text}; t = epoch microseconds.
 *
 * <p>The application logic mirrors acksim's (src/model/activemq/consumer.rs,
 * on_processing_end / application_step / on_failure): after a successful processing the crash
 * point {@code after_processed:K} is checked first, then CLIENT acknowledges every ack_every,
 * INDIVIDUAL acknowledges each of the last ack_every, transacted commits every commit_every.
 */
public final class ConsumerMain {
    static final String QUEUE = "acksim.queue";

    private final FileOutputStream log;
    private final String ackMode;
    private final boolean listener;
    private final long processingNs;
    private final int ackEvery;
    private final int commitEvery;
    private final Set<Integer> poison = new HashSet<>();
    private final String handling;
    private final long crashAfterProcessed;
    private final long crashDuringDelivery;

    private Session session;
    private long deliveries;
    private long processed;
    private int processedSinceAck;
    private int processedSinceCommit;
    private final List<Message> individualToAck = new ArrayList<>();

    private ConsumerMain(Flat f, int index, FileOutputStream log, boolean crashEnabled) {
        String c = "consumers." + index + ".";
        this.log = log;
        this.ackMode = f.str(c + "ack_mode");
        this.listener = f.str(c + "delivery").equals("listener");
        this.processingNs = f.constantNs(c + "processing");
        this.ackEvery = f.integer(c + "ack_every");
        this.commitEvery = f.integer(c + "commit_every");
        for (String s : f.str(c + "failures.poison", "").split(",")) {
            if (!s.isBlank()) {
                poison.add(Integer.parseInt(s.trim()));
            }
        }
        this.handling = f.str(c + "failures.handling");
        String crash = f.str(c + "crash");
        long after = -1, during = -1;
        if (crashEnabled && crash.startsWith("after_processed:")) {
            after = Long.parseLong(crash.substring("after_processed:".length()));
        } else if (crashEnabled && crash.startsWith("during_processing:")) {
            during = Long.parseLong(crash.substring("during_processing:".length()));
        }
        this.crashAfterProcessed = after;
        this.crashDuringDelivery = during;
    }

    static long nowMicros() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }

    synchronized void log(String kind, String rest) {
        String line = kind + " " + nowMicros() + (rest.isEmpty() ? "" : " " + rest) + "\n";
        try {
            log.write(line.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static void sleepNs(long ns) {
        long deadline = System.nanoTime() + ns;
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    /** A real crash: SIGKILL to this very process, nothing else runs in this thread. */
    private void die() {
        log("K", "");
        try {
            Runtime.getRuntime().exec(new String[] {"kill", "-9", Long.toString(ProcessHandle.current().pid())});
        } catch (IOException e) {
            Runtime.getRuntime().halt(137);
        }
        for (;;) {
            LockSupport.parkNanos(1_000_000_000L);
        }
    }

    /** One hand-over to the application (onMessage called, or receive() returned). */
    private void handle(Message m) throws JMSException {
        int seq = m.getIntProperty("seq");
        deliveries++;
        int counter = ((ActiveMQMessage) m).getRedeliveryCounter();
        log("D", seq + " " + (m.getJMSRedelivered() ? 1 : 0) + " " + counter);
        if (deliveries == crashDuringDelivery) {
            sleepNs(processingNs / 2);
            die();
        }
        sleepNs(processingNs);
        if (poison.contains(seq)) {
            log("F", Integer.toString(seq));
            onFailure();
            return;
        }
        processed++;
        log("P", Integer.toString(seq));
        if (processed == crashAfterProcessed) {
            die();
        }
        applicationStep(m);
    }

    private void applicationStep(Message m) throws JMSException {
        switch (ackMode) {
            case "client":
                processedSinceAck++;
                if (ackEvery > 0 && processedSinceAck >= ackEvery) {
                    processedSinceAck = 0;
                    m.acknowledge();
                }
                break;
            case "individual":
                individualToAck.add(m);
                if (ackEvery > 0 && individualToAck.size() >= ackEvery) {
                    for (Message x : individualToAck) {
                        x.acknowledge();
                    }
                    individualToAck.clear();
                }
                break;
            case "transacted":
                processedSinceCommit++;
                if (commitEvery > 0 && processedSinceCommit >= commitEvery) {
                    processedSinceCommit = 0;
                    session.commit();
                }
                break;
            default:
                break;
        }
    }

    private void restartBatch() {
        processedSinceAck = 0;
        processedSinceCommit = 0;
        individualToAck.clear();
    }

    private void onFailure() throws JMSException {
        switch (handling) {
            case "rollback":
                restartBatch();
                session.rollback();
                break;
            case "recover":
                restartBatch();
                session.recover();
                break;
            default: // throw
                if (listener) {
                    throw new RuntimeException("poison message (acksim conformance)");
                }
                // receive(): no client code sees the exception; the application moves on.
                break;
        }
    }

    /**
     * The consumer's destination options (ActiveMQDestination options, copied onto its
     * ConsumerInfo by ActiveMQMessageConsumer): {@code consumer.priority} (A7.3) and
     * {@code consumer.exclusive} (A7.5), only when they differ from the defaults (0, false).
     */
    static String destinationOptions(Flat f, String c) {
        List<String> options = new ArrayList<>();
        int priority = f.integer(c + "priority");
        if (priority != 0) {
            options.add("consumer.priority=" + priority);
        }
        if (f.bool(c + "exclusive")) {
            options.add("consumer.exclusive=true");
        }
        return options.isEmpty() ? "" : "?" + String.join("&", options);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: ConsumerMain BROKER_URL FLAT_FILE INDEX LOG_FILE CRASH(0|1)");
            System.exit(2);
        }
        String url = args[0];
        Flat f = new Flat(args[1]);
        int index = Integer.parseInt(args[2]);
        FileOutputStream log = new FileOutputStream(args[3], true);
        ConsumerMain app = new ConsumerMain(f, index, log, args[4].equals("1"));
        String c = "consumers." + index + ".";

        ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory(url);
        cf.setWatchTopicAdvisories(false);
        cf.getPrefetchPolicy().setQueuePrefetch(f.integer(c + "prefetch"));
        cf.setOptimizeAcknowledge(f.bool(c + "optimize_ack"));
        cf.setOptimizeAcknowledgeTimeOut(f.lng(c + "optimize_ack_timeout_ns") / 1_000_000L);
        RedeliveryPolicy rp = cf.getRedeliveryPolicy();
        String r = "broker.redelivery.";
        rp.setMaximumRedeliveries(f.integer(r + "maximum_redeliveries"));
        rp.setInitialRedeliveryDelay(f.lng(r + "initial_redelivery_delay_ns") / 1_000_000L);
        rp.setRedeliveryDelay(f.lng(r + "redelivery_delay_ns") / 1_000_000L);
        rp.setUseExponentialBackOff(f.bool(r + "use_exponential_backoff"));
        rp.setBackOffMultiplier(f.dbl(r + "backoff_multiplier"));
        long maxDelay = f.lng(r + "maximum_redelivery_delay_ns");
        rp.setMaximumRedeliveryDelay(maxDelay < 0 ? -1 : maxDelay / 1_000_000L);

        Connection conn = cf.createConnection();
        conn.setExceptionListener(e -> app.log("E", "connection " + e));
        int mode;
        switch (app.ackMode) {
            case "auto": mode = Session.AUTO_ACKNOWLEDGE; break;
            case "client": mode = Session.CLIENT_ACKNOWLEDGE; break;
            case "dups_ok": mode = Session.DUPS_OK_ACKNOWLEDGE; break;
            case "individual": mode = ActiveMQSession.INDIVIDUAL_ACKNOWLEDGE; break;
            case "transacted": mode = Session.SESSION_TRANSACTED; break;
            default: throw new Flat.Unsupported("ack_mode " + app.ackMode);
        }
        boolean tx = mode == Session.SESSION_TRANSACTED;
        app.session = conn.createSession(tx, mode);
        conn.start();
        System.out.println("READY");
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (in.readLine() == null) {
            System.exit(3);
        }
        MessageConsumer consumer = app.session.createConsumer(app.session.createQueue(QUEUE + destinationOptions(f, c)));
        app.log("S", ((ActiveMQMessageConsumer) consumer).getConsumerId().toString());
        if (app.listener) {
            consumer.setMessageListener(new MessageListener() {
                @Override
                public void onMessage(Message m) {
                    try {
                        app.handle(m);
                    } catch (JMSException e) {
                        app.log("E", "listener " + e.toString().replace('\n', ' '));
                    }
                }
            });
            for (;;) {
                LockSupport.parkNanos(1_000_000_000L);
            }
        } else {
            for (;;) {
                Message m = consumer.receive();
                if (m == null) {
                    continue;
                }
                app.handle(m);
            }
        }
    }
}
