package app.doorstep.desktop

import androidx.compose.ui.input.key.Key
import androidx.compose.ui.input.key.KeyEventType
import androidx.compose.ui.input.key.key
import androidx.compose.ui.input.key.type
import androidx.compose.ui.unit.DpSize
import androidx.compose.ui.unit.dp
import androidx.compose.ui.window.Window
import androidx.compose.ui.window.application
import androidx.compose.ui.window.rememberWindowState
import app.doorstep.core.DoorstepClient
import app.doorstep.logic.AppSession
import app.doorstep.ui.DoorstepApp
import app.doorstep.ui.Str
import app.doorstep.ui.Lang
import app.doorstep.ui.text
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.runBlocking
import java.io.File
import java.net.InetAddress
import java.util.Locale

/**
 * Doorstep on a PC: opens (or creates) the encrypted store in the data directory (first argument, or
 * `-Ddoorstep.data`, or ~/.local/share/doorstep), then shows the same screens as the phone in a phone-sized window.
 * `bash android/run-desktop.sh` builds what it needs and starts this.
 */
fun main(args: Array<String>) {
    val dataDir = File(
        args.firstOrNull() ?: System.getProperty("doorstep.data")
            ?: (System.getProperty("user.home") + "/.local/share/doorstep"),
    ).apply { mkdirs() }
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val key = FileStoreKeys(File(dataDir, "store.key")).loadOrCreate()
    val deviceName = "PC " + runCatching { InetAddress.getLocalHost().hostName }.getOrDefault("desktop")
    val client = runBlocking { DoorstepClient.open(File(dataDir, "doorstep.db"), key, deviceName) }
    key.fill(0)
    val session = runBlocking { AppSession.start(client) }
    val background = runBlocking { client.startBackgroundSync() }
    var frame: java.awt.Frame? = null
    val platform = DesktopPlatform(scope) { frame }
    application {
        Window(
            onCloseRequest = {
                background.close()
                client.close()
                exitApplication()
            },
            title = Str.APP_NAME.text(Lang.of(Locale.getDefault())),
            state = rememberWindowState(size = DpSize(420.dp, 860.dp)),
            onKeyEvent = { e ->
                if (e.type == KeyEventType.KeyUp && e.key == Key.Escape) platform.back?.let { it(); true } ?: false else false
            },
        ) {
            frame = window
            DoorstepApp(session, platform)
        }
    }
}
