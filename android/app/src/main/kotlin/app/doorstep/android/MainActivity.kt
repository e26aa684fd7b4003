package app.doorstep.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.viewModels
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle

/** The only activity: unlocks the store, then shows login or the app's screens. */
class MainActivity : ComponentActivity() {
    private val app: AppState by viewModels()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { MaterialTheme { Root(app) } }
    }
}

@Composable
private fun Root(app: AppState) {
    val phase by app.phase.collectAsStateWithLifecycle()
    when (val p = phase) {
        AppState.Phase.Opening -> CircularProgressIndicator(Modifier.padding(32.dp))
        is AppState.Phase.Failed -> Text("无法打开数据 / The data could not be opened: ${p.message}", Modifier.padding(16.dp))
        is AppState.Phase.Ready ->
            if (p.signedIn) DoorstepNavigation(p.client, p.user)
            else LoginScreen(p.client) { info -> app.signedIn(info.user) }
    }
}
