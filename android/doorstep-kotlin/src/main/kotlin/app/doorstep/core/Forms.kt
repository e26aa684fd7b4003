package app.doorstep.core

/*
 * Checks a form runs while the user types. They are pure, quick computations in the core (no disk, no network),
 * so they are plain functions the UI may call on any thread.
 */

/** Blood-pressure grade, glucose band, BMI band and suggested referral of the numbers typed so far. */
fun classify(screening: Screening): Classification = uniffi.doorstep_core.classifyScreening(screening)

/** Every problem of a screening form, each naming its field. */
fun validate(screening: Screening): List<FieldError> = uniffi.doorstep_core.validateScreening(screening)

/** Every problem of a visit form, each naming its field. */
fun validate(visit: Visit): List<FieldError> = uniffi.doorstep_core.validateVisit(visit)

/** Every problem of a household form, each naming its field. */
fun validate(household: Household): List<FieldError> = uniffi.doorstep_core.validateHousehold(household)

/** A national ID as lists show it (birth date and sequence hidden). */
fun maskNationalId(id: String): String = uniffi.doorstep_core.maskNationalId(id)
