//! The SQLite store's answers to the reports' reads (`ReportRead`), over the same `doorstep.db` through a read
//! connection of their own, each snapshot inside one read transaction and limited in SQL to the report's scope.

use super::*;
use doorstep_core::store::index::{ConflictRow, ProblemRow, ScreeningRow, VisitRow};
use rusqlite::OpenFlags;
use std::path::PathBuf;

/// How many idle read connections are kept for the next reads (more are opened while more reads run at once).
const IDLE_READERS: usize = 4;

/// The reports' read connections to the SQLite store: several reads run at once (an area's townships are counted
/// on every core), each on a connection of its own, which WAL lets read beside the writer.
pub struct SqliteReportSource {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReportSource {
    /// Opens a read connection to the database in `dir` (created by `SqliteStorage::open`).
    pub fn open(dir: &Path) -> Result<Self> {
        let source = Self { path: dir.join("doorstep.db"), idle: Mutex::new(Vec::new()) };
        // Fails now, clearly, when there is no database to read.
        let first = source.connect()?;
        source.give(first);
        Ok(source)
    }

    fn connect(&self) -> Result<Connection> {
        // Never creates a database: the pages read the one the storage made (and fail clearly without it).
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// An idle connection, or a new one when every connection is reading.
    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        idle.map_or_else(|| self.connect(), Ok)
    }

    fn give(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
    }
}

impl ReportSource for SqliteReportSource {
    fn read(
        &self,
        scope: &ReportScope,
        work: &mut (dyn FnMut(&mut dyn ReportRead) -> Result<()> + Send),
    ) -> Result<()> {
        let conn = self.take()?;
        // One read transaction: every row of a snapshot comes from the same state of the database.
        conn.execute_batch("BEGIN")?;
        let out = work(&mut Reader { conn: &conn, scope: Bound::of(scope) });
        if conn.execute_batch("COMMIT").is_ok() {
            self.give(conn);
        }
        out
    }

    fn kept_tallies(&self, frame: &str, township: Option<&str>) -> Result<Vec<KeptTally>> {
        let conn = self.take()?;
        let out = (|| -> Result<Vec<KeptTally>> {
            let row = |r: &rusqlite::Row| {
                let seq = r.get::<_, i64>(2)? as u64;
                Ok(KeptTally { township: r.get(0)?, village: r.get(1)?, seq, body: r.get(3)? })
            };
            let rows: rusqlite::Result<Vec<KeptTally>> = match township {
                None => conn.prepare_cached(sql::KEPT_TALLIES)?.query_map([frame], row)?.collect(),
                Some(t) => conn.prepare_cached(sql::KEPT_TALLIES_IN)?.query_map([frame, t], row)?.collect(),
            };
            Ok(rows?)
        })();
        self.give(conn);
        out
    }

    fn keep_tallies(&self, frame: &str, tallies: &[KeptTally], now_ms: i64) -> Result<()> {
        let conn = self.take()?;
        // The reports' connection only reads, except for this one table.
        conn.pragma_update(None, "query_only", false)?;
        let out = (|| -> Result<()> {
            let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
            {
                let mut keep = tx.prepare_cached(sql::KEEP_TALLY)?;
                for t in tallies {
                    keep.execute(params![frame, t.township, t.village, t.seq as i64, t.body, now_ms])?;
                }
            }
            tx.execute(sql::PRUNE_TALLIES, [now_ms - sql::TALLY_KEPT_MS])?;
            tx.commit()?;
            Ok(())
        })();
        conn.pragma_update(None, "query_only", true)?;
        self.give(conn);
        out
    }
}

/// A report scope as SQL over `docs d` and the values of its named parameters: the visibility rule of pulls, then
/// the page's township or village (the rules document is read apart, `{rules}`). Only the parts the scope has are
/// written, each
/// a plain condition on an indexed column, so SQLite reads a village or a few townships through its indexes instead
/// of scanning every document (SQLite does not simplify conditions on parameter values).
struct Bound {
    sql: String,
    all: bool,
    lists: [String; 3],
    village: String,
    township: String,
    /// `ReportScope::townships` as a JSON array.
    townships: String,
    household: String,
    helper: String,
    received_by: i64,
}

impl Bound {
    fn of(s: &ReportScope) -> Self {
        let json = |s: &BTreeSet<String>| serde_json::to_string(s).unwrap_or_else(|_| "[]".into());
        let v = &s.visible;
        let helper = format!("d.household_id IN ({})", sql::HELPER_HOUSEHOLDS.replace("?1", ":one_helper"));
        // The page's narrowing terms, most selective first. SQLite walks one index per query: the first term
        // present leads; every other term (and the visibility) is written with a unary `+`, which keeps SQLite from
        // walking the wider index instead (it once walked a township's documents for a helper's 100 households).
        let narrowing = [
            (s.household.is_some(), "d.household_id = :one_household"),
            (s.helper.is_some(), helper.as_str()),
            (s.village.as_ref().is_some_and(|x| !x.is_empty()), "d.village = :one_village"),
            (s.township.as_ref().is_some_and(|x| !x.is_empty()), "d.township = :one_township"),
            (!s.townships.is_empty(), "d.township IN (SELECT value FROM json_each(:these_townships))"),
        ];
        let mut led = None;
        let mut narrow = String::new();
        for (present, term) in narrowing {
            if present {
                narrow.push_str(if led.is_some() { " AND +" } else { " AND " });
                narrow.push_str(term);
                led = led.or(Some(term));
            }
        }
        if s.received_by.is_some() {
            // Most documents of a past day pass it: never a leading index, but the second column of the township
            // index when a township leads (the visits of the year after are not walked).
            let by_township = led.is_some_and(|t| t.starts_with("d.township"));
            narrow.push_str(if by_township {
                " AND d.created_ms <= :received_by"
            } else {
                " AND +d.created_ms <= :received_by"
            });
        }
        let unled = if led.is_some() { "+" } else { "" };
        let mut seen: Vec<String> = Vec::new();
        if v.all {
            seen.push(":all".into());
        }
        for (set, term) in [
            (&v.households, "d.household_id IN (SELECT value FROM json_each(:households))"),
            (&v.villages, "d.village IN (SELECT value FROM json_each(:villages))"),
            (&v.townships, "d.township IN (SELECT value FROM json_each(:townships))"),
        ] {
            if !set.is_empty() {
                seen.push(format!("{unled}{term}"));
            }
        }
        let seen = if seen.is_empty() { "0".to_string() } else { seen.join(" OR ") };
        Self {
            sql: format!("(({seen}){narrow})"),
            all: v.all,
            lists: [json(&v.households), json(&v.villages), json(&v.townships)],
            village: s.village.clone().unwrap_or_default(),
            township: s.township.clone().unwrap_or_default(),
            townships: serde_json::to_string(&s.townships).unwrap_or_else(|_| "[]".into()),
            household: s.household.clone().unwrap_or_default(),
            helper: s.helper.clone().unwrap_or_default(),
            received_by: s.received_by.unwrap_or(i64::MAX),
        }
    }
}

struct Reader<'a> {
    conn: &'a Connection,
    scope: Bound,
}

impl Reader<'_> {
    /// Rows of a query limited by the scope (written where the query says `{in_scope}`), with `extra` named
    /// parameters of its own.
    fn rows<T>(
        &self,
        sql: &str,
        extra: &[(&str, &dyn rusqlite::ToSql)],
        mut f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each_row(sql, extra, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// [`Reader::rows`], each row given to `f` where SQLite holds it.
    fn each_row(
        &self,
        sql: &str,
        extra: &[(&str, &dyn rusqlite::ToSql)],
        mut f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let b = &self.scope;
        let rules = doorstep_core::model::SCHEDULE_RULES_ID;
        let mut values: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
            (":rules", &rules),
            (":all", &b.all),
            (":households", &b.lists[0]),
            (":villages", &b.lists[1]),
            (":townships", &b.lists[2]),
            (":one_village", &b.village),
            (":one_township", &b.township),
            (":these_townships", &b.townships),
            (":one_household", &b.household),
            (":one_helper", &b.helper),
            (":received_by", &b.received_by),
        ];
        let sql = sql.replace("{rules}", ":rules").replace("{in_scope}", &b.sql);
        values.retain(|(name, _)| sql.contains(name));
        values.extend_from_slice(extra);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(values.as_slice())?;
        while let Some(row) = rows.next()? {
            f(row)?;
        }
        Ok(())
    }
}

impl ReportRead for Reader<'_> {
    fn head(&mut self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT last_seq FROM counter WHERE id = 1", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn head_at(&mut self, cutoff_ms: i64) -> Result<u64> {
        let head = self.conn.query_row(sql::HEAD_AT, [cutoff_ms], |r| r.get::<_, i64>(0)).optional()?;
        Ok(head.unwrap_or(0) as u64)
    }

    fn doc_metas(&mut self) -> Result<Vec<DocMeta>> {
        self.rows(sql::DOC_METAS, &[], |r| {
            let kind: String = r.get(1)?;
            Ok(DocMeta {
                id: r.get(0)?,
                kind: DocKind::parse(&kind).unwrap_or_default(),
                last_seq: r.get::<_, i64>(2)? as u64,
                created_ms: r.get(3)?,
                updated_ms: r.get(4)?,
                placement: Placement { household_id: r.get(5)?, village: r.get(6)?, township: r.get(7)? },
            })
        })
    }

    fn doc_bytes(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        let mut stmt = self.conn.prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(bytes) = stmt.query_row([id], |r| r.get::<_, Vec<u8>>(0)).optional()? {
                out.push((id.clone(), bytes));
            }
        }
        Ok(out)
    }

    fn doc_records(&mut self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        super::rows::records_of(self.conn, ids)
    }

    fn scope_records(&mut self, each: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
        self.each_row(sql::SCOPE_RECORDS, &[], |r| {
            each(r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_bytes()?);
            Ok(())
        })
    }

    fn assignments(&mut self, cutoff_ms: Option<i64>) -> Result<Vec<(String, String)>> {
        let sql = "SELECT a.household_id, a.helper FROM assignments a JOIN docs d ON d.id = a.household_id
                   WHERE a.created_ms <= :cutoff AND d.kind = 'household' AND {in_scope} ORDER BY a.helper";
        self.rows(sql, &[(":cutoff", &cutoff_ms.unwrap_or(i64::MAX))], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn visits(&mut self) -> Result<Vec<VisitRow>> {
        let sql = "SELECT t.doc_id, t.household_id, t.member_id, t.date, t.month, t.kind, t.visitor FROM ix_visits t
                   JOIN docs d ON d.id = t.doc_id WHERE t.deleted = 0 AND {in_scope} ORDER BY t.date, t.doc_id";
        self.rows(sql, &[], |r| {
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
                   JOIN ix_visits v ON v.doc_id = p.visit_id AND v.deleted = 0 JOIN docs d ON d.id = p.visit_id
                   WHERE {in_scope} ORDER BY p.date, p.visit_id, p.problem_id";
        self.rows(sql, &[], |r| {
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
        let sql = "SELECT t.doc_id, t.household_id, t.member_id, t.date, t.bp_grade, t.glucose_band, t.bmi_band,
                   t.referral, t.abnormal FROM ix_screenings t JOIN docs d ON d.id = t.doc_id
                   WHERE t.deleted = 0 AND {in_scope} ORDER BY t.date, t.doc_id";
        self.rows(sql, &[], |r| {
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
        let sql = "SELECT t.doc_id, t.fields FROM ix_conflicts t JOIN docs d ON d.id = t.doc_id WHERE {in_scope}";
        self.rows(sql, &[], |r| Ok(ConflictRow { doc_id: r.get(0)?, fields: r.get(1)? }))
    }

    fn changes_until(&mut self, doc_id: &str, cutoff_ms: i64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self.conn.prepare_cached(sql::CHANGES_UNTIL)?;
        let rows = stmt.query_map(params![doc_id, cutoff_ms], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn places(&mut self) -> Result<Vec<(String, String)>> {
        self.rows(sql::PLACES, &[], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn changed_since(&mut self, since: u64) -> Result<Changed> {
        let since = since as i64;
        let mut stmt = self.conn.prepare_cached(sql::CHANGED_DOCS)?;
        let docs = stmt
            .query_map([since], |r| {
                let kind: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    DocKind::parse(&kind).unwrap_or_default(),
                    Placement { household_id: r.get(2)?, village: r.get(3)?, township: r.get(4)? },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let scope = self.conn.query_row(sql::SCOPE_CHANGED, [since], |r| r.get(0))?;
        Ok(Changed::of(docs, scope))
    }
}
