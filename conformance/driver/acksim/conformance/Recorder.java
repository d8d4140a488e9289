package acksim.conformance;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.activemq.broker.Broker;
import org.apache.activemq.broker.BrokerFilter;
import org.apache.activemq.broker.ConsumerBrokerExchange;
import org.apache.activemq.command.ActiveMQDestination;
import org.apache.activemq.command.MessageAck;
import org.apache.activemq.command.MessageDispatch;

/**
 * Broker plugin: records every MessageAck the broker receives for the scenario's queue (type,
 * message count, consumer, whether the broker rejected it) and every dispatch of a message from
 * that queue (TransportConnection.processDispatch → preProcessDispatch, i.e. a MessageDispatch
 * actually handed to the consumer's transport). {@link #freeze()} stops recording, so the
 * driver's drain consumer does not count.
 */
final class Recorder extends BrokerFilter {
    static final class Ack {
        final long micros;
        final byte type;
        final int count;
        final String consumerId;
        final String first;
        final String last;
        boolean rejected;
        String error;

        Ack(long micros, byte type, int count, String consumerId, String first, String last) {
            this.micros = micros;
            this.type = type;
            this.count = count;
            this.consumerId = consumerId;
            this.first = first;
            this.last = last;
        }
    }

    static final class Dispatch {
        final long micros;
        final String consumerId;
        final int seq;
        final int redeliveryCounter;

        Dispatch(long micros, String consumerId, int seq, int redeliveryCounter) {
            this.micros = micros;
            this.consumerId = consumerId;
            this.seq = seq;
            this.redeliveryCounter = redeliveryCounter;
        }
    }

    private final ActiveMQDestination queue;
    private final List<Ack> acks = new ArrayList<>();
    private final List<Dispatch> dispatches = new ArrayList<>();
    private final Map<String, Integer> seqByMessageId = new HashMap<>();
    private boolean frozen;
    private volatile long lastActivityNanos = System.nanoTime();

    Recorder(Broker next, ActiveMQDestination queue) {
        super(next);
        this.queue = queue;
    }

    private boolean ours(ActiveMQDestination d) {
        return d != null && d.equals(queue);
    }

    long lastActivityNanos() {
        return lastActivityNanos;
    }

    synchronized void freeze() {
        frozen = true;
    }

    synchronized List<Ack> acks() {
        return new ArrayList<>(acks);
    }

    synchronized List<Dispatch> dispatches() {
        return new ArrayList<>(dispatches);
    }

    /** Messages covered by POISON acks so far (for the driver's "everything has a fate" test). */
    synchronized int poisoned() {
        int n = 0;
        for (Ack a : acks) {
            if (a.type == MessageAck.POISON_ACK_TYPE && !a.rejected) {
                n += a.count;
            }
        }
        return n;
    }

    private String seqOf(org.apache.activemq.command.MessageId id) {
        if (id == null) {
            return "";
        }
        synchronized (this) {
            Integer s = seqByMessageId.get(id.toString());
            return s == null ? id.toString() : Integer.toString(s);
        }
    }

    @Override
    public void acknowledge(ConsumerBrokerExchange exchange, MessageAck ack) throws Exception {
        if (!ours(ack.getDestination())) {
            super.acknowledge(exchange, ack);
            return;
        }
        Ack rec = new Ack(ConsumerMain.nowMicros(), ack.getAckType(), ack.getMessageCount(),
                String.valueOf(ack.getConsumerId()), seqOf(ack.getFirstMessageId()), seqOf(ack.getLastMessageId()));
        lastActivityNanos = System.nanoTime();
        try {
            super.acknowledge(exchange, ack);
        } catch (Exception e) {
            rec.rejected = true;
            rec.error = e.toString();
            throw e;
        } finally {
            synchronized (this) {
                if (!frozen) {
                    acks.add(rec);
                }
            }
        }
    }

    @Override
    public void preProcessDispatch(MessageDispatch md) {
        if (md.getMessage() != null && ours(md.getDestination())) {
            int seq = -1;
            try {
                Object p = md.getMessage().getProperty("seq");
                if (p instanceof Integer) {
                    seq = (Integer) p;
                }
            } catch (java.io.IOException e) {
                // leave -1
            }
            lastActivityNanos = System.nanoTime();
            synchronized (this) {
                if (!frozen) {
                    seqByMessageId.put(md.getMessage().getMessageId().toString(), seq);
                    dispatches.add(new Dispatch(ConsumerMain.nowMicros(), String.valueOf(md.getConsumerId()), seq,
                            md.getMessage().getRedeliveryCounter()));
                }
            }
        }
        super.preProcessDispatch(md);
    }
}
