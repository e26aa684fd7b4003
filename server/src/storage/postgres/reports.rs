//! The PostgreSQL store's answers to the reports' reads (`ReportRead`), each snapshot inside one read-only
//! REPEATABLE READ transaction and limited in SQL to the report's scope. Index rows are read as JSON objects
//! (`row_to_json`) into the core's own row types, which name their fields after the columns.

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
    fn read(
        &self,
        scope: &ReportScope,
        work: &mut (dyn FnMut(&mut dyn ReportRead) -> Result<()> + Send),
    ) -> Result<()> {
        off_runtime(|| {
            let mut conn = self.pool.get().map_err(|e| StorageError::Unavailable(e.to_string()))?;
            // One snapshot of the database for every row of a report.
            let mut tx = snapshot(&mut conn)?;
            let mut bound = Bound::of(scope);
            // A helper's households are listed first and given as an array: PostgreSQL reads an array through the
            // index on `household_id`, but a subquery inside the scope's OR only by reading every document.
            if let Some(helper) = &scope.helper {
                let rows = tx.query(&sql::to_pg(sql::HELPER_HOUSEHOLDS), &[helper]).pg()?;
                bound.helper = Some(rows.iter().map(|r| r.get(0)).collect());
            }
            let mut reader = Reader { tx, scope: bound };
            work(&mut reader)?;
            reader.tx.commit().pg()
        })
    }

    fn kept_tallies(&self, frame: &str) -> Result<Vec<KeptTally>> {
        off_runtime(|| {
            let mut conn = self.pool.get().map_err(|e| StorageError::Unavailable(e.to_string()))?;
            let rows = conn.query(&sql::to_pg(sql::KEPT_TALLIES), &[&frame]).pg()?;
            Ok(rows
                .iter()
                .map(|r| KeptTally {
                    township: r.get(0),
                    village: r.get(1),
                    seq: r.get::<_, i64>(2) as u64,
                    body: r.get(3),
                })
                .collect())
        })
    }

    fn keep_tallies(&self, frame: &str, tallies: &[KeptTally], now_ms: i64) -> Result<()> {
        off_runtime(|| {
            let mut conn = self.pool.get().map_err(|e| StorageError::Unavailable(e.to_string()))?;
            let mut tx = conn.transaction().pg()?;
            let keep = tx.prepare(&sql::to_pg(sql::KEEP_TALLY)).pg()?;
            for t in tallies {
                let seq = t.seq as i64;
                tx.execute(&keep, &[&frame, &t.township, &t.village, &seq, &t.body, &now_ms]).pg()?;
            }
            tx.execute(&sql::to_pg(sql::PRUNE_TALLIES), &[&(now_ms - sql::TALLY_KEPT_MS)]).pg()?;
            tx.commit().pg()
        })
    }
}

/// Which documents `docs d` a report reads (`$1` the rules id, `$2` all, `$3`–`$5` households, villages and
/// townships, `$6` the village and `$7` the township, empty for none): the visibility rule of pulls, then the page's
/// township, village, household (`$8`) or helper's households (`$9`, an array, NULL for none), and the latest time
/// a document may have been created (`$10`, -1 for any). The rules document is always in. A query's own parameters start at `$11`.
const IN_SCOPE: &str = "(d.id = $1 OR (($2 OR d.household_id = ANY($3) OR d.village = ANY($4) OR d.township = ANY($5))
    AND ($6 = '' OR d.village = $6) AND ($7 = '' OR d.township = $7) AND ($8 = '' OR d.household_id = $8)
    AND ($9::text[] IS NULL OR d.household_id = ANY($9::text[]))
    AND ($10::bigint < 0 OR d.created_ms <= $10::bigint)))";

/// A report scope as the values of [`IN_SCOPE`]'s parameters.
struct Bound {
    all: bool,
    lists: [Vec<String>; 3],
    village: String,
    township: String,
    household: String,
    /// The helper's households, read when the reader starts.
    helper: Option<Vec<String>>,
    received_by: i64,
}

impl Bound {
    fn of(s: &ReportScope) -> Self {
        let v = &s.visible;
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<String>>();
        Self {
            all: v.all,
            lists: [list(&v.households), list(&v.villages), list(&v.townships)],
            village: s.village.clone().unwrap_or_default(),
            township: s.township.clone().unwrap_or_default(),
            household: s.household.clone().unwrap_or_default(),
            helper: None,
            received_by: s.received_by.unwrap_or(-1),
        }
    }
}

struct Reader<'a> {
    tx: pg::Transaction<'a>,
    scope: Bound,
}

impl Reader<'_> {
    /// Rows of a query limited by [`IN_SCOPE`] (written where the query says `{in_scope}`), with `extra`
    /// parameters from `$11`.
    fn rows(&mut self, sql: &str, extra: &[&(dyn ToSql + Sync)]) -> Result<Vec<pg::Row>> {
        let b = &self.scope;
        let rules = doorstep_core::model::SCHEDULE_RULES_ID;
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![
            &rules,
            &b.all,
            &b.lists[0],
            &b.lists[1],
            &b.lists[2],
            &b.village,
            &b.township,
            &b.household,
            &b.helper,
            &b.received_by,
        ];
        values.extend_from_slice(extra);
        let sql = sql.replace("{in_scope_or_rules}", IN_SCOPE).replace("{in_scope}", IN_SCOPE);
        self.tx.query(&sql, &values).pg()
    }

    /// Rows of a `SELECT row_to_json(t)::text …` query limited to the scope, as the core's typed rows.
    fn json_rows<T: DeserializeOwned>(&mut self, sql: &str) -> Result<Vec<T>> {
        self.rows(sql, &[])?
            .iter()
            .map(|r| {
                serde_json::from_str(r.get(0)).map_err(|e| StorageError::Internal(format!("index row as JSON: {e}")))
            })
            .collect()
    }
}

impl ReportRead for Reader<'_> {
    fn head(&mut self) -> Result<u64> {
        Ok(self.tx.query_one("SELECT last_seq FROM counter WHERE id = 1", &[]).pg()?.get::<_, i64>(0) as u64)
    }

    fn head_at(&mut self, cutoff_ms: i64) -> Result<u64> {
        let head = self.tx.query_opt(&sql::to_pg(sql::HEAD_AT), &[&cutoff_ms]).pg()?;
        Ok(head.map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    fn doc_metas(&mut self) -> Result<Vec<DocMeta>> {
        Ok(self
            .rows(sql::DOC_METAS, &[])?
            .iter()
            .map(|r| DocMeta {
                id: r.get(0),
                kind: DocKind::parse(r.get(1)).unwrap_or_default(),
                last_seq: r.get::<_, i64>(2) as u64,
                created_ms: r.get(3),
                updated_ms: r.get(4),
                placement: Placement { household_id: r.get(5), village: r.get(6), township: r.get(7) },
            })
            .collect())
    }

    fn doc_bytes(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self.tx.query("SELECT id, bytes FROM docs WHERE id = ANY($1)", &[&ids]).pg()?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn doc_records(&mut self, ids: &[String]) -> Result<Vec<(String, String)>> {
        super::rows::records_of(&mut self.tx, ids)
    }

    fn assignments(&mut self, cutoff_ms: Option<i64>) -> Result<Vec<(String, String)>> {
        let sql = "SELECT a.household_id, a.helper FROM assignments a JOIN docs d ON d.id = a.household_id
                   WHERE a.created_ms <= $11 AND {in_scope} ORDER BY a.helper COLLATE \"C\"";
        let rows = self.rows(sql, &[&cutoff_ms.unwrap_or(i64::MAX)])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn visits(&mut self) -> Result<Vec<VisitRow>> {
        self.json_rows(
            "SELECT row_to_json(t)::text FROM ix_visits t JOIN docs d ON d.id = t.doc_id
             WHERE t.deleted = 0 AND {in_scope} ORDER BY t.date COLLATE \"C\", t.doc_id COLLATE \"C\"",
        )
    }

    fn problems(&mut self) -> Result<Vec<ProblemRow>> {
        self.json_rows(
            "SELECT row_to_json(p)::text FROM ix_problems p JOIN ix_visits v ON v.doc_id = p.visit_id AND v.deleted = 0
             JOIN docs d ON d.id = p.visit_id WHERE {in_scope}
             ORDER BY p.date COLLATE \"C\", p.visit_id COLLATE \"C\", p.problem_id COLLATE \"C\"",
        )
    }

    fn screenings(&mut self) -> Result<Vec<ScreeningRow>> {
        self.json_rows(
            "SELECT row_to_json(t)::text FROM ix_screenings t JOIN docs d ON d.id = t.doc_id
             WHERE t.deleted = 0 AND {in_scope} ORDER BY t.date COLLATE \"C\", t.doc_id COLLATE \"C\"",
        )
    }

    fn conflicts(&mut self) -> Result<Vec<ConflictRow>> {
        self.json_rows(
            "SELECT row_to_json(t)::text FROM ix_conflicts t JOIN docs d ON d.id = t.doc_id WHERE {in_scope}",
        )
    }

    fn changes_until(&mut self, doc_id: &str, cutoff_ms: i64) -> Result<Vec<Vec<u8>>> {
        let rows = self.tx.query(&sql::to_pg(sql::CHANGES_UNTIL), &[&doc_id, &cutoff_ms]).pg()?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn places(&mut self) -> Result<Vec<(String, String)>> {
        Ok(self.rows(&sql::to_pg(sql::PLACES), &[])?.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn changed_since(&mut self, since: u64) -> Result<Changed> {
        let since = since as i64;
        let docs = self
            .tx
            .query(&sql::to_pg(sql::CHANGED_DOCS), &[&since])
            .pg()?
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    DocKind::parse(r.get(1)).unwrap_or_default(),
                    Placement { household_id: r.get(2), village: r.get(3), township: r.get(4) },
                )
            })
            .collect();
        let scope = self.tx.query_one(&sql::to_pg(sql::SCOPE_CHANGED), &[&since]).pg()?.get(0);
        Ok(Changed::of(docs, scope))
    }
}
