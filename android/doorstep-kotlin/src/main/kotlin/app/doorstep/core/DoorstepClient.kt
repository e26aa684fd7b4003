package app.doorstep.core

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext
import uniffi.doorstep_core.Doorstep
import uniffi.doorstep_core.DoorstepException
import java.io.File

/**
 * The signed-in device's store, as the app uses it: every call that touches the disk or the network is a suspend
 * function that runs on [io] (Dispatchers.IO by default), so the UI thread never waits; failures arrive as
 * [DoorstepError]. Close it when the user signs out.
 */
class DoorstepClient private constructor(
    internal val core: Doorstep,
    private val io: CoroutineDispatcher,
) : AutoCloseable {
    private val listener = SyncStateListener()

    /** The sync state as it changes: started, progress, done or failed (with the reason), or offline. */
    val syncState: StateFlow<SyncState> = listener.asFlow()

    companion object {
        /**
         * Opens (or creates) the encrypted store at [path] with the 32-byte [key] the app keeps in Android Keystore.
         * A wrong key fails with [DoorstepError.WrongKey].
         */
        suspend fun open(
            path: File,
            key: ByteArray,
            deviceName: String,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): DoorstepClient = withContext(io) {
            val core = mapErrors { Doorstep.open(path.path, key, deviceName) }
            DoorstepClient(core, io).also { client -> mapErrors { core.setSyncListener(client.listener) } }
        }
    }

    /** Runs [block] on the IO dispatcher and turns the core's exceptions into [DoorstepError]. */
    internal suspend fun <T> call(block: (Doorstep) -> T): T = withContext(io) { mapErrors { block(core) } }

    /** Replaces the store key (after the app rotated it in the keystore). */
    suspend fun rekey(newKey: ByteArray) = call { it.rekey(newKey) }

    /** Saves a household (new when its id is empty, members too); returns its id. */
    suspend fun saveHousehold(household: Household): String = call { it.saveHousehold(household) }

    /** Adds or replaces one member of a household; returns the member's id. */
    suspend fun saveMember(householdId: String, member: Member): String = call { it.saveMember(householdId, member) }

    suspend fun household(id: String): Household = call { it.getHousehold(id) }

    /** Marks a household deleted (a tombstone that syncs like any edit). */
    suspend fun deleteHousehold(id: String) = call { it.deleteHousehold(id) }

    /** Saves a visit; returns its id. */
    suspend fun saveVisit(visit: Visit): String = call { it.saveVisit(visit) }

    suspend fun visit(id: String): Visit = call { it.getVisit(id) }

    suspend fun deleteVisit(id: String) = call { it.deleteVisit(id) }

    /** Saves a screening; returns its id. */
    suspend fun saveScreening(screening: Screening): String = call { it.saveScreening(screening) }

    suspend fun screening(id: String): Screening = call { it.getScreening(id) }

    suspend fun deleteScreening(id: String) = call { it.deleteScreening(id) }

    /** The household list, filtered by village, status, alert level, helper or text. */
    suspend fun households(filter: HouseholdFilter = allHouseholds()): List<HouseholdSummary> =
        call { it.listHouseholds(filter) }

    /** Members, last visits, open problems, screenings and conflicts of one household. */
    suspend fun householdDetail(id: String): HouseholdDetail = call { it.householdDetail(id) }

    suspend fun visitsOf(householdId: String): List<Visit> = call { it.visitsOfHousehold(householdId) }

    /** A member's screenings, each with its classification. */
    suspend fun screeningsOf(memberId: String): List<ClassifiedScreening> = call { it.screeningsOfMember(memberId) }

    suspend fun openProblems(): List<OpenProblem> = call { it.openProblems() }

    /** Abnormal screenings with a referral and no follow-up yet. */
    suspend fun pendingReferrals(): List<PendingReferral> = call { it.pendingReferrals() }

    /** Due and overdue visits and follow-ups on [date] (`YYYY-MM-DD`). */
    suspend fun due(date: String): List<DueItem> = call { it.due(date) }

    /** The newest schedule rules (they may take effect after today; see [scheduleRulesOn]). */
    suspend fun scheduleRules(): ScheduleRules = call { it.scheduleRules() }

    /** The schedule rules in force on [date] (`YYYY-MM-DD`). */
    suspend fun scheduleRulesOn(date: String): ScheduleRules = call { it.scheduleRulesOn(date) }

    /** Sets the schedule rules, in force from today. */
    suspend fun setScheduleRules(rules: ScheduleRules) = call { it.setScheduleRules(rules) }

    /** Sets the schedule rules, in force from [effectiveFrom] (not before the newest rules' date). */
    suspend fun setScheduleRulesFrom(rules: ScheduleRules, effectiveFrom: String) =
        call { it.setScheduleRulesFrom(rules, effectiveFrom) }

    /** Every field that two devices wrote concurrently, with each value and who wrote it. */
    suspend fun conflicts(): List<Conflict> = call { it.conflicts() }

    /** Settles a conflicted field with one of its values (or a new one), as JSON text. */
    suspend fun resolveConflict(docId: String, field: String, valueJson: String) =
        call { it.resolveConflict(docId, field, valueJson) }

    /** Every value a field has held, who wrote it and on which device. */
    suspend fun fieldHistory(docId: String, field: String): List<FieldVersion> = call { it.fieldHistory(docId, field) }

    /** How many changes wait to be sent to the server. */
    suspend fun pendingChanges(): Long = call { it.pendingChanges().toLong() }

    /**
     * Signs in to [serverUrl]; the device token is kept in the encrypted store, never in app preferences.
     * A county server with a private CA or a self-signed certificate: pass its CA certificate as [caCertPem] (PEM
     * text), or the SHA-256 fingerprint of its certificate as [pinSha256] (hex); the choice is kept for every later
     * sync. [allowInsecureHttp] is a developer option for a plain `http://` server off this phone. A refused
     * certificate fails with [DoorstepError.Untrusted].
     */
    suspend fun login(
        serverUrl: String,
        user: String,
        password: String,
        caCertPem: String? = null,
        pinSha256: String? = null,
        allowInsecureHttp: Boolean = false,
    ): LoginInfo = call { it.login(serverUrl, user, password, caCertPem, pinSha256, allowInsecureHttp) }

    /** Pushes everything unsent and pulls everything new; [syncState] follows its progress. */
    suspend fun syncNow(): SyncResult = call { it.syncNow() }

    /** Tells the core whether the phone has a network (from ConnectivityManager); going online wakes the sync. */
    suspend fun setOnline(online: Boolean) {
        call { it.setOnline(online) }
        if (!online) listener.state.value = SyncState.Offline
        else if (listener.state.value == SyncState.Offline) listener.state.value = SyncState.Idle
    }

    /** Pending changes, last sync, server and user, for the sync screen. */
    suspend fun syncStatus(): SyncStatus = call { it.syncStatus() }

    /** Documents set aside for hand-over (the server refused them as out of scope); nothing is dropped silently. */
    suspend fun setAsideDocs(): List<SetAsideDoc> = call { it.setAsideDocs() }

    /**
     * Hands over the signed-in account's unsynced work so that another account can sign in on this phone: it is
     * set aside (listed by [setAsideDocs], exportable). Returns how many documents. Signing in as another account
     * is refused with [DoorstepError.Refused] code `unsynced_work` until this is done or the work is synced.
     */
    suspend fun setAsideUnsynced(): Long = call { it.setAsideUnsynced() }.toLong()

    /** Starts syncing in the background whenever online and something changed. */
    suspend fun startBackgroundSync(): BackgroundSync = BackgroundSync(call { it.startBackgroundSync() })

    /**
     * Attaches the file at [path] to a visit or screening; [mediaType] is sniffed from the bytes when null. Limits
     * and the device quota fail with [DoorstepError.AttachmentRefused], naming the limit.
     */
    suspend fun attachFile(
        docId: String,
        path: File,
        kind: AttachmentKind,
        caption: String = "",
        mediaType: String? = null,
    ): AttachmentRef = call { it.attachFile(docId, path.path, kind, caption, mediaType) }

    /** Attaches bytes (a downscaled photo, a drawn signature) to a visit or screening. */
    suspend fun attachBytes(
        docId: String,
        bytes: ByteArray,
        kind: AttachmentKind,
        caption: String = "",
        mediaType: String? = null,
    ): AttachmentRef = call { it.attachBytes(docId, bytes, kind, caption, mediaType) }

    /** The attachments of a visit or screening, with whether each is on the phone and uploaded. */
    suspend fun attachments(docId: String): List<Attachment> = call { it.listAttachments(docId) }

    /** The bytes of an attachment, downloaded first when they are not on the phone. */
    suspend fun openAttachment(hash: String): ByteArray = call { it.openAttachment(hash) }

    /** Removes an attachment from a visit or screening. */
    suspend fun detach(docId: String, hash: String) = call { it.detach(docId, hash) }

    suspend fun attachmentLimits(): AttachmentLimits = call { it.attachmentLimits() }

    /** Sets the size limits and the device quota of attachments. */
    suspend fun setAttachmentLimits(limits: AttachmentLimits) = call { it.setAttachmentLimits(limits) }

    /**
     * Tells the core the kind of network (from ConnectivityManager's NET_CAPABILITY_NOT_METERED) and whether the
     * user allows photos over mobile data; signatures upload on any network.
     */
    suspend fun setNetwork(kind: NetworkKind, allowMetered: Boolean = false) =
        call { it.setNetwork(kind, allowMetered) }

    override fun close() {
        runCatching { core.clearSyncListener() }
        core.close()
    }
}

/** Runs a core call and rethrows its exception as the app's [DoorstepError]. */
internal inline fun <T> mapErrors(block: () -> T): T =
    try {
        block()
    } catch (e: DoorstepException) {
        throw e.toDoorstepError()
    }
