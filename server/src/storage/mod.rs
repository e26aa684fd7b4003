//! The server's storage, behind one trait so that the embedded SQLite store and a PostgreSQL store are
//! interchangeable and the HTTP layer never sees SQL.
//!
//! Methods are synchronous and cheap to reason about; async code calls them through [`run`], which moves the call
//! onto tokio's blocking pool. A store for a networked database does the same (a blocking client per call, or its
//! own runtime handle), so the trait stays object-safe (`Arc<dyn Storage>`) without an async-trait crate.
//!
//! Inputs and outputs are plain types defined here. Everything that decides something — scope, actor binding,
//! how a pushed change is merged, how a page is cut — lives in `scope` and `sync` and is written once; a store only
//! reads and writes rows. A push runs as one unit of work ([`Storage::write`]): the store opens a transaction, hands
//! the sync logic a [`WriteTx`] and commits only if the logic returns `Ok` — so a refused push stores nothing and an
//! acknowledged one is durable.

pub mod assign;
#[cfg(test)]
pub mod conformance;
/// The storage contract: every case run on both stores.
#[cfg(test)]
mod contract;
pub mod postgres;
pub mod records;
pub mod sql;
pub mod sqlite;

pub use assign::Assign;
use doorstep_core::doc::Document;
use doorstep_core::model::{DocKind, Role};
use doorstep_core::store::index::IndexRows;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Results of storage calls.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Why a storage call failed, in the terms the HTTP layer and the CLI act on.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot take the write now (busy, locked, disk full, read-only): retry later, nothing is lost.
    #[error("storage is unavailable now: {0}")]
    Unavailable(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The named thing exists already.
    #[error("{0} already exists")]
    Exists(String),
    /// A pushed change was refused; the transaction is rolled back.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Anything else the database reported (corruption, a bug); kept for the log.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// Why the sync logic refused a push. Raised inside a unit of work, so nothing of the push is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("document {0} is outside this account's scope")]
    OutOfScope(String),
    /// A visit or screening of a household the server does not hold yet (it was recorded on another device that
    /// has not synced, or travels by another path). Not a scope decision: the device keeps it and pushes it again.
    #[error("document {doc}: its household {household} has not reached the server yet")]
    HouseholdUnknown { doc: String, household: String },
    #[error("actor {0} belongs to another device")]
    ForgedActor(String),
    #[error("{0}")]
    BadChange(String),
    #[error("{0}")]
    Forbidden(String),
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// The family-doctor team of a doctor (scope: the team's villages); empty for other roles.
    pub team: Option<String>,
    /// argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub disabled: bool,
    pub created_ms: i64,
    /// The person's name as colleagues know it (张三), shown on every page instead of the account name; empty
    /// until an admin sets it.
    pub display_name: String,
    /// The unit or team the person works for (a township office, a family-doctor team), printed on ledgers.
    pub unit: String,
    /// Set when an admin reset the password: the next sign-in must choose a new one before anything else.
    pub must_change_password: bool,
}

impl User {
    /// What a person reads: the display name, or the account name when none is set.
    pub fn shown_name(&self) -> &str {
        if self.display_name.trim().is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }
}

/// A device that logged in: one token, revocable on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub user: String,
    pub name: String,
    pub revoked: bool,
    pub created_ms: i64,
    pub last_seen_ms: Option<i64>,
    /// The app's `User-Agent` at sign-in or last sync (`doorstep/0.1.0`), so an admin sees who runs an old build.
    pub app_version: String,
}

/// The `areas` table's level and name of an area (both stores).
pub(crate) fn area_level(a: &Area) -> (&'static str, &str) {
    match a {
        Area::Township(t) => ("township", t),
        Area::Village(v) => ("village", v),
    }
}

/// A supervisor's area is a list of townships and villages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Township(String),
    Village(String),
}

/// What an account or team is given; adding one grows its scope, removing one shrinks it (`assign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A helper in charge of a household (`assignments`).
    Helper { helper: String, household: String },
    /// A family-doctor team serving a village (`team_villages`).
    Team { team: String, village: String },
    /// A township or village in a supervisor's area (`areas`).
    Area { user: String, area: Area },
    /// An inspector's time-limited access to a village (`inspector_grants`).
    Grant(Grant),
}

impl Link {
    /// Whose scope the link changes and which documents it covers.
    pub fn scope(&self) -> ScopeEvent {
        let (subject, target) = match self {
            Link::Helper { helper, household } => (Subject::User(helper.clone()), Target::Household(household.clone())),
            Link::Team { team, village } => (Subject::Team(team.clone()), Target::Village(village.clone())),
            Link::Area { user, area: Area::Township(t) } => (Subject::User(user.clone()), Target::Township(t.clone())),
            Link::Area { user, area: Area::Village(v) } => (Subject::User(user.clone()), Target::Village(v.clone())),
            Link::Grant(g) => (Subject::User(g.user.clone()), Target::Village(g.village.clone())),
        };
        ScopeEvent { subject, target }
    }
}

/// An inspector's access to one village (互查), ending by itself after `until` (inclusive, `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user: String,
    pub village: String,
    pub until: String,
}

/// What the stored assignments say about one account; `scope::Scope` turns it into a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeFacts {
    /// Households assigned to the account (helpers).
    pub households: BTreeSet<String>,
    /// Villages of the account's team (doctors).
    pub team_villages: BTreeSet<String>,
    /// The account's area (supervisors).
    pub areas: Vec<Area>,
    /// The account's inspector grants, expired ones included (scope filters them by date).
    pub grants: Vec<Grant>,
}

/// One line of the audit log of admin actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// The two levels of place the server knows: a township (乡镇) and its villages (行政村). Scope, team villages,
/// areas and inspector grants all name places, so the server keeps the list and refuses names not on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlaceKind {
    Township,
    Village,
}

impl PlaceKind {
    /// The stored and typed code.
    pub fn code(self) -> &'static str {
        match self {
            PlaceKind::Township => "township",
            PlaceKind::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "township" => Some(PlaceKind::Township),
            "village" => Some(PlaceKind::Village),
            _ => None,
        }
    }

    /// The word people read, in Chinese or English.
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (PlaceKind::Township, "zh") => "乡镇",
            (PlaceKind::Village, "zh") => "村",
            (PlaceKind::Township, _) => "township",
            (PlaceKind::Village, _) => "village",
        }
    }
}

/// How the server came to know a place: an admin added it, it was found in existing data when places became a
/// list of their own, or a device pushed a household into a village nobody had added (kept, never lost, and shown
/// to the admin to confirm or rename).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceOrigin {
    Admin,
    Migration,
    Device,
}

impl PlaceOrigin {
    pub fn code(self) -> &'static str {
        match self {
            PlaceOrigin::Admin => "admin",
            PlaceOrigin::Migration => "migration",
            PlaceOrigin::Device => "device",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "migration" => PlaceOrigin::Migration,
            "device" => PlaceOrigin::Device,
            _ => PlaceOrigin::Admin,
        }
    }
}

/// A township or village the server knows. Names are unique per level across the server (scope names villages
/// without their township).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub kind: PlaceKind,
    pub name: String,
    /// A village's township; empty for a township (and for a village a device reported without one).
    pub township: String,
    pub origin: PlaceOrigin,
    pub created_ms: i64,
    /// Live households placed there (filled when listing; ignored when adding).
    pub households: u64,
}

/// Which households a console look-up wants; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HouseholdFilter {
    /// Exactly these household ids.
    pub ids: Vec<String>,
    pub village: Option<String>,
    pub township: Option<String>,
    /// The household number, or its beginning.
    pub number: Option<String>,
    /// Part of the head's or a member's name (or of the number, village or address: the index's search text).
    pub name: Option<String>,
    /// At most this many, in village and number order.
    pub limit: u32,
}

/// A household as the console lists it, from the derived index rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdSummary {
    pub id: String,
    pub number: String,
    pub township: String,
    pub village: String,
    pub head_name: String,
    /// `PovertyStatus` code.
    pub status: String,
    /// Helpers in charge: the household's own `helper_ids` and the server's assignments together, sorted.
    pub helpers: Vec<String>,
}

/// One visit of a household, newest first, for `household show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitSummary {
    pub id: String,
    pub date: String,
    /// `VisitKind` code.
    pub kind: String,
    pub visitor: String,
}

/// Where a document belongs, which is what scope is decided on: its household and that household's village.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// The household itself for a household, the visited household for a visit or screening; none for rules.
    pub household_id: Option<String>,
    pub village: String,
    pub township: String,
}

/// A merged document as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    pub id: String,
    pub kind: DocKind,
    /// The saved (compacted) Automerge document: what a device bootstraps from.
    pub bytes: Vec<u8>,
    pub heads: Vec<String>,
    /// Sequence of the document's first and latest change on this server.
    pub first_seq: u64,
    pub last_seq: u64,
    pub placement: Placement,
    pub updated_ms: i64,
}

impl StoredDoc {
    /// Parses the saved bytes into a document (with a throwaway actor: the server only reads it).
    pub fn document(&self) -> doorstep_core::Result<Document> {
        Document::load(&self.bytes, &automerge::ActorId::random())
    }

    /// The places a saved household names, `(kind, name, township)` as `sql::DEVICE_PLACE` takes them: a household
    /// in a place nobody added is kept, and its place is listed for the admin to confirm or rename.
    pub fn device_places(&self) -> Vec<(&'static str, &str, &str)> {
        let p = &self.placement;
        if self.kind != DocKind::Household {
            return vec![];
        }
        let village = (!p.village.is_empty()).then_some(("village", p.village.as_str(), p.township.as_str()));
        let township = (!p.township.is_empty()).then_some(("township", p.township.as_str(), ""));
        village.into_iter().chain(township).collect()
    }
}

/// Who owns an Automerge actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorOwner {
    pub device_id: String,
    pub user: String,
    pub revoked: bool,
}

/// A pushed change as it is stored, with the sequence the server gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub seq: u64,
    pub hash: String,
    pub doc_id: String,
    pub actor: String,
    pub device_id: String,
    pub received_ms: i64,
    pub bytes: Vec<u8>,
}

/// A stored change's metadata, for history pages ("received when, from which device").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeInfo {
    pub seq: u64,
    pub hash: String,
    pub actor: String,
    pub device_id: String,
    pub received_ms: i64,
}

/// Who gained access to what, recorded in the same sequence as changes so that a device whose cursor is already
/// past a document still receives it (as a snapshot) once it enters the device's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeEvent {
    pub subject: Subject,
    pub target: Target,
}

impl ScopeEvent {
    /// The four columns an event or a loss is stored as: subject kind and name, target kind and name.
    pub fn columns(&self) -> [&str; 4] {
        let (sk, s) = match &self.subject {
            Subject::User(u) => ("user", u.as_str()),
            Subject::Team(t) => ("team", t.as_str()),
            Subject::Anyone => ("anyone", ""),
        };
        let (tk, t) = match &self.target {
            Target::Household(h) => ("household", h.as_str()),
            Target::Village(v) => ("village", v.as_str()),
            Target::Township(t) => ("township", t.as_str()),
        };
        [sk, s, tk, t]
    }
}

/// Whose scope grew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Team(String),
    /// Everyone who can see the target now (a household moved to another village).
    Anyone,
}

/// Which documents entered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A household and its visits and screenings.
    Household(String),
    Village(String),
    Township(String),
}

/// Which documents a device may read, as plain data a store turns into a query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Visibility {
    pub all: bool,
    pub households: BTreeSet<String>,
    pub villages: BTreeSet<String>,
    pub townships: BTreeSet<String>,
}

/// A pull: what the device has seen (`cursor`), who it is and what it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullQuery {
    pub cursor: u64,
    pub device_id: String,
    pub user: String,
    pub team: Option<String>,
    pub visible: Visibility,
}

/// How a candidate reaches the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// The document is new to the device (cursor 0 or created after the cursor): send its snapshot.
    NewDoc,
    /// A change (by another device) to a document the device already has.
    Change,
    /// The document entered the device's scope after the cursor: send its snapshot.
    EnteredScope,
}

/// One thing a pull may send, at the sequence position where it happened. Sizes let the page be cut by bytes
/// before any bytes are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub seq: u64,
    pub doc_id: String,
    pub kind: DocKind,
    pub how: CandidateKind,
    /// Bytes of the change (for `Change`) or of the saved document (otherwise).
    pub len: u64,
}

/// One attachment a live visit or screening refers to, as the server learns it when it stores a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlobRef {
    /// Lowercase hex SHA-256 of the bytes (`doorstep_core::attachment::is_valid_hash`).
    pub hash: String,
    pub media_type: String,
    pub size: u64,
}

/// What the server records of one blob: metadata from the first reference, and whether its bytes are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub hash: String,
    pub media_type: String,
    pub size: u64,
    /// True once the bytes were verified and moved into the blob store.
    pub complete: bool,
    pub stored_ms: Option<i64>,
}

/// A live document that refers to a blob, with where it belongs (to decide scope) and what it says of the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobReferrer {
    pub doc_id: String,
    pub placement: Placement,
    pub media_type: String,
    pub size: u64,
}

/// The unit of work of a push (and of server-authored edits): reads and writes inside one transaction.
pub trait WriteTx {
    /// Raises the device's cursor floor to `cursor` (never above the sequence head) and returns the floor: the
    /// highest cursor the device ever sent, or the head when it signed in. A device may write into a document its
    /// account lost only while its floor is before the loss, so replaying an old cursor, or signing in a new phone
    /// after the loss, does not reopen the door. Writes nothing when the floor does not rise.
    fn raise_cursor_floor(&mut self, device_id: &str, cursor: u64) -> Result<u64>;
    /// Reads at once what `doc` and `change_exists` will ask for these ids and hashes, where a round trip per
    /// question costs (PostgreSQL); a store that reads in-process answers each as it comes and reads nothing here.
    fn prefetch(&mut self, doc_ids: &[&str], hashes: &[&str]) -> Result<()>;
    /// The merged document with this id.
    fn doc(&mut self, id: &str) -> Result<Option<StoredDoc>>;
    /// Whether a change with this hash is stored already (pushing one twice is harmless).
    fn change_exists(&mut self, hash: &str) -> Result<bool>;
    /// The device an Automerge actor is bound to.
    fn actor_device(&mut self, actor: &str) -> Result<Option<String>>;
    fn bind_actor(&mut self, actor: &str, device_id: &str, now_ms: i64) -> Result<()>;
    /// The device an actor is bound to, with that device's account and whether it is revoked.
    fn actor_owner(&mut self, actor: &str) -> Result<Option<ActorOwner>>;
    /// Moves an actor to another device of the same account (signed in again after a revocation).
    fn rebind_actor(&mut self, actor: &str, device_id: &str, now_ms: i64) -> Result<()>;
    /// The next server sequence number. Never lower than any sequence already committed or handed out.
    fn next_seq(&mut self) -> Result<u64>;
    fn insert_change(&mut self, change: &NewChange) -> Result<()>;
    /// Writes the merged document and its placement, and rebuilds its derived index rows (`ix_*`).
    fn save_doc(&mut self, doc: &StoredDoc, document: &mut Document) -> Result<()> {
        // The record is saved beside its document, so pages read it without parsing the document.
        let (rows, record) = doorstep_core::store::index::derive_with_record(&doc.id, doc.kind, document)?;
        self.save_derived(doc, rows, record)
    }
    /// `save_doc` with the index rows and packed record already derived from the document (a push derives them
    /// before it waits for the writer).
    fn save_derived(&mut self, doc: &StoredDoc, rows: IndexRows, record: Option<Vec<u8>>) -> Result<()>;
    /// Moves a household's visits and screenings with it when its village changes.
    fn move_dependents(&mut self, household_id: &str, placement: &Placement) -> Result<()>;
    /// Fails with `NotFound` unless an account of that name exists.
    fn require_user(&mut self, name: &str) -> Result<()>;
    /// Adds a link (`sql::link`); true when it was not there before.
    fn link(&mut self, link: &Link) -> Result<bool>;
    /// Removes a link (`sql::unlink`); true when it was there.
    fn unlink(&mut self, link: &Link) -> Result<bool>;
    /// Records a scope event at a fresh sequence number.
    fn scope_event(&mut self, event: &ScopeEvent) -> Result<u64>;
    /// Records that the event's subject lost its target, at a fresh sequence number, so that its devices learn at
    /// their next sync what to wipe.
    fn scope_loss(&mut self, loss: &ScopeEvent) -> Result<u64>;
    /// Records, for a household that moved away from `old` (its village or township changed), a loss of that
    /// household for every team, area and inspector grant that covers `old`; those who still see it where it is now
    /// (a supervisor of the whole township) are filtered out when a page lists what to wipe.
    fn record_move_loss(&mut self, household_id: &str, old: &Placement) -> Result<()>;
    /// Whether the account (or its team) lost a scope holding `placement` after sequence `cursor`: a device that
    /// has not yet synced past that loss wrote its changes while the document was still its own, so they are
    /// accepted rather than lost.
    fn lost_after(&mut self, user: &str, team: Option<&str>, cursor: u64, placement: &Placement) -> Result<bool>;
    /// Replaces the set of blobs a document refers to (empty for a tombstoned one), recording a blob not seen
    /// before as not yet uploaded.
    fn set_blob_refs(&mut self, doc_id: &str, refs: &[BlobRef]) -> Result<()>;
}

/// Everything the server stores. One implementation per database; `sqlite::SqliteStorage` is the default.
pub trait Storage: Send + Sync + 'static {
    // Accounts.
    fn add_user(&self, user: &User) -> Result<()>;
    fn user(&self, name: &str) -> Result<Option<User>>;
    fn users(&self) -> Result<Vec<User>>;
    fn set_disabled(&self, name: &str, disabled: bool) -> Result<()>;
    /// Sets the name people read and the unit of an account. `NotFound` for an unknown account.
    fn set_profile(&self, name: &str, display_name: &str, unit: &str) -> Result<()>;
    /// Replaces an account's password hash; `must_change` makes the next sign-in choose a new one.
    fn set_password(&self, name: &str, password_hash: &str, must_change: bool) -> Result<()>;

    // Devices and tokens (only the token's SHA-256 is stored).
    fn add_device(&self, device: &Device, token_sha256: &str) -> Result<()>;
    /// The device holding this token, revoked or not, and its account.
    fn device_by_token(&self, token_sha256: &str) -> Result<Option<(Device, User)>>;
    fn devices(&self) -> Result<Vec<Device>>;
    fn revoke_device(&self, id: &str) -> Result<()>;
    /// Records a device's last sync and the app version it sent.
    fn touch_device(&self, id: &str, now_ms: i64, app_version: &str) -> Result<()>;
    /// `WriteTx::raise_cursor_floor` in a unit of work of its own (a sync that pushes nothing).
    fn raise_cursor_floor(&self, id: &str, cursor: u64) -> Result<u64> {
        let mut floor = 0;
        self.write(&mut |tx| {
            floor = tx.raise_cursor_floor(id, cursor)?;
            Ok(())
        })?;
        Ok(floor)
    }

    // Assignments are added and removed through `assign::Assign`, over `write`.
    fn scope_facts(&self, user: &str) -> Result<ScopeFacts>;
    /// Records, once, the loss of each village whose inspector grant ended before `today` (`YYYY-MM-DD`) since it
    /// was last granted; returns how many were recorded. Called when the inspector syncs, so a grant that simply
    /// runs out also makes the inspector's devices upload, then wipe.
    fn record_ended_grants(&self, user: &str, today: &str) -> Result<u64>;
    /// The documents under the scope losses of `query`'s account (or team) recorded after `query.cursor` and up to
    /// `up_to`, with their placement (the sync logic keeps those the account no longer sees).
    fn lost_docs(&self, query: &PullQuery, up_to: u64) -> Result<Vec<(String, Placement)>>;

    // Places: the townships and villages the server knows (`Place`).
    /// Every place, townships first, then villages by township and name, with their live households counted.
    fn places(&self) -> Result<Vec<Place>>;
    /// Adds a place; true when it is new, false when it confirms one a device reported. `Exists` when an admin
    /// (or the migration) added it already.
    fn add_place(&self, place: &Place) -> Result<bool>;
    /// Renames a place and every assignment naming it (team villages, areas, inspector grants, a township's
    /// villages), in one transaction. The households' own documents are edited by the caller, through sync.
    /// `NotFound` for an unknown `old`; `Exists` when `new` is taken, unless `old` is a name a device reported
    /// (a misspelling on a phone): then it merges into `new`.
    fn rename_place(&self, kind: PlaceKind, old: &str, new: &str) -> Result<()>;

    // Console look-ups over the derived index rows.
    /// Live households matching `filter`, in village and number order.
    fn find_households(&self, filter: &HouseholdFilter) -> Result<Vec<HouseholdSummary>>;
    /// A household's latest live visits, newest first.
    fn household_visits(&self, household_id: &str, limit: u32) -> Result<Vec<VisitSummary>>;

    // Browser sessions, kept in the database so that every server process on it honours them (no sticky balancing)
    // and a restart signs nobody out. Keyed by the SHA-256 of the cookie's token.
    /// Records a session; drops sessions started before `expired_before_ms` on the way.
    fn session_start(&self, digest: &str, user: &str, csrf: &str, now_ms: i64, expired_before_ms: i64) -> Result<()>;
    /// A session: `(user, csrf token, started in ms)`.
    fn session(&self, digest: &str) -> Result<Option<(String, String, i64)>>;
    /// Ends one session.
    fn session_end(&self, digest: &str) -> Result<()>;
    /// Ends every session of an account (it was disabled).
    fn sessions_end_user(&self, user: &str) -> Result<()>;

    // Failed sign-ins, kept in the database so that every server process on it slows guessing together.
    /// Failures recorded under these keys (`u:NAME` per account, `a:ADDRESS` per address): `(key, count, last
    /// failure in ms)`.
    fn login_failures(&self, keys: &[String]) -> Result<Vec<(String, u32, i64)>>;
    /// Records one failure under each key at `now_ms`; a key quiet for more than `forgive_ms` starts again at one.
    fn login_failed(&self, keys: &[String], now_ms: i64, forgive_ms: i64) -> Result<()>;
    /// Forgets the failures of a key (a successful sign-in).
    fn login_succeeded(&self, key: &str) -> Result<()>;

    // Audit log of admin actions.
    fn audit(&self, entry: &AuditEntry) -> Result<()>;
    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>>;

    // Documents and changes.
    /// Runs `work` in one transaction, committed only when it returns `Ok`.
    fn write(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()>;
    fn doc(&self, id: &str) -> Result<Option<StoredDoc>>;
    /// Metadata of a document's stored changes, in sequence order.
    fn doc_changes(&self, id: &str) -> Result<Vec<ChangeInfo>>;
    /// The highest sequence committed, and everything a pull after `query.cursor` may send, in sequence order.
    fn pull_candidates(&self, query: &PullQuery) -> Result<(u64, Vec<Candidate>)>;
    /// Like `pull_candidates`, but a store may stop after about `limit` candidates to bound memory. It then returns
    /// the sequence up to which the candidates are complete and `true`; candidates above that sequence may be
    /// included and are ignored.
    fn pull_candidates_limited(&self, query: &PullQuery, limit: usize) -> Result<(u64, Vec<Candidate>, bool)>;
    /// Raw bytes of changes by sequence.
    fn change_bytes(&self, seqs: &[u64]) -> Result<Vec<(u64, Vec<u8>)>>;
    /// Saved documents by id (snapshots).
    fn docs(&self, ids: &[String]) -> Result<Vec<StoredDoc>>;
    /// The records saved beside the given documents (`index::derive_with_record`), `(id, packed record)`
    /// (`model::packed`), for those that have one: a ledger reads a month of visits without parsing their documents.
    fn records(&self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>>;
    /// Replaces the records packed beside these documents, `(id, packed record)`, in one transaction (`records`).
    fn set_records(&self, records: &[(String, Vec<u8>)]) -> Result<()>;

    // Blobs (attachments): references are written by `WriteTx::set_blob_refs`, bytes live in `crate::blobs`.
    /// What is recorded of a blob; None when no document ever referred to it.
    fn blob(&self, hash: &str) -> Result<Option<BlobInfo>>;
    /// The live documents that refer to a blob, with their placement (scope is decided on it).
    fn blob_referrers(&self, hash: &str) -> Result<Vec<BlobReferrer>>;
    /// Records that a blob's bytes are verified and stored, with the media type and size they were checked for.
    fn blob_stored(&self, hash: &str, media_type: &str, size: u64, now_ms: i64) -> Result<()>;
    /// The blobs these documents refer to, as `(doc_id, reference)` ordered by document and hash (pages, ledgers).
    fn blob_refs_of(&self, doc_ids: &[String]) -> Result<Vec<(String, BlobRef)>>;
    /// Every hash at least one live document refers to (garbage collection keeps exactly these).
    fn referenced_blobs(&self) -> Result<BTreeSet<String>>;
    /// Hashes of blob records no live document refers to (garbage collection forgets those without bytes too).
    fn unreferenced_blob_records(&self) -> Result<Vec<String>>;
    /// Forgets a blob's record if no live document refers to it; true when it did (its bytes may then go).
    fn forget_blob(&self, hash: &str) -> Result<bool>;
    /// Ids of stored documents after `after` in id order, at most `limit`: a walk over every document in pages.
    fn doc_ids_after(&self, after: &str, limit: u32) -> Result<Vec<String>>;
    /// A value the server keeps about itself (`sql::DOCUMENT_FORMAT`).
    fn meta(&self, key: &str) -> Result<Option<String>>;
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}

/// Storage shared by every request handler.
pub type SharedStorage = Arc<dyn Storage>;

/// Runs a storage call on tokio's blocking pool, so a slow disk never stalls the async workers.
pub async fn run<T, F>(storage: &SharedStorage, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> Result<T> + Send + 'static,
{
    let storage = storage.clone();
    tokio::task::spawn_blocking(move || f(storage.as_ref()))
        .await
        .map_err(|e| StorageError::Internal(format!("storage task failed: {e}")))?
}

/// Milliseconds since the epoch on the server's clock (only for display and audit, never for ordering).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A document's row in `docs`, without its bytes: what a report needs to place and cache it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMeta {
    pub id: String,
    pub kind: DocKind,
    pub last_seq: u64,
    /// When the server received its first and its last change: whether it existed at the end of a past day, and
    /// whether it changed after.
    pub created_ms: i64,
    pub updated_ms: i64,
    pub placement: Placement,
}

/// The reads the reports are computed from, all inside one consistent read of the database (one snapshot), so
/// every figure of a page comes from the same state. Each store answers them in its own SQL; what is computed
/// from them is written once, in `crate::reports`.
pub trait ReportRead {
    /// The highest sequence number handed out.
    fn head(&mut self) -> Result<u64>;
    /// The sequence of the last change received by `cutoff_ms`, 0 when none was (`sql::HEAD_AT`).
    fn head_at(&mut self, cutoff_ms: i64) -> Result<u64>;
    /// The metadata of every stored document in scope and of the schedule rules (listed twice when the scope
    /// holds them too: `sql::DOC_METAS`).
    fn doc_metas(&mut self) -> Result<Vec<DocMeta>>;
    /// The saved bytes of the given documents (those that exist).
    fn doc_bytes(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>>;
    /// The records saved beside the given documents (`index::derive_with_record`), for those that have one.
    fn doc_records(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>>;
    /// The records of every household and screening in scope, in one pass (`doc_records` for most of them), each
    /// given to `each` as `(id, packed record)` where the store holds it.
    fn scope_records(&mut self, each: &mut dyn FnMut(&str, &[u8])) -> Result<()>;
    /// Helper assignments recorded by the server, `(household_id, helper)` ordered by helper, optionally only those
    /// made by a cutoff.
    fn assignments(&mut self, cutoff_ms: Option<i64>) -> Result<Vec<(String, String)>>;
    /// Live (not deleted) visits' index rows, ordered by date and id.
    fn visits(&mut self) -> Result<Vec<doorstep_core::store::index::VisitRow>>;
    /// Problems of live visits, ordered by date, visit and problem id.
    fn problems(&mut self) -> Result<Vec<doorstep_core::store::index::ProblemRow>>;
    /// Live screenings' index rows, ordered by date and id.
    fn screenings(&mut self) -> Result<Vec<doorstep_core::store::index::ScreeningRow>>;
    /// Documents with unresolved conflicts.
    fn conflicts(&mut self) -> Result<Vec<doorstep_core::store::index::ConflictRow>>;
    /// The bytes of a document's changes received by `cutoff_ms`, in sequence order.
    fn changes_until(&mut self, doc_id: &str, cutoff_ms: i64) -> Result<Vec<Vec<u8>>>;
    /// The places of the live households in scope, `(township, village)`, sorted.
    fn places(&mut self) -> Result<Vec<(String, String)>>;
    /// What the server changed after sequence `since`, whatever the scope (what cached figures must forget).
    fn changed_since(&mut self, since: u64) -> Result<Changed>;
}

/// What changed after a sequence number: the documents (with where they are placed now) and whether anyone's
/// scope changed (an assignment, a grant, a move).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// `(doc_id, kind, placement)` of the documents changed (all of them unless `many`).
    pub docs: Vec<(String, DocKind, Placement)>,
    /// More documents changed than are listed (`sql::CHANGED_LIMIT`): whatever was kept of them is stale.
    pub many: bool,
    pub scope: bool,
}

impl Changed {
    /// From the rows of `sql::CHANGED_DOCS` and whether a scope changed.
    pub fn of(mut docs: Vec<(String, DocKind, Placement)>, scope: bool) -> Self {
        let many = docs.len() > sql::CHANGED_LIMIT;
        docs.truncate(sql::CHANGED_LIMIT);
        Self { docs, many, scope }
    }
}

/// Which documents a report reads: those an account may see (the rule sync uses, applied in SQL), optionally only
/// one township's, one village's, one household's or one helper's (a page reads what it shows). The schedule rules
/// are always read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ReportScope {
    pub visible: Visibility,
    pub township: Option<String>,
    /// Several whole townships read together (none: no such limit): an area's overview is counted a few townships
    /// per read, since each read's queries cost PostgreSQL a millisecond of planning whatever their size.
    pub townships: Vec<String>,
    pub village: Option<String>,
    /// One household alone (its page).
    pub household: Option<String>,
    /// The households of one helper (theirs by the record or by the server's assignment: the helper's page).
    pub helper: Option<String>,
    /// Only documents whose first change the server received by this time (an "as of" view reads no document
    /// created after its day).
    pub received_by: Option<i64>,
}

impl ReportScope {
    /// Everything the server holds.
    pub fn everything() -> Self {
        Self { visible: Visibility { all: true, ..Default::default() }, ..Default::default() }
    }
}

/// A store that can open a consistent read for the reports ([`ReportRead`]).
pub trait ReportSource: Send + Sync + 'static {
    /// Runs `work` inside one read transaction whose reads return only documents in `scope` (and their rows).
    fn read(&self, scope: &ReportScope, work: &mut (dyn FnMut(&mut dyn ReportRead) -> Result<()> + Send))
        -> Result<()>;
    /// The figures kept for the page frame `frame` (`sql::KEPT_TALLIES`), or only those of one township
    /// (`sql::KEPT_TALLIES_IN`).
    fn kept_tallies(&self, frame: &str, township: Option<&str>) -> Result<Vec<KeptTally>>;
    /// Keeps `tallies` for `frame` in one transaction, replacing what was kept of the same villages, and forgets
    /// the tallies written more than `sql::TALLY_KEPT_MS` before `now_ms` (frames of past days).
    fn keep_tallies(&self, frame: &str, tallies: &[KeptTally], now_ms: i64) -> Result<()>;
}

/// A village's figures for one page frame as the database keeps them (schema 11, `sql::V11_TALLIES`): what a
/// restarted server reads instead of counting the village again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptTally {
    pub township: String,
    pub village: String,
    /// The sequence the figures are current at.
    pub seq: u64,
    /// The figures and the households counted, encoded by the pages (postcard).
    pub body: Vec<u8>,
}
