//! Android only: the JNI entry point that gives rustls-platform-verifier the app's context, so HTTPS certificates
//! are checked by Android's own trust manager. The app calls it once at start (`TlsVerifier.init(context)` in
//! android/app); without it every HTTPS request fails on a phone. Nothing to do on iOS (Security.framework) or
//! desktop systems.

use jni::objects::{JClass, JObject};
use jni::EnvUnowned;

/// `app.doorstep.android.TlsVerifier.init(Context)`. A failure is thrown to Kotlin as a RuntimeException.
#[no_mangle]
pub extern "system" fn Java_app_doorstep_android_TlsVerifier_init<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    env.with_env(|env| rustls_platform_verifier::android::init_with_env(env, context))
        .resolve::<jni::errors::ThrowRuntimeExAndDefault>();
}
