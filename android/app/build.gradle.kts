// Doorstep for Android: the shared Compose screens (../ui), the view-model logic (../app-logic) and the Kotlin library
// (../doorstep-kotlin), all compiled from source here against Jetpack Compose and tested on the desktop JVM by the
// Maven build (against Compose Multiplatform desktop, the same androidx.compose API). The core's .so
// files for phones are built by cargo-ndk before each build; the Kotlin bindings are generated from the host build.
import org.gradle.api.tasks.Exec

plugins {
    id("com.android.application") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.3.21"
    id("org.jetbrains.kotlin.plugin.compose") version "2.3.21"
}

val repoRoot = rootDir.parentFile.parentFile

android {
    namespace = "app.doorstep.android"
    compileSdk = 35
    ndkVersion = "27.2.12479018"

    defaultConfig {
        applicationId = "app.doorstep.field"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    buildFeatures { compose = true }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].java.srcDirs(
        "src/main/kotlin",
        "../doorstep-kotlin/src/main/kotlin",
        "../doorstep-kotlin/src/generated/kotlin",
        "../app-logic/src/main/kotlin",
        "../ui/src/main/kotlin",
    )
    sourceSets["main"].jniLibs.srcDirs("src/main/jniLibs")
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation("net.java.dev.jna:jna:5.18.1@aar")
    // The Kotlin half of the core's certificate verifier; its version must equal rustls-platform-verifier-android's
    // in Cargo.lock (see android/README.md, "HTTPS on the phone").
    implementation("rustls:rustls-platform-verifier:0.2.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // app-logic reads and writes JSON (conflict values, set-aside records); the runtime only, as in its pom.
    implementation("org.jetbrains.kotlinx:kotlinx-serialization-json:1.9.0")
    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.ui:ui")
    implementation("androidx.compose.ui:ui-tooling-preview")
    implementation("androidx.compose.material:material-icons-core")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")
    // Background sync: WorkManager (periodic and one-off work with network constraints, kept across reboots) and
    // the process lifecycle (the app leaving the foreground hands waiting work to WorkManager).
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
}

/** The core for each phone ABI, into src/main/jniLibs, where the APK packs it and JNA finds it. */
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64", "--platform", "26",
        "-o", file("src/main/jniLibs").path, "build", "-p", "doorstep-core", "--lib", "--release",
    )
}

/** Kotlin bindings from the host build of the core (the exported interface is the same on every target). */
val generateBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("bash", "-c", "cargo build -p doorstep-core --lib && bash android/generate-bindings.sh")
}

tasks.named("preBuild") { dependsOn(cargoNdk, generateBindings) }
