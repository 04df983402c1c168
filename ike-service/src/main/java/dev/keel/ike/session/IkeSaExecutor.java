package dev.keel.ike.session;


/** The single thread an IKE SA runs on, and its timers. */
public interface IkeSaExecutor extends IkeTimers {

    /** Runs {@code action} on the IKE SA's thread. */
    @Override
    void execute(Runnable action);
}
