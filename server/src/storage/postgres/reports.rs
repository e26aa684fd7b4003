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
            // A report reads a few thousand rows through indexes, mostly cached: at the default random page cost
            // (4, for spinning disks) PostgreSQL hashed every assignment to join a township's thousand households
            // (25 ms instead of 2.5 ms, a hundred times per "as of" view). The setting ends with the transaction.
            // Nor does a report's query gain from parallel workers: its rows are few, and the reports read
            // townships on every core themselves (a worker's start cost more than the visits query it shared).
            tx.batch_execute("SET LOCAL random_page_cost = 1.1; SET LOCAL max_parallel_workers_per_gather = 0").pg()?;
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

    fn kept_tallies(&self, frame: &str, township: Option<&str>) -> Result<Vec<KeptTally>> {
        off_runtime(|| {
            let mut conn = self.pool.get().map_err(|e| StorageError::Unavailable(e.to_string()))?;
            let rows = match township {
                None => conn.query(&sql::to_pg(sql::KEPT_TALLIES), &[&frame]),
                Some(t) => conn.query(&sql::to_pg(sql::KEPT_TALLIES_IN), &[&frame, &t]),
            }
            .pg()?;
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

/// A report scope as SQL over `docs d` and the values of its parameters: the visibility rule of pulls, then the
/// page's household, helper's households, village or township, and the latest time a document may have been
/// created. Only the parts the scope has are written, each a plain condition on an indexed column with a parameter
/// of its own, so PostgreSQL plans each shape for what it asks (a generic `($6 = '' OR d.village = $6)` over every
/// part, and the rules document `OR`ed into every query, made it read documents' rows where an index answered).
/// The rules document is read apart where a query asks for it (`{rules}`).
struct Bound {
    all: bool,
    lists: [Vec<String>; 3],
    village: Option<String>,
    township: Option<String>,
    townships: Vec<String>,
    household: Option<String>,
    /// The helper's households, read when the reader starts.
    helper: Option<Vec<String>>,
    received_by: Option<i64>,
}

impl Bound {
    fn of(s: &ReportScope) -> Self {
        let v = &s.visible;
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<String>>();
        let given = |x: &Option<String>| x.clone().filter(|x| !x.is_empty());
        Self {
            all: v.all,
            lists: [list(&v.households), list(&v.villages), list(&v.townships)],
            village: given(&s.village),
            township: given(&s.township),
            townships: s.townships.clone(),
            household: given(&s.household),
            helper: None,
            received_by: s.received_by,
        }
    }

    /// The scope's condition with its parameters numbered from `$first`, and their values in order.
    fn render(&self, first: usize, with_rules: bool) -> (String, String, Vec<&(dyn ToSql + Sync)>) {
        static RULES: &str = doorstep_core::model::SCHEDULE_RULES_ID;
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        // `sql` with its `$?` numbered as the next parameter, whose value is `value`.
        fn param<'v>(
            values: &mut Vec<&'v (dyn ToSql + Sync)>,
            first: usize,
            sql: &str,
            value: &'v (dyn ToSql + Sync),
        ) -> String {
            values.push(value);
            sql.replace("$?", &format!("${}", first + values.len() - 1))
        }
        let mut term = |sql: &str, value| param(&mut values, first, sql, value);
        let mut seen: Vec<String> = Vec::new();
        if self.all {
            seen.push("TRUE".into());
        }
        for (list, sql) in
            self.lists.iter().zip(["d.household_id = ANY($?)", "d.village = ANY($?)", "d.township = ANY($?)"])
        {
            if !list.is_empty() {
                seen.push(term(sql, list));
            }
        }
        let mut all = vec![if seen.is_empty() { "FALSE".to_string() } else { format!("({})", seen.join(" OR ")) }];
        if let Some(h) = &self.household {
            all.push(term("d.household_id = $?", h));
        }
        if let Some(h) = &self.helper {
            all.push(term("d.household_id = ANY($?)", h));
        }
        if let Some(v) = &self.village {
            all.push(term("d.village = $?", v));
        }
        if let Some(t) = &self.township {
            all.push(term("d.township = $?", t));
        }
        if !self.townships.is_empty() {
            all.push(term("d.township = ANY($?)", &self.townships));
        }
        if let Some(r) = &self.received_by {
            all.push(term("d.created_ms <= $?", r));
        }
        let sql = format!("({})", all.join(" AND "));
        let rules = if with_rules { term("$?", &RULES) } else { String::new() };
        (sql, rules, values)
    }
}

struct Reader<'a> {
    tx: pg::Transaction<'a>,
    scope: Bound,
}

impl Reader<'_> {
    /// Rows of a query limited by the scope (written where the query says `{in_scope}`; the rules document's id where
    /// it says `{rules}`), whose own parameters `extra` are `$1`, `$2`…
    fn rows(&mut self, sql: &str, extra: &[&(dyn ToSql + Sync)]) -> Result<Vec<pg::Row>> {
        let with_rules = sql.contains("{rules}");
        let (scope, rules, values) = self.scope.render(extra.len() + 1, with_rules);
        let sql = sql.replace("{rules}", &rules).replace("{in_scope}", &scope);
        let mut all: Vec<&(dyn ToSql + Sync)> = extra.to_vec();
        all.extend(values);
        self.tx.query(&sql, &all).pg()
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

    fn doc_records(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        super::rows::records_of(&mut self.tx, ids)
    }

    fn scope_records(&mut self, each: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
        for r in self.rows(sql::SCOPE_RECORDS, &[])? {
            each(r.get(0), r.get(1));
        }
        Ok(())
    }

    fn assignments(&mut self, cutoff_ms: Option<i64>) -> Result<Vec<(String, String)>> {
        let sql = "SELECT a.household_id, a.helper FROM assignments a JOIN docs d ON d.id = a.household_id
                   WHERE a.created_ms <= $1 AND d.kind = 'household' AND {in_scope} ORDER BY a.helper COLLATE \"C\"";
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
            // Each visit's problems looked up by its id (`OFFSET 0` keeps PostgreSQL from flattening the lateral
            // read into a hash join that reads every problem of the database, 50,000 in the province).
            "SELECT row_to_json(p)::text FROM docs d JOIN ix_visits v ON v.doc_id = d.id AND v.deleted = 0
             CROSS JOIN LATERAL (SELECT * FROM ix_problems p WHERE p.visit_id = d.id OFFSET 0) p WHERE {in_scope}
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
