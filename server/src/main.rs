//! The `doorstep-server` command line: administration commands and `serve`.

use clap::{Parser, Subcommand};
use doorstep_core::model::{PovertyStatus, Role};
use doorstep_server::accounts::{self, AccountsError, RulesUpdate, CONSOLE};
use doorstep_server::app;
use doorstep_server::config::{Config, DEFAULT_MAX_BODY};
use doorstep_server::http::AppState;
use doorstep_server::reports::{Reports, Snapshots};
use doorstep_server::storage::postgres::PostgresStorage;
use doorstep_server::storage::sqlite::SqliteStorage;
use doorstep_server::storage::StorageError;
use doorstep_server::storage::{HouseholdFilter, PlaceKind, SharedStorage};
use doorstep_server::{lookup, places};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "doorstep-server", version, about = "Doorstep sync server and supervisors' pages")]
struct Cli {
    /// Directory of the server's database.
    #[arg(long, env = "DOORSTEP_DATA", default_value = "doorstep-data", global = true)]
    data: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host:port/db`) shared by several server processes; when
    /// given, it is used instead of the SQLite file in `--data`.
    #[arg(long, env = "DOORSTEP_DATABASE", global = true)]
    database: Option<String>,
    /// Directory of attachment bytes (default: `blobs` in `--data`). Several server processes over one PostgreSQL
    /// database must share it (network or shared storage).
    #[arg(long, env = "DOORSTEP_BLOBS", global = true)]
    blobs: Option<PathBuf>,
    /// The longest inspector grant (互查) `grant inspector` and the grants page accept, in days.
    #[arg(long, env = "DOORSTEP_MAX_GRANT_DAYS", global = true, default_value_t = accounts::DEFAULT_MAX_GRANT_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3660))]
    max_grant_days: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accounts.
    User {
        #[command(subcommand)]
        op: UserOp,
    },
    /// Who is responsible for what: helpers ↔ households, doctor teams ↔ villages, supervisors ↔ areas.
    Assign {
        #[command(subcommand)]
        op: AssignOp,
    },
    /// Time-limited access (互查 inspections).
    Grant {
        #[command(subcommand)]
        op: GrantOp,
    },
    /// Townships and villages: assignments and grants may name only these.
    Place {
        #[command(subcommand)]
        op: PlaceOp,
    },
    /// Finds households (with the ids `assign helper` takes) and shows one.
    Household {
        #[command(subcommand)]
        op: HouseholdOp,
    },
    /// Signed-in devices.
    Device {
        #[command(subcommand)]
        op: DeviceOp,
    },
    /// Schedule rules, delivered to devices by sync.
    Rules {
        #[command(subcommand)]
        op: RulesOp,
    },
    /// Builds a demo county through the devices' own code paths (first run only), prints its accounts, serves it.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, value_enum, default_value = "full")]
        size: doorstep_server::demo::Size,
    },
    /// Moves every document to the current document format (enumerations as codes, whole numbers as int; see
    /// docs/documents.md). `serve` does it by itself once sync protocol version 1 is no longer served; run it
    /// sooner only when no app older than protocol version 2 is in use: those apps cannot read moved documents.
    MigrateDocuments,
    /// Attachment bytes on the server.
    Blobs {
        #[command(subcommand)]
        op: BlobsOp,
    },
    /// Runs the server; prints `listening on http://ADDR` (`https://` with `--tls-cert`) as its first line.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_BODY)]
        max_body: usize,
        /// Hours a supervisors' page session lasts after sign-in.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=24 * 30))]
        session_hours: u64,
        /// The same in seconds, overriding `--session-hours` (for tests of expiry).
        #[arg(long, hide = true)]
        session_seconds: Option<u64>,
        /// Largest attachment accepted in an upload, in bytes (default: the largest attachment kind's limit).
        #[arg(long, default_value_t = doorstep_server::config::default_max_blob())]
        max_blob: u64,
        /// Serve HTTPS with this certificate chain (PEM: the server's certificate first, then intermediates),
        /// for a deployment without a TLS reverse proxy; needs `--tls-key`.
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of `--tls-cert` (PEM, PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The last day sync protocol version 1 (apps before version 2 of the protocol) is served, `YYYY-MM-DD`,
        /// or `never` for no end; afterwards such apps are asked to update.
        #[arg(long, value_name = "DATE", default_value = doorstep_server::config::DEFAULT_PROTOCOL_V1_UNTIL,
              value_parser = parse_v1_until)]
        protocol_v1_until: V1Until,
    },
}

#[derive(Subcommand)]
enum UserOp {
    /// Creates an account.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Family-doctor team (required for doctors).
        #[arg(long)]
        team: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        #[arg(long)]
        password: Option<String>,
        /// The person's name as colleagues know it (张三), shown on pages instead of the account name.
        #[arg(long, default_value = "")]
        display_name: String,
        /// The unit or team the person works for, printed on ledgers.
        #[arg(long, default_value = "")]
        unit: String,
    },
    List,
    /// Sets the name people read and the unit of an account.
    Set {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        unit: Option<String>,
    },
    /// Disables an account (not the last active admin); its sessions end and its devices are refused.
    Disable {
        name: String,
    },
    /// Enables a disabled account.
    Enable {
        name: String,
    },
    /// Sets a new password the person must change at the next sign-in on the pages.
    ResetPassword {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        #[arg(long)]
        password: Option<String>,
    },
    /// Shows an account: role, what it is in charge of, its devices and their last sync.
    Show {
        name: String,
    },
}

#[derive(Subcommand)]
enum PlaceOp {
    /// Adds a township (乡镇).
    AddTownship { name: String },
    /// Adds a village (行政村) of a known township.
    AddVillage {
        name: String,
        #[arg(long)]
        township: String,
    },
    /// Renames a township or village, with every assignment naming it and every household placed there.
    Rename {
        #[arg(value_parser = parse_place_kind)]
        kind: PlaceKind,
        old: String,
        new: String,
    },
    /// Lists townships and villages with their households.
    List,
}

#[derive(Subcommand)]
enum HouseholdOp {
    /// Lists households (id, number, village, head, status, helpers); every option given must match.
    List {
        #[arg(long)]
        village: Option<String>,
        #[arg(long)]
        township: Option<String>,
        /// The household number, or its beginning.
        #[arg(long)]
        number: Option<String>,
        /// Part of the head's or a member's name.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Shows a household by id or number: place, helpers, members, latest visits.
    Show { household: String },
}

#[derive(Subcommand)]
enum AssignOp {
    /// Assigns households to a helper.
    Helper {
        user: String,
        #[arg(required = true)]
        household_ids: Vec<String>,
    },
    /// Moves households from one helper to another (without --to: only away from --from); the old helper's
    /// devices upload what they wrote for them at their next sync, then wipe them.
    Reassign {
        #[arg(required = true)]
        household_ids: Vec<String>,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: Option<String>,
    },
    /// Takes villages away from a family-doctor team; its doctors' devices upload, then wipe them.
    RemoveTeam {
        team: String,
        #[arg(required = true)]
        villages: Vec<String>,
    },
    /// Gives a family-doctor team villages.
    Team {
        team: String,
        #[arg(required = true)]
        villages: Vec<String>,
    },
    /// Gives a supervisor townships and/or villages.
    Area {
        user: String,
        #[arg(long)]
        township: Vec<String>,
        #[arg(long)]
        village: Vec<String>,
    },
    /// Takes townships and/or villages out of a supervisor's area; the supervisor's devices upload, then wipe them.
    RemoveArea {
        user: String,
        #[arg(long)]
        township: Vec<String>,
        #[arg(long)]
        village: Vec<String>,
    },
}

#[derive(Subcommand)]
enum GrantOp {
    /// Lets an inspector see a village until a date (inclusive).
    Inspector {
        user: String,
        village: String,
        #[arg(long)]
        until: String,
    },
}

#[derive(Subcommand)]
enum DeviceOp {
    List,
    /// Revokes a device's token; its next request is refused.
    Revoke {
        device_id: String,
    },
}

#[derive(Subcommand)]
enum BlobsOp {
    /// Deletes blobs no live visit or screening refers to (each deletion logged, one audit-log entry).
    Gc {
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum RulesOp {
    /// Shows the rules in force.
    Show,
    /// Changes some rules; the others keep their values.
    Set {
        #[arg(long)]
        monthly_visits: Option<u32>,
        #[arg(long)]
        monitored_monthly_visits: Option<u32>,
        #[arg(long)]
        edge_monthly_visits: Option<u32>,
        #[arg(long)]
        hypertension_followup_days: Option<u32>,
        #[arg(long)]
        diabetes_followup_days: Option<u32>,
        #[arg(long)]
        mental_followup_days: Option<u32>,
        #[arg(long)]
        lookahead_days: Option<u32>,
        /// Household statuses that need monthly helper visits, comma-separated codes
        /// (registered_poor,lifted,monitored,edge by default; ordinary households are not scheduled).
        #[arg(long, value_delimiter = ',', value_parser = parse_status)]
        monthly_visit_statuses: Option<Vec<PovertyStatus>>,
        /// The day the changed rules take effect (default today); earlier months keep the rules in force then.
        #[arg(long, value_name = "YYYY-MM-DD")]
        effective_from: Option<String>,
    },
}

fn parse_status(s: &str) -> Result<PovertyStatus, String> {
    PovertyStatus::parse(s.trim()).ok_or_else(|| {
        let all: Vec<&str> = PovertyStatus::ALL.iter().map(|r| r.code()).collect();
        format!("unknown status {s:?}; one of {}", all.join(", "))
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
        format!("unknown role {s:?}; one of {}", all.join(", "))
    })
}

fn parse_place_kind(s: &str) -> Result<PlaceKind, String> {
    PlaceKind::parse(s).ok_or_else(|| format!("unknown kind of place {s:?}; one of township, village"))
}

fn main() -> ExitCode {
    bound_malloc_arenas();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server's Rust memory comes from jemalloc: a thread caches small blocks of its own and arenas return what they
/// no longer use. With glibc's malloc bounded to one arena per core (below, for the memory it otherwise kept), the
/// two threads counting a province's "as of" view sometimes shared an arena and waited on its lock: the same view
/// took 1.2 s or 3.3 s from one run to the next, and half its samples were in the lock. jemalloc gave the same
/// view steadily (1.3-1.4 s before the reads were trimmed, `docs/server.md`).
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What still comes from glibc's malloc is SQLite's and the PostgreSQL client's C memory. glibc's malloc gives each
/// thread that meets contention an arena of its own, up to eight per core, and an arena keeps the memory it once
/// held. Pushes run on the blocking pool's many threads, each with megabytes of documents in hand, so at month end
/// the server's memory grew with the number of threads that had ever pushed: 100 phones pushing at once left
/// 330 MiB resident on SQLite and 1,277 MiB on PostgreSQL, against 230 and 473 MiB with one arena per core
/// (BENCHMARKS.md, county ingest), measured before Rust's memory moved to jemalloc. The arenas are bounded to one
/// per core before any thread starts.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        // SAFETY: `mallopt` only sets a malloc parameter; it is called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
        }
    }
}

/// Why a command failed: one line on stderr. Refusals of the administration commands are `accounts`'; the rest is
/// the console's own (a file, a port, the runtime, the demo's build).
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Setup(String),
    #[error("the demo county could not be built or served: {0}")]
    Demo(#[from] doorstep_server::demo::DemoError),
}

/// `serve --protocol-v1-until`: a day, or no end.
#[derive(Clone, Debug)]
struct V1Until(Option<chrono::NaiveDate>);

fn parse_v1_until(s: &str) -> Result<V1Until, String> {
    if s == "never" {
        return Ok(V1Until(None));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| V1Until(Some(d)))
        .map_err(|_| format!("{s:?} is not a date YYYY-MM-DD or `never`"))
}

fn open(data: &std::path::Path, database: Option<&str>) -> Result<SharedStorage, CommandError> {
    Ok(match database {
        Some(url) => Arc::new(PostgresStorage::open(url)?),
        None => Arc::new(SqliteStorage::open(data)?),
    })
}

fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Demo { listen, size } => {
            // The demo keeps its county apart from a real server's data unless --data says otherwise.
            let data =
                if cli.data == std::path::Path::new("doorstep-data") { PathBuf::from("demo-data") } else { cli.data };
            doorstep_server::demo::run(doorstep_server::demo::Options { data, listen, size })
                .map_err(CommandError::Demo)
        }
        Command::Serve {
            listen,
            max_body,
            session_hours,
            session_seconds,
            max_blob,
            tls_cert,
            tls_key,
            protocol_v1_until: V1Until(protocol_v1_until),
        } => {
            let session_max_age = std::time::Duration::from_secs(session_seconds.unwrap_or(session_hours * 3600));
            let blobs_dir = cli.blobs.unwrap_or_else(|| Config::default_blobs_dir(&cli.data));
            let max_grant_days = cli.max_grant_days;
            let config = Config {
                data_dir: cli.data,
                listen,
                max_body,
                session_max_age,
                blobs_dir,
                max_blob,
                max_grant_days,
                protocol_v1_until,
            };
            serve(config, cli.database, tls_cert.zip(tls_key))
        }
        Command::MigrateDocuments => {
            let s = open(&cli.data, cli.database.as_deref())?;
            let moved = doorstep_server::documents::migrate(&*s)?;
            println!("{moved} documents moved to document format {}", doorstep_core::model::form::CURRENT);
            Ok(())
        }
        Command::Blobs { op: BlobsOp::Gc { dry_run } } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .init();
            let s = open(&cli.data, cli.database.as_deref())?;
            let dir = cli.blobs.unwrap_or_else(|| Config::default_blobs_dir(&cli.data));
            let store = doorstep_server::blobs::BlobStore::new(dir);
            let r = doorstep_server::blobs::gc(&*s, &store, dry_run, CONSOLE)
                .map_err(|e| CommandError::Setup(e.to_string()))?;
            let verb = if dry_run { "would delete" } else { "deleted" };
            println!(
                "{verb} {} complete and {} partial blobs ({} bytes); kept {}; {} records without bytes",
                r.complete, r.partial, r.bytes, r.kept, r.records
            );
            Ok(())
        }
        Command::User { op } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            match op {
                UserOp::Add { name, role, team, password_stdin, password, display_name, unit } => {
                    let password = password_of(password_stdin, password)?;
                    accounts::add_user(&*s, CONSOLE, &name, role, team, &password)?;
                    if !display_name.is_empty() || !unit.is_empty() {
                        accounts::set_profile(&*s, CONSOLE, &name, Some(&display_name), Some(&unit))?;
                    }
                    println!("added {name} ({})", role.code());
                }
                UserOp::List => {
                    for u in s.users()? {
                        let state = if u.disabled { "disabled" } else { "active" };
                        let team = u.team.clone().unwrap_or_default();
                        println!("{}\t{}\t{team}\t{state}\t{}\t{}", u.name, u.role.code(), u.display_name, u.unit);
                    }
                }
                UserOp::Set { name, display_name, unit } => {
                    let u = accounts::set_profile(&*s, CONSOLE, &name, display_name.as_deref(), unit.as_deref())?;
                    println!("{name}: {} / {}", u.display_name, u.unit);
                }
                UserOp::Disable { name } => {
                    accounts::disable_user(&*s, CONSOLE, &name)?;
                    println!("disabled {name}");
                }
                UserOp::Enable { name } => {
                    accounts::enable_user(&*s, CONSOLE, &name)?;
                    println!("enabled {name}");
                }
                UserOp::ResetPassword { name, password_stdin, password } => {
                    let password = password_of(password_stdin, password)?;
                    accounts::reset_password(&*s, CONSOLE, &name, &password)?;
                    println!("password of {name} reset; it must be changed at the next sign-in");
                }
                UserOp::Show { name } => lookup::user_show(&*s, &name)?.iter().for_each(|l| println!("{l}")),
            }
            Ok(())
        }
        Command::Place { op } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            match op {
                PlaceOp::AddTownship { name } => {
                    let new = places::add_township(&*s, CONSOLE, &name)?;
                    println!("{} township {name}", if new { "added" } else { "confirmed" });
                }
                PlaceOp::AddVillage { name, township } => {
                    let new = places::add_village(&*s, CONSOLE, &name, &township)?;
                    println!("{} village {name} ({township})", if new { "added" } else { "confirmed" });
                }
                PlaceOp::Rename { kind, old, new } => {
                    let moved = places::rename(&*s, CONSOLE, kind, &old, &new)?;
                    println!("renamed {} {old} to {new}; {moved} households moved", kind.code());
                }
                PlaceOp::List => lookup::place_lines(&s.places()?).iter().for_each(|l| println!("{l}")),
            }
            Ok(())
        }
        Command::Household { op } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            match op {
                HouseholdOp::List { village, township, number, name, limit } => {
                    let filter = HouseholdFilter { ids: vec![], village, township, number, name, limit: limit.max(1) };
                    let found = s.find_households(&filter)?;
                    for h in &found {
                        println!("{}", lookup::household_line(h));
                    }
                    if found.len() as u32 >= filter.limit {
                        eprintln!(
                            "showing the first {}; narrow with --village, --number or --name, or raise --limit",
                            filter.limit
                        );
                    }
                }
                HouseholdOp::Show { household } => {
                    lookup::household_show(&*s, &household)?.iter().for_each(|l| println!("{l}"))
                }
            }
            Ok(())
        }
        Command::Assign { op } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            match op {
                AssignOp::Helper { user, household_ids } => {
                    accounts::assign_helper(&*s, CONSOLE, &user, &household_ids)?
                }
                AssignOp::Reassign { household_ids, from, to } => {
                    accounts::reassign_helper(&*s, CONSOLE, &from, to.as_deref(), &household_ids)?
                }
                AssignOp::Team { team, villages } => accounts::assign_team(&*s, CONSOLE, &team, &villages)?,
                AssignOp::RemoveTeam { team, villages } => accounts::unassign_team(&*s, CONSOLE, &team, &villages)?,
                AssignOp::Area { user, township, village } => {
                    accounts::assign_area(&*s, CONSOLE, &user, &township, &village)?
                }
                AssignOp::RemoveArea { user, township, village } => {
                    accounts::unassign_area(&*s, CONSOLE, &user, &township, &village)?
                }
            }
            println!("assigned");
            Ok(())
        }
        Command::Grant { op: GrantOp::Inspector { user, village, until } } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            accounts::grant_inspector(&*s, CONSOLE, &user, &village, &until, cli.max_grant_days)?;
            println!("granted {user} {village} until {until}");
            Ok(())
        }
        Command::Device { op } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            match op {
                DeviceOp::List => {
                    for d in accounts::devices(&*s)? {
                        println!("{}", lookup::device_line(&d));
                    }
                }
                DeviceOp::Revoke { device_id } => {
                    accounts::revoke_device(&*s, CONSOLE, &device_id)?;
                    println!("revoked {device_id}");
                }
            }
            Ok(())
        }
        Command::Rules { op } => {
            let s = open(&cli.data, cli.database.as_deref())?;
            let rules = match op {
                RulesOp::Show => accounts::rules(&*s)?,
                RulesOp::Set {
                    monthly_visits,
                    monitored_monthly_visits,
                    edge_monthly_visits,
                    hypertension_followup_days,
                    diabetes_followup_days,
                    mental_followup_days,
                    lookahead_days,
                    monthly_visit_statuses,
                    effective_from,
                } => {
                    let update = RulesUpdate {
                        monthly_visits,
                        monitored_monthly_visits,
                        edge_monthly_visits,
                        hypertension_followup_days,
                        diabetes_followup_days,
                        mental_followup_days,
                        lookahead_days,
                        monthly_visit_statuses,
                        effective_from: None,
                    };
                    if update == RulesUpdate::default() {
                        return Err(CommandError::Setup(
                            "give at least one rule to set, e.g. --monthly-visits 2".into(),
                        ));
                    }
                    accounts::set_rules(&*s, CONSOLE, &RulesUpdate { effective_from, ..update })?
                }
            };
            println!("{}", serde_json::to_string_pretty(&rules).unwrap_or_default());
            Ok(())
        }
    }
}

/// The password of `--password-stdin` or `--password P`.
fn password_of(stdin: bool, given: Option<String>) -> Result<String, CommandError> {
    match (stdin, given) {
        (true, _) => read_password_line(),
        (false, Some(p)) => Ok(p),
        (false, None) => Err(CommandError::Setup("give --password-stdin or --password P".into())),
    }
}

fn read_password_line() -> Result<String, CommandError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CommandError::Setup(format!("reading the password from standard input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `tls`: the certificate chain and key files of `serve --tls-cert/--tls-key`; without them the server speaks plain
/// HTTP (behind a TLS reverse proxy, see docs/deploy.md).
fn serve(config: Config, database: Option<String>, tls: Option<(PathBuf, PathBuf)>) -> Result<(), CommandError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // PostgreSQL also answers the pages' report queries; without it the pages read SQLite's file in --data.
    let (storage, reports): (SharedStorage, Option<Arc<dyn Reports>>) = match database.as_deref() {
        Some(url) => {
            let pg = Arc::new(PostgresStorage::open(url)?);
            let reports: Arc<dyn Reports> = Arc::new(Snapshots::new(pg.report_source()));
            (pg, Some(reports))
        }
        None => (open(&config.data_dir, None)?, None),
    };
    if doorstep_server::documents::due(&*storage, config.protocol_v1_until)? {
        tracing::info!("protocol version 1 is no longer served: moving every document to the current format");
        let moved = doorstep_server::documents::migrate(&*storage)?;
        tracing::info!("{moved} documents moved");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Setup(format!("starting the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| CommandError::Setup(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(|e| CommandError::Setup(e.to_string()))?;
        // Certificate problems end the start here, before the listening line, naming the file.
        let tls = match &tls {
            Some((cert, key)) => Some(doorstep_server::tls::load(cert, key).await.map_err(CommandError::Setup)?),
            None => None,
        };
        println!("listening on {}://{addr}", if tls.is_some() { "https" } else { "http" });
        let _ = std::io::stdout().flush();
        let app = app::router(AppState::new(storage, config), reports);
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let stopped = |e: std::io::Error| CommandError::Setup(format!("server stopped: {e}"));
        match tls {
            Some(tls) => doorstep_server::tls::serve(listener, tls, service, shutdown_signal()).await.map_err(stopped),
            None => axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await.map_err(stopped),
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
