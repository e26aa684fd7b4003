package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.jsonPrimitive
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter

/**
 * What a document is, in words a helper recognises: the core names documents by id only, but a screen that lists
 * conflicts or set-aside records must say "王大山's household" or "the visit of 2026-11-03".
 */
sealed interface RecordLabel {
    val docId: String

    data class Household(
        override val docId: String,
        val number: String,
        val headName: String,
        /** Member ids to names, so a field such as `members.<id>.name` can name the person. */
        val members: Map<String, String> = emptyMap(),
    ) : RecordLabel

    data class Visit(override val docId: String, val householdId: String, val headName: String, val date: String) :
        RecordLabel

    data class Screening(
        override val docId: String,
        val householdId: String,
        val memberName: String,
        val date: String,
    ) : RecordLabel

    /** A document this device cannot read as one of the three (it was deleted, or is of a newer kind). */
    data class Unknown(override val docId: String) : RecordLabel

    companion object {
        /** A label from a record's JSON (as set-aside documents carry it), without asking the store. */
        fun fromJson(docId: String, kind: String, recordJson: String): RecordLabel {
            val o = runCatching { Json.parseToJsonElement(recordJson) as? JsonObject }.getOrNull() ?: return Unknown(docId)
            fun text(key: String) = (o[key] as? JsonPrimitive)?.takeIf { it.isString }?.content.orEmpty()
            return when (kind) {
                "household" -> Household(docId, text("number"), text("head_name"))
                "visit" -> Visit(docId, text("household_id"), "", text("date"))
                "screening" -> Screening(docId, text("household_id"), "", text("date"))
                else -> Unknown(docId)
            }
        }
    }
}

/** Looks documents up in the store once each, for labelling a list of them. */
internal class RecordLabels(private val client: DoorstepClient) {
    private val households = HashMap<String, RecordLabel.Household?>()
    private val labels = HashMap<String, RecordLabel>()

    private suspend fun household(id: String): RecordLabel.Household? = households.getOrPut(id) {
        try {
            val h = client.household(id)
            RecordLabel.Household(id, h.number, h.headName, h.members.mapValues { it.value.name })
        } catch (_: DoorstepError.NotFound) {
            null
        }
    }

    /** The household a document belongs to (itself for a household), or null when it is none of the three. */
    suspend fun householdOf(docId: String): String? = when (val l = of(docId)) {
        is RecordLabel.Household -> l.docId
        is RecordLabel.Visit -> l.householdId
        is RecordLabel.Screening -> l.householdId
        is RecordLabel.Unknown -> null
    }

    suspend fun of(docId: String): RecordLabel = labels[docId] ?: find(docId).also { labels[docId] = it }

    private suspend fun find(docId: String): RecordLabel {
        household(docId)?.let { return it }
        try {
            val v = client.visit(docId)
            return RecordLabel.Visit(docId, v.householdId, household(v.householdId)?.headName.orEmpty(), v.date)
        } catch (_: DoorstepError.NotFound) {
        }
        try {
            val s = client.screening(docId)
            val member = household(s.householdId)?.members?.get(s.memberId).orEmpty()
            return RecordLabel.Screening(docId, s.householdId, member, s.date)
        } catch (_: DoorstepError.NotFound) {
        }
        return RecordLabel.Unknown(docId)
    }
}

/**
 * A field's dotted path made readable: the ids inside it (of members, problems, measures) are taken out, leaving a
 * [key] such as `members.name` or `assurances.water.status` for the string table, and the member it is about.
 */
data class FieldLabel(val key: String, val memberName: String? = null) {
    companion object {
        /** Collections whose next path segment is an id, not a field name. */
        private val keyed = setOf("members", "problems", "measures")

        fun of(path: String, members: Map<String, String> = emptyMap()): FieldLabel {
            val parts = path.split('.')
            val kept = ArrayList<String>()
            var member: String? = null
            var i = 0
            while (i < parts.size) {
                kept += parts[i]
                if (parts[i] in keyed && i + 1 < parts.size) {
                    if (parts[i] == "members") member = members[parts[i + 1]] ?: ""
                    i += 2
                } else {
                    i += 1
                }
            }
            return FieldLabel(kept.joinToString("."), member?.ifEmpty { null })
        }
    }
}

/** A field's value as the core gives it (JSON text), in the form a screen shows it. */
sealed interface FieldValue {
    data class Text(val text: String) : FieldValue
    data class Number(val text: String) : FieldValue
    data class Bool(val value: Boolean) : FieldValue

    /** null or an empty string: the field was cleared. */
    data object Empty : FieldValue

    /** A nested record (a problem, a measure), shown as compact JSON. */
    data class Other(val json: String) : FieldValue

    companion object {
        fun parse(json: String): FieldValue {
            val e: JsonElement = runCatching { Json.parseToJsonElement(json) }.getOrNull() ?: return Other(json)
            return when {
                e is JsonNull -> Empty
                e is JsonPrimitive && e.isString -> if (e.content.isEmpty()) Empty else Text(e.content)
                e is JsonPrimitive && e.booleanOrNull != null -> Bool(e.jsonPrimitive.booleanOrNull!!)
                e is JsonPrimitive -> Number(e.content)
                else -> Other(e.toString())
            }
        }
    }
}

private val localTime = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")

/** Milliseconds since the epoch as the phone's local date and time; empty for 0 (unknown). */
fun formatLocalTime(ms: Long, zone: ZoneId = ZoneId.systemDefault()): String =
    if (ms <= 0) "" else localTime.format(Instant.ofEpochMilli(ms).atZone(zone))
