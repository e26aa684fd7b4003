package app.doorstep.android

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.android.background.AppStore
import app.doorstep.android.background.DoorstepApplication
import app.doorstep.core.BackgroundSync
import app.doorstep.core.DoorstepError
import app.doorstep.logic.AppSession
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/**
 * Holds the screens' state for the activity's lifetime (it survives rotation): the process's opened store (shared
 * with the background worker, so it is not closed here), the in-app sync, and the shared [AppSession]
 * (navigation and drafts). Sign-in and start-up are reported to the application, which schedules background sync.
 */
class AppState(application: Application) : AndroidViewModel(application) {
    sealed interface Phase {
        data object Opening : Phase
        data class Ready(val session: AppSession) : Phase
        data class Failed(val message: String) : Phase
    }

    private val _phase = MutableStateFlow<Phase>(Phase.Opening)
    val phase: StateFlow<Phase> = _phase.asStateFlow()
    private var background: BackgroundSync? = null

    init {
        val app = application as DoorstepApplication
        viewModelScope.launch {
            _phase.value = try {
                val client = AppStore.open(application)
                background = client.startBackgroundSync()
                val session = AppSession.start(client, onSignedIn = { app.signedIn() })
                app.started(signedIn = session.user.value.isNotEmpty())
                Phase.Ready(session)
            } catch (e: DoorstepError) {
                Phase.Failed(e.message ?: "")
            }
        }
    }

    override fun onCleared() {
        background?.close()
    }
}
