package app.doorstep.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.staticCompositionLocalOf
import androidx.compose.ui.graphics.ImageBitmap
import app.doorstep.core.NetworkKind
import kotlinx.coroutines.flow.StateFlow

/**
 * What the shared screens need from the device they run on. Android implements it in `app/` (camera, Android
 * Keystore, ConnectivityManager, the system back button), the desktop program in `desktop/` (file picker, a key
 * file, a reachability probe, the Escape key), and tests with real files and a fixed network.
 */
interface Platform {
    /** Photos: the camera on a phone, a file picker on a PC. */
    val photos: PhotoSource

    /** The network as the device sees it; the app passes changes on to the core, which wakes the sync. */
    val connectivity: Connectivity

    /** Encodes a drawn picture (a signature) as PNG bytes, to attach. */
    fun encodePng(image: ImageBitmap): ByteArray

    /** Decodes JPEG or PNG bytes for a thumbnail or the full view; null when the bytes are not an image. */
    fun decodeImage(bytes: ByteArray): ImageBitmap?

    /**
     * Lets the user save [bytes] as a file (the set-aside records' hand-over file): the system's "create document"
     * picker on a phone, a save dialog on a PC. False when the user cancelled; an IOException when writing failed.
     */
    suspend fun saveFile(suggestedName: String, mediaType: String, bytes: ByteArray): Boolean

    /**
     * Lets the platform's own back gesture or key go back one screen while [enabled]; when the stack is at its
     * bottom the platform does what it usually does (Android leaves the app).
     */
    @Composable
    fun BackHandler(enabled: Boolean, onBack: () -> Unit)
}

/** Where a photo comes from. */
fun interface PhotoSource {
    /** Takes or picks one image; null when the user cancelled. Bytes as the file holds them (JPEG or PNG). */
    suspend fun pick(): PickedImage?
}

/** An image the user took or chose, before it is attached. */
class PickedImage(val bytes: ByteArray, val mediaType: String?, val name: String)

/** The current network: null when there is none, else its kind (metered mobile data or unmetered Wi-Fi). */
interface Connectivity {
    val network: StateFlow<NetworkKind?>
}

/**
 * Where the 32-byte store key lives: Android Keystore-wrapped on a phone, a file readable only by the user on a PC.
 * The key is made on first use and the same key is returned afterwards.
 */
fun interface StoreKeys {
    fun loadOrCreate(): ByteArray
}

/** The platform of the screens below; every screen reads it from here instead of taking it as a parameter. */
val LocalPlatform = staticCompositionLocalOf<Platform> { error("no Platform provided; wrap the UI in DoorstepApp") }
