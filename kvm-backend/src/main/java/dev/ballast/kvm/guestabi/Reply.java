package dev.ballast.kvm.guestabi;

import java.util.Arrays;

/** A guest's answer to a command: the command's op and id, a status ({@code ST_*}) and six arguments. */
public record Reply(int op, int status, long id, long[] args) {
    public Reply {
        args = args.clone();
    }

    public long arg(int i) {
        return args[i];
    }

    @Override
    public long[] args() {
        return args.clone();
    }

    public boolean ok() {
        return status == GuestAbi.ST_OK;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Reply r && op == r.op && status == r.status && id == r.id && Arrays.equals(args, r.args);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id) * 31 + op;
    }

    @Override
    public String toString() {
        return "Reply[op=" + op + ", status=" + status + ", id=" + id + ", args=" + Arrays.toString(args) + "]";
    }
}
