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
    }
}
rootProject.name = "doorstep-android"
