package app.doorstep.android.background

import android.content.Context
import android.os.Build
import app.doorstep.android.StoreKey
import app.doorstep.core.DoorstepClient
import app.doorstep.core.StoreHolder
import java.io.File

/** Where the app's store lives, opened once per process for the screens and the worker alike. */
object AppStore {
    fun file(context: Context): File = File(context.filesDir, "doorstep.db")

    /** The process's opened store; the first caller (the activity or a worker started by WorkManager) opens it. */
    suspend fun open(context: Context): DoorstepClient =
        StoreHolder.process.open(file(context), Build.MODEL) { StoreKey.load(context) }
}
