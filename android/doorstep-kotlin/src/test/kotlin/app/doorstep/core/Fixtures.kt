package app.doorstep.core

import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import java.time.LocalDate

/** Shared by the library's and the app logic's tests: fresh stores in temp dirs, and valid sample records. */
object Fixtures {
    /** A fresh random 32-byte key, as the app would keep in Android Keystore. */
    fun newKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

    /** A new empty directory for one test's stores. */
    fun tempDir(prefix: String = "doorstep-test"): Path = Files.createTempDirectory(prefix)

    /** Today as the core expects dates (`YYYY-MM-DD`). */
    fun today(): String = LocalDate.now().toString()

    /** A valid 18-character national ID for a birth date, with the ISO 7064 mod 11-2 check digit. */
    fun nationalId(region: String, birthDate: String, sequence: String): String {
        val body = region + birthDate.replace("-", "") + sequence
        require(body.length == 17) { "17 digits expected" }
        val weights = intArrayOf(7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        val sum = body.mapIndexed { i, c -> (c - '0') * weights[i] }.sum()
        return body + "10X98765432"[sum % 11]
    }

    /** A household of two in 石门村 assigned to [helper]. */
    fun household(helper: String = "helper1", number: String = "HH-001", village: String = "石门村"): Household =
        newHousehold(
            number = number,
            village = village,
            township = "清水镇",
            headName = "王大山",
            povertyStatus = PovertyStatus.MONITORED,
            helperIds = listOf(helper),
            members = listOf(
                newMember("王大山", Sex.MALE, "1961-03-05", Relation.HEAD,
                    nationalId = nationalId("522422", "1961-03-05", "123"), conditions = listOf(Condition.HYPERTENSION)),
                newMember("李秀英", Sex.FEMALE, "1964-08-19", Relation.SPOUSE),
            ),
        )
}
