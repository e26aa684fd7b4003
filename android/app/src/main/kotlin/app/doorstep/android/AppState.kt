package app.doorstep.android

import android.app.Application
import android.net.ConnectivityManager
import android.net.Network
import android.os.Build
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.core.BackgroundSync
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import java.io.File

/**
 * Holds the opened store for the app's lifetime: unlocks it with the Keystore-wrapped key, starts the background
 * sync, and tells the core when the network comes and goes. Screens get their logic view models from app-logic.
 */
class AppState(application: Application) : AndroidViewModel(application) {
    sealed interface Phase {
        data object Opening : Phase
        data class Ready(val client: DoorstepClient, val signedIn: Boolean, val user: String) : Phase
        data class Failed(val message: String) : Phase
    }

    private val _phase = MutableStateFlow<Phase>(Phase.Opening)
    val phase: StateFlow<Phase> = _phase.asStateFlow()
    private var background: BackgroundSync? = null
    private var networkCallback: ConnectivityManager.NetworkCallback? = null

    init {
        viewModelScope.launch {
            _phase.value = try {
                val key = StoreKey.load(application)
                val client = DoorstepClient.open(File(application.filesDir, "doorstep.db"), key, Build.MODEL)
                key.fill(0)
                val status = client.syncStatus()
                background = client.startBackgroundSync()
                watchNetwork(client)
                Phase.Ready(client, status.user != null, status.user.orEmpty())
            } catch (e: DoorstepError) {
                Phase.Failed(e.message ?: "")
            }
        }
    }

    fun signedIn(user: String) {
        val ready = _phase.value as? Phase.Ready ?: return
        _phase.value = ready.copy(signedIn = true, user = user)
    }

    private fun watchNetwork(client: DoorstepClient) {
        val manager = getApplication<Application>().getSystemService(ConnectivityManager::class.java)
        val callback = object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) {
                viewModelScope.launch { client.setOnline(true) }
            }

            override fun onLost(network: Network) {
                viewModelScope.launch { client.setOnline(manager.activeNetwork != null) }
            }
        }
        manager.registerDefaultNetworkCallback(callback)
        networkCallback = callback
    }

    override fun onCleared() {
        networkCallback?.let { getApplication<Application>().getSystemService(ConnectivityManager::class.java).unregisterNetworkCallback(it) }
        background?.close()
        (_phase.value as? Phase.Ready)?.client?.close()
    }
}
