package app.doorstep.android.background

import android.app.Application
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import app.doorstep.core.DoorstepError
import app.doorstep.core.StoreHolder
import app.doorstep.logic.background.BackgroundSyncController
import app.doorstep.logic.background.Trigger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

/**
 * The app's process: owns the background-sync controller and hands waiting work to WorkManager when the app
 * leaves the foreground (the app's own sync stops with it). Screens call [signedIn], [started], [networkLost] and
 * [signedOut]; nothing here opens the store, it only uses the one already open.
 */
class DoorstepApplication : Application() {
    val background: BackgroundSyncController by lazy { BackgroundSyncController(WorkManagerScheduler(this)) }
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    override fun onCreate() {
        super.onCreate()
        // Before any sign-in or sync: HTTPS checks certificates with Android's own trust manager.
        app.doorstep.android.TlsVerifier.init(this)
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStop(owner: LifecycleOwner) = handOver(Trigger.LEFT_FOREGROUND)
        })
    }

    /** Sign-in succeeded: the periodic run from now on, and a first run once there is a network. */
    fun signedIn() = background.signedIn()

    /** The store opened: keeps the periodic run scheduled for a signed-in user (after an update, for instance). */
    fun started(signedIn: Boolean) = background.started(signedIn)

    /** The phone lost its network: what waits goes to a one-off run that starts when a network is back. */
    fun networkLost() = handOver(Trigger.NETWORK_LOST)

    fun signedOut() = background.signedOut()

    private fun handOver(trigger: Trigger) {
        val client = StoreHolder.process.current ?: return
        scope.launch {
            try {
                val status = client.syncStatus()
                // Also covers a sign-in the screens did not report: the periodic run exists once the app leaves.
                background.started(signedIn = !status.user.isNullOrEmpty())
                background.appStopsSyncing(trigger, status.pending.toLong(), status.pendingBlobs.toLong())
            } catch (_: DoorstepError) {
                // The periodic run picks up whatever waits.
            }
        }
    }
}
