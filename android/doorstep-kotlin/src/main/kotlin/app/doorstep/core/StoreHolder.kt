package app.doorstep.core

import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import java.io.File

/**
 * The one opened store of a process, shared by the screens and the background sync worker.
 *
 * Two opens of the same file would each have their own sync engine and their own lock around the store; the core
 * keeps two handles safe (every write is one SQLite transaction that takes the write lock before it reads the
 * document, and a second handle waits up to the busy timeout), but one shared handle also means one sync at a time
 * and one sync state for the screens. The app and the worker ask [process] for the client; only sign-out closes it.
 */
class StoreHolder {
    private val lock = Mutex()
    private var path: File? = null
    @Volatile
    private var client: DoorstepClient? = null

    /**
     * The opened store at [path], opening it on first use with the key [key] returns (the caller's copy of the key
     * is wiped after opening). Asking for another file while one is open is a programming error.
     */
    suspend fun open(path: File, deviceName: String, key: () -> ByteArray): DoorstepClient = lock.withLock {
        client?.let { existing ->
            check(this.path?.canonicalFile == path.canonicalFile) { "another store is open: ${this.path}" }
            return@withLock existing
        }
        val bytes = key()
        try {
            DoorstepClient.open(path, bytes, deviceName).also {
                this.path = path
                client = it
            }
        } finally {
            bytes.fill(0)
        }
    }

    /** The store if something in this process opened it, without opening it. */
    val current: DoorstepClient? get() = client

    /** Closes the store (at sign-out); the next [open] opens it again. */
    suspend fun close() = lock.withLock {
        client?.close()
        client = null
        path = null
    }

    companion object {
        /** The process-wide holder the app and its workers use. */
        val process = StoreHolder()
    }
}
