package app.doorstep.android

import android.content.Context

/**
 * Hands the app's context to the core's certificate verifier (rustls-platform-verifier), which checks HTTPS
 * certificates with Android's own trust manager: the system's CAs, CAs the user or the phone's manager installed,
 * and revocation. Without it every HTTPS sign-in and sync fails on a phone. Called once from
 * `DoorstepApplication.onCreate`, before anything touches the network; later calls do nothing.
 *
 * The verifier's Kotlin half (`org.rustls.platformverifier`) comes from the Maven artifact
 * `rustls:rustls-platform-verifier` (see android/README.md, "HTTPS on the phone").
 */
object TlsVerifier {
    init {
        // JNA loads the core for the uniffi calls; a JNI entry point needs the library loaded by the JVM as well.
        System.loadLibrary("doorstep_core")
    }

    /** Implemented in the core: `Java_app_doorstep_android_TlsVerifier_init` (core/src/android.rs). */
    @JvmStatic
    external fun init(context: Context)
}
