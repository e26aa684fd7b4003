package app.doorstep.core

import java.io.File
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/**
 * A real doorstep-server on a loopback port in a temp data dir, started for a test and stopped after it.
 * The binary comes from the host build (`-Ddoorstep.server.bin`, set by the Maven build to target/debug).
 */
class ServerProcess private constructor(private val process: Process, val url: String, val dataDir: Path) : AutoCloseable {
    companion object {
        val binary: File = File(System.getProperty("doorstep.server.bin") ?: "../../target/debug/doorstep-server")

        /** True when the built server has the `serve` command (the sync tests are skipped, visibly, until then). */
        fun available(): Boolean {
            if (!binary.canExecute()) return false
            val p = ProcessBuilder(binary.path, "--help").redirectErrorStream(true).start()
            val text = p.inputStream.bufferedReader().readText()
            p.waitFor(30, TimeUnit.SECONDS)
            return text.contains("serve")
        }

        /** Runs one admin command of the server on [dataDir] and fails the test if it fails. */
        fun admin(dataDir: Path, vararg args: String) {
            val p = ProcessBuilder(listOf(binary.path, "--data", dataDir.toString()) + args)
                .redirectErrorStream(true).start()
            val out = p.inputStream.bufferedReader().readText()
            check(p.waitFor(60, TimeUnit.SECONDS)) { "doorstep-server ${args.joinToString(" ")} did not finish" }
            check(p.exitValue() == 0) { "doorstep-server ${args.joinToString(" ")} failed: $out" }
        }

        /** Starts `serve --listen 127.0.0.1:0` and waits for its "listening on http://…" line. */
        fun start(dataDir: Path = Fixtures.tempDir("doorstep-server")): ServerProcess {
            val process = ProcessBuilder(binary.path, "--data", dataDir.toString(), "serve", "--listen", "127.0.0.1:0")
                .redirectError(dataDir.resolve("server.stderr.log").toFile())
                .start()
            val url = CompletableFuture<String>()
            Thread {
                process.inputStream.bufferedReader().useLines { lines ->
                    for (line in lines) {
                        val m = Regex("listening on (http://\\S+)").find(line)
                        if (m != null && !url.isDone) url.complete(m.groupValues[1].trimEnd('/'))
                    }
                }
                if (!url.isDone) url.completeExceptionally(IllegalStateException("doorstep-server exited before listening"))
            }.apply { isDaemon = true }.start()
            return try {
                ServerProcess(process, url.get(60, TimeUnit.SECONDS), dataDir)
            } catch (e: Exception) {
                process.destroyForcibly()
                val log = dataDir.resolve("server.stderr.log").toFile().takeIf { it.exists() }?.readText().orEmpty()
                throw IllegalStateException("doorstep-server did not start: $log", e)
            }
        }
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
    }
}
