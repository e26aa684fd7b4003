// The Android app: a Gradle build of its own (Android Gradle Plugin needs the Android SDK), beside the Maven build
// of the library and the view models that runs on any JVM. It compiles their sources directly (see build.gradle.kts).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
        // rustls-platform-verifier's Android component (`rustls:rustls-platform-verifier`), published by its
        // authors as a Maven repository on GitHub.
        maven {
            url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/")
        }
    }
}
rootProject.name = "doorstep-android"
