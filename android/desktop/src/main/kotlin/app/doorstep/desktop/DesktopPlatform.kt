package app.doorstep.desktop

import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asSkiaBitmap
import androidx.compose.ui.graphics.toComposeImageBitmap
import app.doorstep.core.NetworkKind
import app.doorstep.ui.Connectivity
import app.doorstep.ui.PhotoSource
import app.doorstep.ui.PickedImage
import app.doorstep.ui.Platform
import app.doorstep.ui.StoreKeys
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.jetbrains.skia.EncodedImageFormat
import org.jetbrains.skia.Image
import java.awt.FileDialog
import java.awt.Frame
import java.io.File
import java.net.NetworkInterface
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions
import java.security.SecureRandom

/** The desktop's platform: a file picker for photos, the network interfaces for connectivity, Escape for back. */
class DesktopPlatform(scope: CoroutineScope, private val window: () -> Frame?) : Platform {
    override val photos = PhotoSource { pickImageFile() }
    override val connectivity = InterfaceConnectivity(scope)

    /** The back action of the screen shown now; the window's Escape key calls it. */
    @Volatile
    var back: (() -> Unit)? = null

    override fun encodePng(image: ImageBitmap): ByteArray =
        Image.makeFromBitmap(image.asSkiaBitmap()).encodeToData(EncodedImageFormat.PNG)?.bytes
            ?: error("PNG encoding failed")

    override fun decodeImage(bytes: ByteArray): ImageBitmap? =
        runCatching { Image.makeFromEncoded(bytes).toComposeImageBitmap() }.getOrNull()

    override suspend fun saveFile(suggestedName: String, mediaType: String, bytes: ByteArray): Boolean {
        if (java.awt.GraphicsEnvironment.isHeadless()) throw java.io.IOException("no display to ask where to save")
        val file = withContext(Dispatchers.Main) {
            val dialog = FileDialog(window(), "", FileDialog.SAVE).apply {
                file = suggestedName
                isVisible = true
            }
            dialog.file?.let { File(dialog.directory, it) }
        } ?: return false
        withContext(Dispatchers.IO) { file.writeBytes(bytes) }
        return true
    }

    @Composable
    override fun BackHandler(enabled: Boolean, onBack: () -> Unit) {
        val current = rememberUpdatedState(onBack)
        DisposableEffect(enabled) {
            back = if (enabled) ({ current.value() }) else null
            onDispose { back = null }
        }
    }

    private suspend fun pickImageFile(): PickedImage? = withContext(Dispatchers.Main) {
        val dialog = FileDialog(window(), "", FileDialog.LOAD).apply {
            setFilenameFilter { _, name -> name.lowercase().let { it.endsWith(".jpg") || it.endsWith(".jpeg") || it.endsWith(".png") } }
            isVisible = true
        }
        val name = dialog.file ?: return@withContext null
        val file = File(dialog.directory, name)
        val bytes = withContext(Dispatchers.IO) { file.readBytes() }
        PickedImage(bytes, mediaType = null, name = name)
    }
}

/**
 * Online when any non-loopback interface is up, checked every few seconds (a PC has no ConnectivityManager). A PC's
 * network counts as unmetered.
 */
class InterfaceConnectivity(scope: CoroutineScope) : Connectivity {
    private val state = MutableStateFlow(current())
    override val network: StateFlow<NetworkKind?> = state.asStateFlow()

    init {
        scope.launch(Dispatchers.IO) {
            while (true) {
                delay(5_000)
                state.value = current()
            }
        }
    }

    private fun current(): NetworkKind? = runCatching {
        NetworkInterface.getNetworkInterfaces().asSequence().any { it.isUp && !it.isLoopback }
    }.getOrDefault(false).let { if (it) NetworkKind.UNMETERED else null }
}

/**
 * The store key in a file beside the store, readable only by the user (a PC has no hardware keystore; the disk's
 * own encryption and the user account protect it). Made at random on first use.
 */
class FileStoreKeys(private val file: File) : StoreKeys {
    override fun loadOrCreate(): ByteArray {
        if (file.exists()) return file.readBytes().also { check(it.size == 32) { "$file does not hold a 32-byte key" } }
        file.parentFile.mkdirs()
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        Files.createFile(file.toPath())
        runCatching { Files.setPosixFilePermissions(file.toPath(), PosixFilePermissions.fromString("rw-------")) }
        file.writeBytes(key)
        return key
    }
}
