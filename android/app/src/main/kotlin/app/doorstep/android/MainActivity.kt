package app.doorstep.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.viewModels
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Text
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.doorstep.ui.DoorstepApp
import app.doorstep.ui.DoorstepTheme
import app.doorstep.ui.Lang
import app.doorstep.ui.Str
import app.doorstep.ui.text
import java.util.Locale

/** The only activity: unlocks the store, then shows the shared app (android/ui), the same screens as the desktop. */
class MainActivity : ComponentActivity() {
    private val app: AppState by viewModels()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val platform = AndroidPlatform(this)
        setContent {
            val phase by app.phase.collectAsStateWithLifecycle()
            when (val p = phase) {
                AppState.Phase.Opening -> DoorstepTheme { CircularProgressIndicator(Modifier.padding(32.dp)) }
                is AppState.Phase.Failed -> DoorstepTheme {
                    Text(Str.ERROR_PREFIX.text(Lang.of(Locale.getDefault()), p.message), Modifier.padding(16.dp))
                }
                is AppState.Phase.Ready -> DoorstepApp(p.session, platform)
            }
        }
    }
}
