//! The one migration runner: the device store and both server stores bring their schemas up to date through
//! [`run`], so "skip the steps already applied, refuse a newer schema, apply the rest in order" cannot drift
//! between three copies. What differs per database (where the version lives, how steps group into transactions)
//! stays behind [`Database`].

use rusqlite::{Connection, Transaction};

/// One schema version: the SQL batches, run in order, that bring the version before it to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub version: i64,
    pub sql: &'static [&'static str],
}

/// A database as the runner sees it: it reports the version it holds, runs a batch of SQL and records a version.
/// Generic over the error so each store keeps its own (`rusqlite::Error`, the server's `StorageError`).
pub trait Database {
    type Error;

    /// The schema version the database holds; 0 for a new, empty one.
    fn version(&mut self) -> Result<i64, Self::Error>;

    /// Runs one batch of SQL statements.
    fn run_batch(&mut self, sql: &str) -> Result<(), Self::Error>;

    /// Records `version` as the one the database now holds.
    fn record_version(&mut self, version: i64) -> Result<(), Self::Error>;

    /// Applies one step: its batches in order, then its version. A database that makes each step atomic on its own
    /// (SQLite) overrides this to wrap it in a transaction; one already inside a transaction keeps the default.
    fn apply(&mut self, step: &Step) -> Result<(), Self::Error> {
        for sql in step.sql {
            self.run_batch(sql)?;
        }
        self.record_version(step.version)
    }
}

/// The database holds a schema newer than this build knows: opening it could misread or damage it, so it is
/// refused. Each caller turns it into its own error (the core's `Error::NewerSchema`, the server's message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewerSchema {
    pub found: i64,
    pub supported: i64,
}

impl std::fmt::Display for NewerSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "newer schema: found {}, this build supports {}", self.found, self.supported)
    }
}

/// Why [`run`] stopped: a newer schema (nothing was touched) or the database's own error (the steps before the
/// failing one stay applied where each step commits on its own).
#[derive(Debug)]
pub enum Failure<E> {
    Newer(NewerSchema),
    Database(E),
}

impl<E> Failure<E> {
    /// The caller's error: database errors through `From`, a newer schema through `newer`.
    pub fn into_error<T: From<E>>(self, newer: impl FnOnce(NewerSchema) -> T) -> T {
        match self {
            Failure::Newer(n) => newer(n),
            Failure::Database(e) => e.into(),
        }
    }
}

/// Brings `db` to `supported`: refuses a database whose version is newer, then applies every step after the version
/// found, in order. `steps` ascend and end at `supported`.
pub fn run<D: Database + ?Sized>(db: &mut D, steps: &[Step], supported: i64) -> Result<(), Failure<D::Error>> {
    debug_assert!(steps.windows(2).all(|w| w[0].version < w[1].version), "steps must ascend");
    debug_assert_eq!(steps.last().map(|s| s.version), Some(supported), "the last step is the supported version");
    let found = db.version().map_err(Failure::Database)?;
    if found > supported {
        return Err(Failure::Newer(NewerSchema { found, supported }));
    }
    for step in steps.iter().filter(|s| s.version > found) {
        db.apply(step).map_err(Failure::Database)?;
    }
    Ok(())
}

/// SQLite keeps the version in `PRAGMA user_version`; each step runs in a transaction of its own with its version,
/// so a migration interrupted by a kill is re-run from the step it stopped in at the next open.
impl Database for Connection {
    type Error = rusqlite::Error;

    fn version(&mut self) -> rusqlite::Result<i64> {
        user_version(self)
    }

    fn run_batch(&mut self, sql: &str) -> rusqlite::Result<()> {
        Connection::execute_batch(self, sql)
    }

    fn record_version(&mut self, version: i64) -> rusqlite::Result<()> {
        set_user_version(self, version)
    }

    fn apply(&mut self, step: &Step) -> rusqlite::Result<()> {
        let mut tx = self.transaction()?;
        Database::apply(&mut tx, step)?;
        tx.commit()
    }
}

/// Inside a transaction the caller holds: every step joins it (the default [`Database::apply`]).
impl Database for Transaction<'_> {
    type Error = rusqlite::Error;

    fn version(&mut self) -> rusqlite::Result<i64> {
        user_version(self)
    }

    fn run_batch(&mut self, sql: &str) -> rusqlite::Result<()> {
        Connection::execute_batch(self, sql)
    }

    fn record_version(&mut self, version: i64) -> rusqlite::Result<()> {
        set_user_version(self, version)
    }
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn set_user_version(conn: &Connection, version: i64) -> rusqlite::Result<()> {
    conn.pragma_update(None, "user_version", version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[Step] = &[
        Step { version: 1, sql: &["CREATE TABLE a (x INTEGER)", "INSERT INTO a VALUES (1)"] },
        Step { version: 2, sql: &["CREATE TABLE b (y INTEGER)"] },
    ];

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn applies_the_pending_steps_in_order_and_then_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, &STEPS[..1], 1).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        run(&mut conn, STEPS, 2).unwrap();
        run(&mut conn, STEPS, 2).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 2);
        assert_eq!(tables(&conn), ["a", "b"]);
        assert_eq!(conn.query_row("SELECT count(*) FROM a", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
    }

    #[test]
    fn refuses_a_newer_schema_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        set_user_version(&conn, 3).unwrap();
        match run(&mut conn, STEPS, 2) {
            Err(Failure::Newer(n)) => {
                assert_eq!(n, NewerSchema { found: 3, supported: 2 });
                assert_eq!(n.to_string(), "newer schema: found 3, this build supports 2");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(tables(&conn).is_empty());
    }

    #[test]
    fn a_failing_step_keeps_the_steps_before_it_and_none_of_itself() {
        const BROKEN: &[Step] = &[
            Step { version: 1, sql: &["CREATE TABLE a (x INTEGER)"] },
            Step { version: 2, sql: &["CREATE TABLE b (y INTEGER)", "NOT SQL"] },
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        assert!(matches!(run(&mut conn, BROKEN, 2), Err(Failure::Database(_))));
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(tables(&conn), ["a"]);
    }

    #[test]
    fn inside_a_transaction_every_step_joins_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        let mut tx = conn.transaction().unwrap();
        run(&mut tx, STEPS, 2).unwrap();
        drop(tx);
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(tables(&conn).is_empty());
    }
}
