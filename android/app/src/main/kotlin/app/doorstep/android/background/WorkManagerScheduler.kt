package app.doorstep.android.background

import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.app.Notification
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import app.doorstep.android.MainActivity
import app.doorstep.logic.UiText
import app.doorstep.logic.background.BackgroundRules
import app.doorstep.logic.background.NetworkRequirement
import app.doorstep.logic.background.OneOffSpec
import app.doorstep.logic.background.PeriodicSpec
import app.doorstep.logic.background.StopReason
import app.doorstep.logic.background.SyncScheduler
import java.util.Locale
import java.util.concurrent.TimeUnit

/**
 * The rules' schedule as WorkManager work: unique names (one of each at a time, KEEP so triggers never reset a
 * waiting run), a network constraint, exponential backoff. WorkManager keeps its queue in its own database and
 * re-schedules it after a reboot or an app update, so the periodic run survives both without a boot receiver.
 */
class WorkManagerScheduler(private val context: Context) : SyncScheduler {
    private val work get() = WorkManager.getInstance(context)

    override fun schedulePeriodic(spec: PeriodicSpec) {
        val request = PeriodicWorkRequestBuilder<SyncWorker>(
            spec.intervalMinutes, TimeUnit.MINUTES, spec.flexMinutes, TimeUnit.MINUTES,
        )
            .setConstraints(constraints(spec.network))
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BackgroundRules.backoff.initialSeconds, TimeUnit.SECONDS)
            .build()
        work.enqueueUniquePeriodicWork(spec.name, ExistingPeriodicWorkPolicy.KEEP, request)
    }

    override fun scheduleOneOff(spec: OneOffSpec) {
        val request = OneTimeWorkRequestBuilder<SyncWorker>()
            .setConstraints(constraints(spec.network))
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BackgroundRules.backoff.initialSeconds, TimeUnit.SECONDS)
            .build()
        work.enqueueUniqueWork(spec.name, ExistingWorkPolicy.KEEP, request)
    }

    override fun cancelAll() {
        for (name in listOf(BackgroundRules.PERIODIC_WORK, BackgroundRules.ONE_OFF_WORK, BackgroundRules.ATTACHMENTS_WORK)) {
            work.cancelUniqueWork(name)
        }
    }

    /** A notification that opens the app (at its sign-in screen, or where the user updates or unlocks). */
    override fun askUser(reason: StopReason, message: UiText) {
        val manager = context.getSystemService(NotificationManager::class.java) ?: return
        val zh = Locale.getDefault().language == "zh"
        manager.createNotificationChannel(
            NotificationChannel(CHANNEL, if (zh) "同步" else "Sync", NotificationManager.IMPORTANCE_DEFAULT),
        )
        val open = PendingIntent.getActivity(
            context, 0,
            Intent(context, MainActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK),
            PendingIntent.FLAG_IMMUTABLE,
        )
        val title = when (reason) {
            StopReason.SIGN_IN -> if (zh) "请重新登录" else "Sign in again"
            StopReason.UPDATE_REQUIRED -> if (zh) "请更新应用" else "Update the app"
            StopReason.UNLOCK -> if (zh) "无法解锁数据" else "The data could not be unlocked"
        }
        val notification = Notification.Builder(context, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_notify_sync_noanim)
            .setContentTitle(title)
            .setContentText(if (zh) message.zh else message.en)
            .setContentIntent(open)
            .setAutoCancel(true)
            .build()
        // Android 13+ without the notification permission: the app shows the same state when next opened.
        runCatching { manager.notify(reason.ordinal + 1, notification) }
    }

    private fun constraints(network: NetworkRequirement): Constraints = Constraints.Builder()
        .setRequiredNetworkType(
            when (network) {
                NetworkRequirement.CONNECTED -> NetworkType.CONNECTED
                NetworkRequirement.UNMETERED -> NetworkType.UNMETERED
            },
        )
        .build()

    private companion object {
        const val CHANNEL = "doorstep-sync"
    }
}
