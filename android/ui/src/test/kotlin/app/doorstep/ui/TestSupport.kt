package app.doorstep.ui

import androidx.compose.runtime.Composable
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asSkiaBitmap
import androidx.compose.ui.graphics.toComposeImageBitmap
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.runSkikoComposeUiTest
import androidx.compose.ui.unit.Density
import app.doorstep.core.AlertLevel
import app.doorstep.core.Condition
import app.doorstep.core.DoctorContract
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.NetworkKind
import app.doorstep.core.PovertyStatus
import app.doorstep.core.Relation
import app.doorstep.core.Sex
import app.doorstep.core.newHousehold
import app.doorstep.core.newMember
import app.doorstep.core.newScreening
import app.doorstep.logic.AppSession
import app.doorstep.core.AssuranceKind
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.runBlocking
import org.jetbrains.skia.EncodedImageFormat
import org.jetbrains.skia.Image
import java.io.File
import java.time.LocalDate

/** The phone the screens are tested at: 390 × 844 dp at density 2 (a common mid-range phone). */
object Phone {
    const val WIDTH_DP = 390
    const val HEIGHT_DP = 844
    const val DENSITY = 2f
}

/**
 * Runs a Compose UI test on a headless phone-sized screen. [fontScale] above 1 is the system's large-font setting.
 */
@OptIn(ExperimentalTestApi::class)
fun onPhone(fontScale: Float = 1f, block: SkikoComposeUiTest.() -> Unit) =
    runSkikoComposeUiTest(
        Size(Phone.WIDTH_DP * Phone.DENSITY, Phone.HEIGHT_DP * Phone.DENSITY),
        Density(Phone.DENSITY, fontScale),
        block = block,
    )

/** The platform in tests: no network (so nothing syncs by surprise), a fixed photo, Skia for PNGs. */
class TestPlatform(network: NetworkKind? = null, private val photo: ByteArray? = null) : Platform {
    override val photos = PhotoSource { photo?.let { PickedImage(it, "image/png", "photo.png") } }
    override val connectivity = object : Connectivity {
        override val network = MutableStateFlow(network)
    }

    override fun encodePng(image: ImageBitmap): ByteArray =
        Image.makeFromBitmap(image.asSkiaBitmap()).encodeToData(EncodedImageFormat.PNG)!!.bytes

    override fun decodeImage(bytes: ByteArray): ImageBitmap? =
        runCatching { Image.makeFromEncoded(bytes).toComposeImageBitmap() }.getOrNull()

    /** The files the screens saved, by name, in order. */
    val saved = mutableListOf<Pair<String, ByteArray>>()

    override suspend fun saveFile(suggestedName: String, mediaType: String, bytes: ByteArray): Boolean {
        saved += suggestedName to bytes
        return true
    }

    @Composable
    override fun BackHandler(enabled: Boolean, onBack: () -> Unit) {
    }
}

/**
 * A real encrypted store in a temp dir. Its calls run in place (Dispatchers.Unconfined) so that a screen's load has
 * finished when Compose is idle: tests then see what a user would see once the screen settles.
 */
class TestStore private constructor(val dir: File, val client: DoorstepClient) : AutoCloseable {
    companion object {
        fun open(): TestStore {
            val dir = Fixtures.tempDir("doorstep-ui").toFile()
            val client = runBlocking { DoorstepClient.open(File(dir, "doorstep.db"), Fixtures.newKey(), "test phone", Dispatchers.Unconfined) }
            return TestStore(dir, client)
        }

        /** A store holding [Seed]'s village. */
        fun seeded(): TestStore = open().also { runBlocking { Seed.village(it.client) } }
    }

    /** A session as a signed-in helper would have it, starting at today's list. */
    fun session(user: String = "helper1"): AppSession = AppSession(client, user)

    override fun close() {
        client.close()
        dir.deleteRecursively()
    }
}

/** Households a helper and a doctor would find in one village, with visits and screenings, for tests and pictures. */
object Seed {
    val today: LocalDate = LocalDate.now()

    /** Ids of what [village] made, by name. */
    class Ids(val households: Map<String, String>, val members: Map<String, String>)

    suspend fun village(client: DoorstepClient): Ids {
        val households = mutableMapOf<String, String>()
        val members = mutableMapOf<String, String>()
        val contract = DoctorContract("清水镇卫生院一团队", today.minusMonths(8).toString(), null)
        suspend fun add(
            number: String, village: String, head: String, status: PovertyStatus, alert: AlertLevel?,
            headBirth: String, headConditions: List<Condition>, spouse: String?,
        ) {
            val headMember = newMember(head, Sex.MALE, headBirth, Relation.HEAD,
                nationalId = Fixtures.nationalId("522422", headBirth, number.takeLast(3)), conditions = headConditions,
            ).copy(contract = if (headConditions.isNotEmpty()) contract else null)
            val all = listOfNotNull(headMember, spouse?.let { newMember(it, Sex.FEMALE, "1966-02-11", Relation.SPOUSE) })
            val h = newHousehold(number, village, head, status, township = "清水镇", helperIds = listOf("helper1"), members = all)
                .copy(alertLevel = alert)
                // A red alert needs a senior second helper beside the household's own.
                .let { if (alert == AlertLevel.RED) it.copy(helperIds = listOf("helper1", "helper2"), seniorHelper = "helper2") else it }
            val id = client.saveHousehold(h)
            households[head] = id
            client.household(id).members.values.forEach { members[it.name] = it.id }
        }
        add("HH-001", "石门村", "王大山", PovertyStatus.MONITORED, AlertLevel.RED, "1961-03-05", listOf(Condition.HYPERTENSION), "李秀英")
        add("HH-002", "石门村", "张桂兰", PovertyStatus.EDGE, AlertLevel.YELLOW, "1958-07-21", listOf(Condition.DIABETES), null)
        add("HH-003", "石门村", "刘建国", PovertyStatus.MONITORED, AlertLevel.BLUE, "1972-11-02", emptyList(), "陈美")
        add("HH-004", "龙潭村", "杨德明", PovertyStatus.REGISTERED_POOR, null, "1949-05-30", listOf(Condition.HYPERTENSION, Condition.CATARACT), "吴小梅")
        // Lifted out of poverty: one helper visit a month (an ordinary household would need none under the rules).
        add("HH-005", "龙潭村", "赵春生", PovertyStatus.LIFTED, null, "1980-09-14", emptyList(), null)

        // Last month's visit of the first household, with a problem still open; a screening of its head.
        val visit = app.doorstep.core.newVisit(households.getValue("王大山"), "helper1", today.minusMonths(1).toString())
        val ok = app.doorstep.core.AssuranceCheck(app.doorstep.core.AssuranceStatus.OK, "")
        client.saveVisit(
            visit.copy(
                findings = app.doorstep.core.Assurances(ok, ok, ok, ok, ok,
                    app.doorstep.core.AssuranceCheck(app.doorstep.core.AssuranceStatus.PROBLEM, "井水浑浊")),
                problems = mapOf("p1" to app.doorstep.core.Problem("饮水不安全，需接自来水", AssuranceKind.WATER,
                    app.doorstep.core.ProblemStatus.OPEN, null, "")),
                note = "户主血压偏高，已提醒按时服药",
            ),
        )
        // 赵春生 was visited last month: due this month, not overdue.
        client.saveVisit(
            app.doorstep.core.newVisit(households.getValue("赵春生"), "helper1", today.minusMonths(1).toString())
                .copy(findings = app.doorstep.core.Assurances(ok, ok, ok, ok, ok, ok), note = "家中一切正常"),
        )
        client.saveScreening(
            newScreening(households.getValue("王大山"), members.getValue("王大山"), today.minusMonths(2).toString(), "doctor1",
                systolic = 152.0, diastolic = 96.0, glucose = 5.8, heightCm = 168.0, weightKg = 71.0),
        )
        return Ids(households, members)
    }
}
