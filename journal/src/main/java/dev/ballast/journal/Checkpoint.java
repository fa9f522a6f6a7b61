package dev.ballast.journal;

/**
 * A checkpoint read back from a journal: the caller's opaque payload and the event number it
 * belongs to (the number of events before it in the journal, i.e. replay resumes at this event).
 * {@code chronicleIndex} is where the document sits in the queue.
 */
public record Checkpoint(long eventNumber, byte[] payload, long chronicleIndex) {
    public Checkpoint {
        payload = payload.clone();
    }

    @Override
    public byte[] payload() {
        return payload.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Checkpoint other
                && other.eventNumber == eventNumber
                && other.chronicleIndex == chronicleIndex
                && java.util.Arrays.equals(other.payload, payload);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(eventNumber) * 31 + java.util.Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return "Checkpoint[event=" + eventNumber + ", " + payload.length + " bytes, index=0x"
                + Long.toHexString(chronicleIndex) + "]";
    }
}
