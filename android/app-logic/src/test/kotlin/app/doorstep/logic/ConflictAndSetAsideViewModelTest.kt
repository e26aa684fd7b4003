package app.doorstep.logic

import app.doorstep.core.AttachmentKind
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.NetworkKind
import app.doorstep.core.ServerProcess
import app.doorstep.core.newVisit
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/** The conflicts, set-aside and sync screens' view models against a real doorstep-server on 127.0.0.1. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConflictAndSetAsideViewModelTest {
    private lateinit var server: ServerProcess
    private val serverBuilt = ServerProcess.available()

    @BeforeAll
    fun startServer() {
        if (!serverBuilt) return
        val data = Fixtures.tempDir("doorstep-server")
        ServerProcess.admin(data, "user", "add", "helper3", "--role", "helper", "--password", "pw-helper3")
        ServerProcess.admin(data, "user", "add", "helper4", "--role", "helper", "--password", "pw-helper4")
        server = ServerProcess.start(data)
    }

    @AfterAll
    fun stopServer() {
        if (::server.isInitialized) server.close()
    }

    @BeforeEach
    fun requireServer() = assumeTrue(serverBuilt, "doorstep-server with a `serve` command is not built")

    private suspend fun device(name: String, user: String): DoorstepClient =
        DoorstepClient.open(Fixtures.tempDir(name).resolve("store.db").toFile(), Fixtures.newKey(), name).also {
            it.login(server.url, user, "pw-$user")
        }

    @Test
    fun `a field written on two devices is listed with both authors, and choosing one settles it everywhere`() =
        runBlocking {
            device("phone-a", "helper3").use { a ->
                device("phone-b", "helper3").use { b ->
                    val hh = a.saveHousehold(Fixtures.household(helper = "helper3", number = "VM-C1"))
                    a.syncNow()
                    b.syncNow()
                    val head = a.household(hh).members.values.single { it.name == "王大山" }
                    a.saveMember(hh, head.copy(name = "王大三"))
                    b.saveMember(hh, head.copy(name = "王达山"))
                    a.syncNow()
                    b.syncNow()
                    a.syncNow()

                    val vm = ConflictsViewModel(a, householdId = hh)
                    vm.refresh()
                    val item = vm.state.value.items.single()
                    assertEquals("members.name", item.label.key)
                    assertTrue(item.label.memberName in setOf("王大三", "王达山"), "${item.label}")
                    assertEquals(RecordLabel.Household::class, item.record::class)
                    assertEquals(setOf("phone-a", "phone-b"), item.sides.map { it.device }.toSet())
                    assertEquals(setOf("helper3"), item.sides.map { it.user }.toSet())
                    assertEquals(
                        setOf(FieldValue.Text("王大三"), FieldValue.Text("王达山")),
                        item.sides.map { it.value }.toSet(),
                    )
                    assertTrue(item.sides.all { it.writtenAt.matches(Regex("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d")) })
                    // Another household's conflicts are not this household's.
                    val other = ConflictsViewModel(a, householdId = "no-such-household")
                    other.refresh()
                    assertTrue(other.state.value.items.isEmpty())

                    val chosen = item.sides.single { it.device == "phone-b" }
                    assertTrue(vm.choose(item, chosen))
                    assertTrue(vm.state.value.items.isEmpty(), "${vm.state.value.items}")
                    assertNull(vm.state.value.resolving)
                    assertEquals("王达山", a.household(hh).members.getValue(head.id).name)
                    a.syncNow()
                    b.syncNow()
                    assertTrue(b.conflicts().none { it.docId == hh }, "settled on the other phone too")
                    assertEquals("王达山", b.household(hh).members.getValue(head.id).name)
                }
            }
        }

    @Test
    fun `a record the server refuses is listed as set aside and exported for hand-over`() = runBlocking {
        device("phone-c", "helper4").use { c ->
            c.saveHousehold(Fixtures.household(helper = "helper4", number = "VM-S1"))
            c.syncNow()
            // helper4 records a household that belongs to helper3: the server refuses it as out of scope.
            val foreign = c.saveHousehold(Fixtures.household(helper = "helper3", number = "VM-S2").copy(headName = "冒名户"))
            val sync = SyncViewModel(c)
            sync.syncNow()
            sync.syncNow() // the refusal set it aside; the next sync is not blocked by it
            sync.refreshStatus()
            assertEquals(1uL, sync.status.value!!.setAside)

            val vm = SetAsideViewModel(c)
            vm.refresh()
            val item = vm.state.value.items.single()
            assertEquals(foreign, item.doc.docId)
            assertEquals(SetAsideViewModel.Reason.OUT_OF_SCOPE, item.reason)
            assertEquals(RecordLabel.Household(foreign, "VM-S2", "冒名户"), item.label)
            assertTrue(item.setAsideAt.isNotEmpty())

            var saved: Pair<String, ByteArray>? = null
            vm.export { name, type, bytes ->
                assertEquals("application/json", type)
                saved = name to bytes
                true
            }
            val (name, bytes) = saved!!
            assertTrue(name.startsWith("doorstep-set-aside-") && name.endsWith(".json"), name)
            assertEquals(SetAsideViewModel.Exported.Saved(name, 1), vm.state.value.exported)
            val doc = Json.parseToJsonElement(bytes.decodeToString()).jsonArray.single().jsonObject
            assertEquals(foreign, doc.getValue("doc_id").jsonPrimitive.content)
            assertEquals("out_of_scope", doc.getValue("reason").jsonPrimitive.content)
            val record = Json.parseToJsonElement(doc.getValue("record_json").jsonPrimitive.content).jsonObject
            assertEquals("冒名户", record.getValue("head_name").jsonPrimitive.content)
            assertTrue(doc.getValue("automerge_hex").jsonPrimitive.content.matches(Regex("[0-9a-f]+")))

            vm.export { _, _, _ -> false }
            assertEquals(SetAsideViewModel.Exported.Cancelled, vm.state.value.exported)
            vm.export { _, _, _ -> throw java.io.IOException("disk full") }
            assertEquals(SetAsideViewModel.Exported.Failed("disk full"), vm.state.value.exported)
            vm.refresh()
            assertEquals(1, vm.state.value.items.size, "exporting keeps the records on the phone")
        }
    }

    @Test
    fun `photos wait for an unmetered network unless the user allows mobile data`() = runBlocking {
        device("phone-d", "helper4").use { d ->
            val hh = d.saveHousehold(Fixtures.household(helper = "helper4", number = "VM-M1"))
            val visit = d.saveVisit(newVisit(hh, "helper4", Fixtures.today()))
            val photo = java.io.ByteArrayOutputStream().also {
                javax.imageio.ImageIO.write(java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpg", it)
            }.toByteArray()
            d.attachBytes(visit, photo, AttachmentKind.PHOTO, "门口")
            val session = AppSession(d, "helper4")
            val sync = session.sync
            session.networkChanged(NetworkKind.METERED)
            sync.syncNow()
            assertNull(sync.lastProblem(), "${sync.lastProblem()}")
            assertEquals(0uL, sync.status.value!!.pending, "the documents went")
            assertEquals(1uL, sync.status.value!!.pendingBlobs, "the photo waits on mobile data")

            session.allowMeteredPhotos.value = true
            session.networkChanged(NetworkKind.METERED)
            sync.syncNow()
            assertEquals(0uL, sync.status.value!!.pendingBlobs, "allowed, the photo went")
        }
    }
}
