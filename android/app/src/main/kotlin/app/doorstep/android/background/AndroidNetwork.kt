package app.doorstep.android.background

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import app.doorstep.logic.background.NetworkConditions

/** The phone's network as the rules need it, and the user's "photos over mobile data" switch. */
object AndroidNetwork {
    private const val PREFS = "doorstep-sync"

    /** Preference the sync screen writes when the user allows photos and scans over mobile data. */
    const val ALLOW_METERED = "allow_metered_attachments"

    fun conditions(context: Context): NetworkConditions {
        val manager = context.getSystemService(ConnectivityManager::class.java)
        val caps = manager?.activeNetwork?.let(manager::getNetworkCapabilities)
        return NetworkConditions(
            connected = caps?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true,
            unmetered = caps?.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) == true,
            allowMeteredAttachments = allowMetered(context),
        )
    }

    fun allowMetered(context: Context): Boolean =
        context.getSharedPreferences(PREFS, Context.MODE_PRIVATE).getBoolean(ALLOW_METERED, false)

    fun setAllowMetered(context: Context, allow: Boolean) {
        context.getSharedPreferences(PREFS, Context.MODE_PRIVATE).edit().putBoolean(ALLOW_METERED, allow).apply()
    }
}
