package app.doorstep.android

import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.Uri
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asAndroidBitmap
import androidx.compose.ui.graphics.asImageBitmap
import app.doorstep.core.NetworkKind
import app.doorstep.ui.Connectivity
import app.doorstep.ui.PhotoSource
import app.doorstep.ui.PickedImage
import app.doorstep.ui.Platform
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.ByteArrayOutputStream
import java.io.IOException

/**
 * The phone's side of the shared screens: the camera for photos, ConnectivityManager for the network (metered or
 * not), Android's bitmap codecs, and the system back gesture. Made in the activity's onCreate (the camera launcher
 * must be registered before the activity starts).
 */
class AndroidPlatform(activity: ComponentActivity) : Platform {
    private var pending: CompletableDeferred<Bitmap?>? = null
    private val camera = activity.registerForActivityResult(ActivityResultContracts.TakePicturePreview()) { bitmap ->
        pending?.complete(bitmap)
        pending = null
    }

    override val photos = PhotoSource {
        val result = CompletableDeferred<Bitmap?>().also { pending = it }
        camera.launch(null)
        result.await()?.let { bitmap ->
            val out = ByteArrayOutputStream()
            bitmap.compress(Bitmap.CompressFormat.JPEG, 85, out)
            PickedImage(out.toByteArray(), "image/jpeg", "photo.jpg")
        }
    }

    override val connectivity: Connectivity = NetworkWatcher(activity.applicationContext)

    private var saving: CompletableDeferred<Uri?>? = null
    private val createDocument =
        activity.registerForActivityResult(ActivityResultContracts.CreateDocument("application/json")) { uri ->
            saving?.complete(uri)
            saving = null
        }
    private val resolver = activity.contentResolver

    override suspend fun saveFile(suggestedName: String, mediaType: String, bytes: ByteArray): Boolean {
        val result = CompletableDeferred<Uri?>().also { saving = it }
        createDocument.launch(suggestedName)
        val uri = result.await() ?: return false
        withContext(Dispatchers.IO) {
            resolver.openOutputStream(uri)?.use { it.write(bytes) } ?: throw IOException("cannot write $uri")
        }
        return true
    }

    override fun encodePng(image: ImageBitmap): ByteArray =
        ByteArrayOutputStream().also { image.asAndroidBitmap().compress(Bitmap.CompressFormat.PNG, 100, it) }.toByteArray()

    override fun decodeImage(bytes: ByteArray): ImageBitmap? =
        BitmapFactory.decodeByteArray(bytes, 0, bytes.size)?.asImageBitmap()

    @Composable
    override fun BackHandler(enabled: Boolean, onBack: () -> Unit) =
        androidx.activity.compose.BackHandler(enabled, onBack)
}

/** The default network as ConnectivityManager reports it: none, metered (mobile data) or unmetered (Wi-Fi). */
private class NetworkWatcher(context: Context) : Connectivity {
    private val manager = context.getSystemService(ConnectivityManager::class.java)
    private val state = MutableStateFlow(kindOf(manager.getNetworkCapabilities(manager.activeNetwork)))
    override val network: StateFlow<NetworkKind?> = state.asStateFlow()

    init {
        manager.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
                state.value = kindOf(caps)
            }

            override fun onLost(network: Network) {
                state.value = null
            }
        })
    }

    private fun kindOf(caps: NetworkCapabilities?): NetworkKind? = when {
        caps == null || !caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) -> null
        caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) -> NetworkKind.UNMETERED
        else -> NetworkKind.METERED
    }
}
