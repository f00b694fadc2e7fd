package org.dtlm.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A file written under a temporary name in the target's directory and renamed over the target only on
 * {@link #commit()}: readers never see a half-written file. {@link #close()} without a commit deletes the
 * temporary file, so use it in try-with-resources and call {@code commit()} as the body's last statement.
 */
final class AtomicOutput implements Closeable {

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean committed;

    private AtomicOutput(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    static AtomicOutput create(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        // Hidden, random, created exclusively; not Files.createTempFile, whose mode 0600 the rename would keep.
        Path temp = absolute.resolveSibling("." + absolute.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new AtomicOutput(target, temp, channel);
    }

    FileChannel channel() {
        return channel;
    }

    /** An unbuffered stream onto the channel; do not close it (that closes the channel), flush what wraps it. */
    OutputStream stream() {
        return Channels.newOutputStream(channel);
    }

    /** Forces the data to disk, then renames the temporary file over the target. */
    void commit() throws IOException {
        channel.force(true);
        channel.close();
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    /** Without a prior successful {@link #commit()}: closes and deletes the temporary file. */
    @Override
    public void close() throws IOException {
        if (!committed) {
            try {
                channel.close();
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }
}
