//! The SQLite store's answers to the reports' reads (`ReportRead`), over the same `doorstep.db` through a read
//! connection of their own, each snapshot inside one read transaction.

use super::*;
use doorstep_core::store::index::{ConflictRow, ProblemRow, ScreeningRow, VisitRow};
use rusqlite::OpenFlags;

/// The reports' read connection to the SQLite store.
pub struct SqliteReportSource {
    conn: Mutex<Connection>,
}

impl SqliteReportSource {
    /// Opens a read connection to the database in `dir` (created by `SqliteStorage::open`).
    pub fn open(dir: &Path) -> Result<Self> {
        // Never creates a database: the pages read the one the storage made (and fail clearly without it).
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(dir.join("doorstep.db"), flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(Self { conn: Mutex::new(conn) })
    }
}

impl ReportSource for SqliteReportSource {
    fn read(&self, work: &mut (dyn FnMut(&mut dyn ReportRead) -> Result<()> + Send)) -> Result<()> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        // One read transaction: every row of a snapshot comes from the same state of the database.
        conn.execute_batch("BEGIN")?;
        let out = work(&mut Reader(&conn));
        let _ = conn.execute_batch("COMMIT");
        out
    }
}

struct Reader<'a>(&'a Connection);

impl Reader<'_> {
    fn rows<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let rows = stmt.query_map(p, f)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl ReportRead for Reader<'_> {
    fn head(&mut self) -> Result<u64> {
        Ok(self.0.query_row("SELECT last_seq FROM counter WHERE id = 1", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn head_at(&mut self, cutoff_ms: i64) -> Result<u64> {
        let sql = "SELECT coalesce(max(seq), 0) FROM changes WHERE received_ms <= ?1";
        Ok(self.0.query_row(sql, [cutoff_ms], |r| r.get::<_, i64>(0))? as u64)
    }

    fn doc_metas(&mut self) -> Result<Vec<DocMeta>> {
        self.rows("SELECT id, kind, last_seq, household_id, village, township FROM docs", [], |r| {
            let kind: String = r.get(1)?;
            Ok(DocMeta {
                id: r.get(0)?,
                kind: DocKind::parse(&kind).unwrap_or_default(),
                last_seq: r.get::<_, i64>(2)? as u64,
                placement: Placement { household_id: r.get(3)?, village: r.get(4)?, township: r.get(5)? },
            })
        })
    }

    fn doc_bytes(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        let mut stmt = self.0.prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(bytes) = stmt.query_row([id], |r| r.get::<_, Vec<u8>>(0)).optional()? {
                out.push((id.clone(), bytes));
            }
        }
        Ok(out)
    }

    fn assignments(&mut self, cutoff_ms: Option<i64>) -> Result<Vec<(String, String)>> {
        let sql = "SELECT household_id, helper FROM assignments WHERE created_ms <= ?1 ORDER BY helper";
        self.rows(sql, [cutoff_ms.unwrap_or(i64::MAX)], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn visits(&mut self) -> Result<Vec<VisitRow>> {
        let sql = "SELECT doc_id, household_id, member_id, date, month, kind, visitor FROM ix_visits
                   WHERE deleted = 0 ORDER BY date, doc_id";
        self.rows(sql, [], |r| {
            Ok(VisitRow {
                doc_id: r.get(0)?,
                household_id: r.get(1)?,
                member_id: r.get(2)?,
                date: r.get(3)?,
                month: r.get(4)?,
                kind: r.get(5)?,
                visitor: r.get(6)?,
                deleted: false,
            })
        })
    }

    fn problems(&mut self) -> Result<Vec<ProblemRow>> {
        let sql = "SELECT p.visit_id, p.problem_id, p.household_id, p.date, p.description, p.status FROM ix_problems p
                   JOIN ix_visits v ON v.doc_id = p.visit_id AND v.deleted = 0
                   ORDER BY p.date, p.visit_id, p.problem_id";
        self.rows(sql, [], |r| {
            Ok(ProblemRow {
                visit_id: r.get(0)?,
                problem_id: r.get(1)?,
                household_id: r.get(2)?,
                date: r.get(3)?,
                description: r.get(4)?,
                status: r.get(5)?,
            })
        })
    }

    fn screenings(&mut self) -> Result<Vec<ScreeningRow>> {
        let sql = "SELECT doc_id, household_id, member_id, date, bp_grade, glucose_band, bmi_band, referral, abnormal
                   FROM ix_screenings WHERE deleted = 0 ORDER BY date, doc_id";
        self.rows(sql, [], |r| {
            Ok(ScreeningRow {
                doc_id: r.get(0)?,
                household_id: r.get(1)?,
                member_id: r.get(2)?,
                date: r.get(3)?,
                bp_grade: r.get(4)?,
                glucose_band: r.get(5)?,
                bmi_band: r.get(6)?,
                referral: r.get(7)?,
                abnormal: r.get(8)?,
                deleted: false,
            })
        })
    }

    fn conflicts(&mut self) -> Result<Vec<ConflictRow>> {
        self.rows("SELECT doc_id, fields FROM ix_conflicts", [], |r| {
            Ok(ConflictRow { doc_id: r.get(0)?, fields: r.get(1)? })
        })
    }

    fn change_spans(&mut self) -> Result<Vec<(String, i64, i64)>> {
        let sql = "SELECT doc_id, min(received_ms), max(received_ms) FROM changes GROUP BY doc_id";
        self.rows(sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    }

    fn changes_until(&mut self, doc_id: &str, cutoff_ms: i64) -> Result<Vec<Vec<u8>>> {
        let sql = "SELECT bytes FROM changes WHERE doc_id = ?1 AND received_ms <= ?2 ORDER BY seq";
        self.rows(sql, params![doc_id, cutoff_ms], |r| r.get(0))
    }
}
