//! The PostgreSQL store's answers to the reports' reads (`ReportRead`), each snapshot inside one read-only
//! REPEATABLE READ transaction. Index rows are read as JSON objects (`row_to_json`) into the core's own row types,
//! which name their fields after the columns.

use super::*;
use doorstep_core::store::index::{ConflictRow, ProblemRow, ScreeningRow, VisitRow};
use serde::de::DeserializeOwned;

/// The reports' reads over the PostgreSQL store's pool.
pub struct PostgresReportSource {
    pool: Pool,
}

impl PostgresReportSource {
    pub(super) fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

impl ReportSource for PostgresReportSource {
    fn read(&self, work: &mut (dyn FnMut(&mut dyn ReportRead) -> Result<()> + Send)) -> Result<()> {
        off_runtime(|| {
            let mut conn = self.pool.get().map_err(|e| StorageError::Unavailable(e.to_string()))?;
            // One snapshot of the database for every row of a report.
            let mut reader = Reader(snapshot(&mut conn)?);
            work(&mut reader)?;
            reader.0.commit().pg()
        })
    }
}

struct Reader<'a>(pg::Transaction<'a>);

impl Reader<'_> {
    /// Rows of a `SELECT row_to_json(t)::text …` as the core's typed rows.
    fn json_rows<T: DeserializeOwned>(&mut self, sql: &str) -> Result<Vec<T>> {
        self.0
            .query(sql, &[])
            .pg()?
            .iter()
            .map(|r| {
                serde_json::from_str(r.get(0)).map_err(|e| StorageError::Internal(format!("index row as JSON: {e}")))
            })
            .collect()
    }
}

impl ReportRead for Reader<'_> {
    fn head(&mut self) -> Result<u64> {
        Ok(self.0.query_one("SELECT last_seq FROM counter WHERE id = 1", &[]).pg()?.get::<_, i64>(0) as u64)
    }

    fn head_at(&mut self, cutoff_ms: i64) -> Result<u64> {
        let sql = "SELECT coalesce(max(seq), 0) FROM changes WHERE received_ms <= $1";
        Ok(self.0.query_one(sql, &[&cutoff_ms]).pg()?.get::<_, i64>(0) as u64)
    }

    fn doc_metas(&mut self) -> Result<Vec<DocMeta>> {
        let rows = self.0.query("SELECT id, kind, last_seq, household_id, village, township FROM docs", &[]).pg()?;
        Ok(rows
            .iter()
            .map(|r| DocMeta {
                id: r.get(0),
                kind: DocKind::parse(r.get(1)).unwrap_or_default(),
                last_seq: r.get::<_, i64>(2) as u64,
                placement: Placement { household_id: r.get(3), village: r.get(4), township: r.get(5) },
            })
            .collect())
    }

    fn doc_bytes(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self.0.query("SELECT id, bytes FROM docs WHERE id = ANY($1)", &[&ids]).pg()?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn assignments(&mut self, cutoff_ms: Option<i64>) -> Result<Vec<(String, String)>> {
        let sql = "SELECT household_id, helper FROM assignments WHERE created_ms <= $1 ORDER BY helper COLLATE \"C\"";
        let rows = self.0.query(sql, &[&cutoff_ms.unwrap_or(i64::MAX)]).pg()?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn visits(&mut self) -> Result<Vec<VisitRow>> {
        self.json_rows(
            "SELECT row_to_json(t)::text FROM ix_visits t WHERE deleted = 0
             ORDER BY date COLLATE \"C\", doc_id COLLATE \"C\"",
        )
    }

    fn problems(&mut self) -> Result<Vec<ProblemRow>> {
        self.json_rows(
            "SELECT row_to_json(p)::text FROM ix_problems p JOIN ix_visits v ON v.doc_id = p.visit_id AND v.deleted = 0
             ORDER BY p.date COLLATE \"C\", p.visit_id COLLATE \"C\", p.problem_id COLLATE \"C\"",
        )
    }

    fn screenings(&mut self) -> Result<Vec<ScreeningRow>> {
        self.json_rows(
            "SELECT row_to_json(t)::text FROM ix_screenings t WHERE deleted = 0
             ORDER BY date COLLATE \"C\", doc_id COLLATE \"C\"",
        )
    }

    fn conflicts(&mut self) -> Result<Vec<ConflictRow>> {
        self.json_rows("SELECT row_to_json(t)::text FROM ix_conflicts t")
    }

    fn change_spans(&mut self) -> Result<Vec<(String, i64, i64)>> {
        let sql = "SELECT doc_id, min(received_ms), max(received_ms) FROM changes GROUP BY doc_id";
        Ok(self.0.query(sql, &[]).pg()?.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    fn changes_until(&mut self, doc_id: &str, cutoff_ms: i64) -> Result<Vec<Vec<u8>>> {
        let sql = "SELECT bytes FROM changes WHERE doc_id = $1 AND received_ms <= $2 ORDER BY seq";
        Ok(self.0.query(sql, &[&doc_id, &cutoff_ms]).pg()?.iter().map(|r| r.get(0)).collect())
    }
}
