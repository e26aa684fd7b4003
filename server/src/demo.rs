//! `doorstep-server demo`: a realistic county, built through the same code paths devices use, then served.
//!
//! The server starts first on the listen address. Then simulated devices — one per helper and per family-doctor
//! team, each a real encrypted core `Store` — record households, a year of monthly visits, doctor follow-ups and
//! two screening campaigns, and sync with the core's sync client over real HTTP to that server, exactly as phones
//! do. A few households are edited on two devices before either syncs, so their conflicts stay visible. The
//! county has realistic gaps: households not visited last month, abnormal readings without follow-up, problems
//! not yet resolved. Users for every role are created first and their passwords printed. About one in sixteen of the
//! last two months' visits carries a generated photo or signature (`demo/media.rs`), attached with the device's
//! `Store::attach` and uploaded by its blob phase, so the household pages show thumbnails.
//!
//! A demo already built in the same data directory (the file `demo.json` says so) is served again as it is.
//!
//! Time: the county's year is recorded in minutes, so once the devices have synced the demo moves each change's
//! received time to the day its phone would have synced (see `backdate`); "as of" views then show the year.
//!
//! Speed: the simulated devices' stores run with `PRAGMA synchronous = OFF` (a simulated phone has no power to
//! lose); the server keeps its own durable settings. Everything else is the production path.

mod media;

use crate::accounts::{self, AccountsError};
use crate::app;
use crate::config::{Config, DEFAULT_MAX_BODY};
use crate::http::AppState;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{SharedStorage, Storage, StorageError};
use chrono::{Datelike, Duration, NaiveDate};
use doorstep_core::model::{
    classify, new_id, samples, with_check_digit, AlertChange, AlertLevel, AssuranceCheck, AssuranceKind,
    AssuranceStatus, Assurances, Condition, Disability, DisabilityKind, DoctorContract, Household, Measure,
    MeasureKind, MeasureStatus, Member, PovertyStatus, Problem, ProblemStatus, Referral, ReferralLevel, Relation,
    RiskCause, Role, Satisfaction, Screening, Sex, StatusTransition, Thresholds, TransitionEvent, Visit, VisitKind,
};
use doorstep_core::store::Store;
use doorstep_core::sync::{Client, NetworkKind, NetworkPolicy, SyncConfig};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How big a county to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Size {
    /// About 3 townships, 30 villages, 3,000 households, 10,000 members.
    Full,
    /// 3 townships, 6 villages, 72 households: for tests.
    Small,
}

/// What `demo` needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub size: Size,
}

/// A senior helper of the demo and the township whose red-alert households they share.
struct SeniorWork {
    user: String,
    township: String,
}

/// One account of the demo, printed at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoUser {
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub password: String,
    /// The person's name as the pages show it.
    #[serde(default)]
    pub display_name: String,
    /// Where the person works, printed on ledgers.
    #[serde(default)]
    pub unit: String,
}

/// Gives every account of the demo a different person's name, the same each time the demo is built.
#[derive(Default)]
struct StaffNames(std::collections::HashSet<String>);

impl StaffNames {
    fn next(&mut self) -> String {
        let mut k = self.0.len() * 7 + 3;
        loop {
            let given = if k.is_multiple_of(2) { MALE } else { FEMALE };
            let name = format!("{}{}", SURNAMES[k % SURNAMES.len()], given[(k / SURNAMES.len() + k * 5) % given.len()]);
            if self.0.insert(name.clone()) {
                return name;
            }
            k += 1;
        }
    }
}

/// What `demo.json` records about a built demo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Built {
    pub size: Size,
    pub users: Vec<DemoUser>,
    pub households: usize,
    pub members: usize,
    pub visits: usize,
    pub screenings: usize,
    pub build_seconds: f64,
}

/// Why the demo county could not be built or served: each variant names the part that failed, so the one line
/// `doorstep-server demo` prints says where to look (a file or port, the server's storage, the accounts, a phone).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or directory of the demo, the listening socket, the runtime or the running server: the context says
    /// which (a path, an address).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path or address.
        context: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The server's own storage could not be opened or used.
    #[error("the demo server's storage: {0}")]
    Storage(#[from] StorageError),
    /// The server refused an account, place, assignment or grant of the demo (a bug in the demo's plan).
    #[error("setting up the demo's accounts and places: {0}")]
    Accounts(#[from] AccountsError),
    /// A simulated phone's store, login, sync or blob upload failed (the core's error says which).
    #[error("a simulated phone's store or sync failed: {0}")]
    Core(#[from] doorstep_core::Error),
    /// A sync of a simulated phone stopped before the server had sent everything.
    #[error("a simulated phone's sync did not finish")]
    SyncIncomplete,
    /// A simulated phone's blob phase left photos or signatures on the phone.
    #[error(
        "a simulated phone's blob upload left blobs behind ({broken} broken, {refused} refused, unfinished: {incomplete})"
    )]
    BlobsLeft {
        /// Blobs the server refused as not matching their hash.
        broken: u64,
        /// Blobs the server refused for now.
        refused: u64,
        /// Whether the chunk limit stopped the phase before every blob was sent.
        incomplete: bool,
    },
    /// Moving the changes' received times to the days the phones would have synced failed.
    #[error("dating the demo's changes: {0}")]
    Backdate(#[source] rusqlite::Error),
    /// `demo.json`, the record of a built demo, could not be written.
    #[error("recording the built demo in demo.json: {0}")]
    Marker(#[from] serde_json::Error),
    /// A task of the build (a phone, the accounts) or the server's task panicked or was cancelled.
    #[error("a task of the demo failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The queue that lets two phones work at a time was closed (it never is; kept for the log, never a panic).
    #[error("the demo's phone queue was closed: {0}")]
    Queue(#[from] tokio::sync::AcquireError),
    /// A lock (a phone's store, the county's counts) was poisoned by a task that panicked while holding it.
    #[error("{0} was poisoned by a task that panicked")]
    Poisoned(&'static str),
    /// Something failed on one simulated phone: names the account it belongs to.
    #[error("{device}: {source}")]
    Device {
        /// The account whose phone it was (`helper03`, `doctor01`).
        device: String,
        /// What failed there.
        #[source]
        source: Box<DemoError>,
    },
}

impl DemoError {
    /// An I/O failure with what was being done (a path, an address), for the `?` of an `io::Result`.
    fn io(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> DemoError {
        let context = context.to_string();
        move |source| DemoError::Io { context, source }
    }

    /// What failed on the simulated phone of `device`, for its task's result.
    fn on_device(device: String) -> impl FnOnce(DemoError) -> DemoError {
        move |e| DemoError::Device { device, source: Box::new(e) }
    }
}

const TOWNSHIPS: &[(&str, &str)] = &[("石门镇", "430621"), ("青山乡", "430622"), ("河口镇", "430623")];
const VILLAGES: &[&str] = &[
    "石门村",
    "白沙村",
    "龙潭村",
    "枫树村",
    "柳溪村",
    "桃源村",
    "高坪村",
    "杨家村",
    "新屋村",
    "岩口村",
    "青山村",
    "茶园村",
    "竹林村",
    "黄土村",
    "双河村",
    "大坪村",
    "梨花村",
    "松柏村",
    "马鞍村",
    "云台村",
    "河口村",
    "沙洲村",
    "莲塘村",
    "金竹村",
    "凤凰村",
    "长岭村",
    "水口村",
    "石桥村",
    "新田村",
    "花园村",
];
const SURNAMES: &[&str] = &[
    "张", "王", "李", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "胡", "朱", "郭", "何", "罗", "高",
    "林",
];
const MALE: &[&str] = &["建国", "志强", "国华", "永红", "德明", "春生", "海军", "小龙", "文斌", "家豪", "宇航", "子轩"];
const FEMALE: &[&str] =
    &["秀英", "桂兰", "玉梅", "春花", "丽华", "小红", "美玲", "慧敏", "雨涵", "欣怡", "梓涵", "思琪"];
const HAMLETS: &[&str] = &["上屯", "下屯", "中寨", "坡头", "河边"];
const PROBLEMS: &[(&str, AssuranceKind)] = &[
    ("房屋漏雨，需维修", AssuranceKind::Housing),
    ("饮水管道冻裂，取水困难", AssuranceKind::Water),
    ("慢病药费负担重，需办理慢病卡", AssuranceKind::Medical),
    ("子女辍学在家，需劝返", AssuranceKind::Education),
    ("冬季衣被不足", AssuranceKind::Clothing),
    ("医保未续缴", AssuranceKind::Medical),
];

/// Runs the demo: builds the county if this data directory has none yet, prints the accounts, then serves.
pub fn run(opts: Options) -> Result<(), DemoError> {
    std::fs::create_dir_all(&opts.data)
        .map_err(DemoError::io(format!("creating the data directory {}", opts.data.display())))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let storage: SharedStorage = Arc::new(SqliteStorage::open(&opts.data)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DemoError::io("starting the runtime"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(DemoError::io(format!("cannot listen on {}", opts.listen)))?;
        let addr = listener.local_addr().map_err(DemoError::io("reading the listening address"))?;
        let config = Config {
            data_dir: opts.data.clone(),
            listen: addr,
            max_body: DEFAULT_MAX_BODY,
            blobs_dir: Config::default_blobs_dir(&opts.data),
            max_blob: crate::config::default_max_blob(),
            session_max_age: crate::config::DEFAULT_SESSION_MAX_AGE,
            max_grant_days: accounts::DEFAULT_MAX_GRANT_DAYS,
            protocol_v1_until: crate::config::default_protocol_v1_until(),
        };
        let app = app::router(AppState::new(storage.clone(), config), None);
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
        });
        let host = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
        let url = format!("http://{host}");
        let marker = opts.data.join("demo.json");
        let built = match std::fs::read(&marker).ok().and_then(|b| serde_json::from_slice::<Built>(&b).ok()) {
            Some(b) => {
                println!("Demo county already built in {} — serving it again.", opts.data.display());
                print_users(&b.users);
                b
            }
            None => {
                let b = build(storage.clone(), &url, &opts).await?;
                let json = serde_json::to_vec_pretty(&b)?;
                std::fs::write(&marker, json).map_err(DemoError::io(format!("writing {}", marker.display())))?;
                b
            }
        };
        println!(
            "{} households, {} members, {} visits, {} screenings (built in {:.0} s).",
            built.households, built.members, built.visits, built.screenings, built.build_seconds
        );
        println!("listening on {url}");
        println!("Open {url}/ in a browser and sign in with one of the accounts above.");
        let _ = std::io::stdout().flush();
        server.await?.map_err(DemoError::io("the server stopped"))
    })
}

fn print_users(users: &[DemoUser]) {
    println!("Accounts (user / password / role):");
    let mut by_pw: Vec<(String, Role, Vec<String>)> = Vec::new();
    for u in users {
        match by_pw.iter_mut().find(|(p, r, _)| *p == u.password && *r == u.role) {
            Some((_, _, names)) => names.push(u.name.clone()),
            None => by_pw.push((u.password.clone(), u.role, vec![u.name.clone()])),
        }
    }
    for (pw, role, names) in by_pw {
        let shown = if names.len() > 3 {
            format!("{} … {} ({} accounts)", names[0], names[names.len() - 1], names.len())
        } else {
            names.join(", ")
        };
        println!("  {shown:<40} {pw:<18} {} / {}", role.label_zh(), role.label_en());
    }
    let _ = std::io::stdout().flush();
}

/// The shape of the county for a size.
struct Plan {
    townships: usize,
    villages_per_township: usize,
    households_per_village: usize,
    households_per_helper: usize,
    villages_per_team: usize,
}

impl Plan {
    fn of(size: Size) -> Self {
        match size {
            Size::Full => Plan {
                townships: 3,
                villages_per_township: 10,
                households_per_village: 100,
                households_per_helper: 60,
                villages_per_team: 3,
            },
            Size::Small => Plan {
                townships: 3,
                villages_per_township: 2,
                households_per_village: 12,
                households_per_helper: 24,
                villages_per_team: 3,
            },
        }
    }
}

/// A village with its township and the region code of its people's ID numbers.
#[derive(Clone)]
struct Village {
    name: String,
    township: String,
    region: String,
    index: usize,
}

/// What one helper's device records.
struct HelperWork {
    user: String,
    households: Vec<Household>,
}

/// What one doctor team's device records.
struct TeamWork {
    user: String,
    team: String,
    villages: Vec<String>,
}

async fn build(storage: SharedStorage, url: &str, opts: &Options) -> Result<Built, DemoError> {
    let started = Instant::now();
    let plan = Plan::of(opts.size);
    let today = chrono::Local::now().date_naive();
    let mut rng = StdRng::seed_from_u64(20261129);
    let villages: Vec<Village> = (0..plan.townships)
        .flat_map(|t| {
            (0..plan.villages_per_township).map(move |v| {
                let i = t * plan.villages_per_township + v;
                Village {
                    name: VILLAGES[i % VILLAGES.len()].to_string(),
                    township: TOWNSHIPS[t % TOWNSHIPS.len()].0.to_string(),
                    region: TOWNSHIPS[t % TOWNSHIPS.len()].1.to_string(),
                    index: i,
                }
            })
        })
        .collect();

    // Households, in village order, each given to a helper and a doctor team.
    let mut households = Vec::new();
    for v in &villages {
        for n in 0..plan.households_per_village {
            households.push(make_household(&mut rng, v, n, today));
        }
    }
    let helpers_n = households.len().div_ceil(plan.households_per_helper);
    let helper_name = |i: usize| format!("helper{:02}", i + 1);
    let teams: Vec<TeamWork> = villages
        .chunks(plan.villages_per_team)
        .enumerate()
        .map(|(i, vs)| TeamWork {
            user: format!("doctor{:02}", i + 1),
            team: format!("{}家医{}组", vs[0].township, i + 1),
            villages: vs.iter().map(|v| v.name.clone()).collect(),
        })
        .collect();
    let team_of_village: HashMap<String, String> =
        teams.iter().flat_map(|t| t.villages.iter().map(move |v| (v.clone(), t.team.clone()))).collect();
    let mut helpers: Vec<HelperWork> =
        (0..helpers_n).map(|i| HelperWork { user: helper_name(i), households: vec![] }).collect();
    for (i, mut h) in households.into_iter().enumerate() {
        let helper = i / plan.households_per_helper;
        h.helper_ids = vec![helper_name(helper)];
        h.doctor_team = team_of_village.get(&h.village).cloned().unwrap_or_default();
        let signed = format!("{}-01-15", today.year());
        for m in h.members.values_mut() {
            let priority = m.conditions.iter().any(|c| *c != Condition::Other)
                || m.pregnant
                || m.disability.is_some()
                || samples_age(&m.birth_date, today) >= 65
                || samples_age(&m.birth_date, today) < 7;
            // Priority groups are contracted first; a few are not yet ("签约率" gaps), others sometimes.
            let p = if priority { 0.9 } else { 0.35 };
            if rng.random_bool(p) {
                m.contract = Some(DoctorContract {
                    team: h.doctor_team.clone(),
                    signed_date: signed.clone(),
                    renewal_date: None,
                });
            }
        }
        helpers[helper].households.push(h);
    }
    // A red-alert household gets a senior second helper (驻村工作队 / 第一书记) of its township, who is in charge
    // of it together with its helper.
    let mut seniors: Vec<SeniorWork> = Vec::new();
    for h in helpers.iter_mut().flat_map(|w| w.households.iter_mut()) {
        if h.alert_level != Some(AlertLevel::Red) {
            continue;
        }
        let at = match seniors.iter().position(|s| s.township == h.township) {
            Some(at) => at,
            None => {
                seniors
                    .push(SeniorWork { user: format!("senior{:02}", seniors.len() + 1), township: h.township.clone() });
                seniors.len() - 1
            }
        };
        h.helper_ids.push(seniors[at].user.clone());
        h.senior_helper = seniors[at].user.clone();
    }

    // Accounts for every role, each with the name and unit people know them by.
    let mut names = StaffNames::default();
    let township_of = |hs: &[Household]| hs.first().map(|h| h.township.clone()).unwrap_or_default();
    let mut users = vec![DemoUser {
        name: "admin".into(),
        role: Role::Admin,
        team: None,
        password: "admin-2026".into(),
        display_name: names.next(),
        unit: "县乡村振兴局信息股".into(),
    }];
    users.push(DemoUser {
        name: "county".into(),
        role: Role::Supervisor,
        team: None,
        password: "supervise-2026".into(),
        display_name: names.next(),
        unit: "县乡村振兴局".into(),
    });
    for t in 0..plan.townships {
        users.push(DemoUser {
            name: format!("sup{}", t + 1),
            role: Role::Supervisor,
            team: None,
            password: "supervise-2026".into(),
            display_name: names.next(),
            unit: format!("{}人民政府", TOWNSHIPS[t % TOWNSHIPS.len()].0),
        });
    }
    for h in &helpers {
        users.push(DemoUser {
            name: h.user.clone(),
            role: Role::Helper,
            team: None,
            password: "helper-2026".into(),
            display_name: names.next(),
            unit: format!("{}人民政府", township_of(&h.households)),
        });
    }
    for s in &seniors {
        users.push(DemoUser {
            name: s.user.clone(),
            role: Role::Helper,
            team: None,
            password: "helper-2026".into(),
            display_name: names.next(),
            unit: format!("县派驻村工作队（{}）", s.township),
        });
    }
    for t in &teams {
        users.push(DemoUser {
            name: t.user.clone(),
            role: Role::Doctor,
            team: Some(t.team.clone()),
            password: "doctor-2026".into(),
            display_name: names.next(),
            unit: format!("{}卫生院", t.team.split('家').next().unwrap_or_default()),
        });
    }
    for i in 1..=2 {
        users.push(DemoUser {
            name: format!("inspector{i}"),
            role: Role::Inspector,
            team: None,
            password: "inspect-2026".into(),
            display_name: names.next(),
            unit: "县督查组".into(),
        });
    }
    print_users(&users);

    // Progress in units: 15 a household on the helpers' phones, 5 a household on the doctors' phones.
    let total_records: u64 = helpers.iter().map(|h| h.households.len() as u64 * 20).sum::<u64>();
    let bar = ProgressBar::new(total_records + users.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:40}] {pos}/{len} {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("accounts");
    {
        let users = users.clone();
        let teams: Vec<(String, Vec<String>)> = teams.iter().map(|t| (t.team.clone(), t.villages.clone())).collect();
        let villages = villages.clone();
        let bar = bar.clone();
        let townships: Vec<String> = (0..plan.townships).map(|t| TOWNSHIPS[t].0.to_string()).collect();
        tokio::task::spawn_blocking(move || -> Result<(), DemoError> {
            let s: &dyn Storage = storage.as_ref();
            for u in &users {
                accounts::add_user(s, accounts::CONSOLE, &u.name, u.role, u.team.clone(), &u.password)?;
                accounts::set_profile(s, accounts::CONSOLE, &u.name, Some(&u.display_name), Some(&u.unit))?;
                bar.inc(1);
            }
            // The county's places first: assignments may name only places the server knows.
            for t in &townships {
                crate::places::add_township(s, accounts::CONSOLE, t)?;
            }
            for v in &villages {
                crate::places::add_village(s, accounts::CONSOLE, &v.name, &v.township)?;
            }
            for (team, vs) in &teams {
                accounts::assign_team(s, accounts::CONSOLE, team, vs)?;
            }
            accounts::assign_area(s, accounts::CONSOLE, "county", &townships, &[])?;
            for (i, t) in townships.iter().enumerate() {
                accounts::assign_area(s, accounts::CONSOLE, &format!("sup{}", i + 1), std::slice::from_ref(t), &[])?;
            }
            // One inspector's cross-check grant is running, the other's ended yesterday.
            let later = (today + Duration::days(30)).format("%Y-%m-%d").to_string();
            let ended = (today - Duration::days(1)).format("%Y-%m-%d").to_string();
            accounts::grant_inspector(
                s,
                accounts::CONSOLE,
                "inspector1",
                &villages[0].name,
                &later,
                accounts::DEFAULT_MAX_GRANT_DAYS,
            )?;
            accounts::grant_inspector(
                s,
                accounts::CONSOLE,
                "inspector1",
                &villages[villages.len() - 1].name,
                &later,
                accounts::DEFAULT_MAX_GRANT_DAYS,
            )?;
            accounts::grant_inspector(
                s,
                accounts::CONSOLE,
                "inspector2",
                &villages[1].name,
                &ended,
                accounts::DEFAULT_MAX_GRANT_DAYS,
            )?;
            Ok(())
        })
        .await??;
    }

    // Helpers' devices: households and a year of visits, then sync. Two at a time (the machine's cores).
    let devices = opts.data.join("devices");
    std::fs::create_dir_all(&devices)
        .map_err(DemoError::io(format!("creating the phones' directory {}", devices.display())))?;
    bar.set_message("helpers record and sync");
    let counts = Arc::new(Mutex::new((0usize, 0usize, 0usize, 0usize)));
    let limit = Arc::new(tokio::sync::Semaphore::new(2));
    let mut tasks = Vec::new();
    let mut conflict_households = Vec::new();
    for (i, work) in helpers.into_iter().enumerate() {
        if i < 3 {
            if let Some(h) = work.households.get(1) {
                conflict_households.push((work.user.clone(), h.id.clone()));
            }
        }
        let (limit, bar, counts, url, dir) =
            (limit.clone(), bar.clone(), counts.clone(), url.to_string(), devices.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let device = work.user.clone();
            helper_device(work, &dir, &url, today, bar, counts).await.map_err(DemoError::on_device(device))
        }));
    }
    for t in tasks {
        t.await??;
    }

    // Doctor teams' devices: pull their villages, record follow-ups and the two screening campaigns, sync.
    bar.set_message("doctors record and sync");
    let mut tasks = Vec::new();
    for (i, work) in teams.into_iter().enumerate() {
        let (limit, bar, counts, url, dir) =
            (limit.clone(), bar.clone(), counts.clone(), url.to_string(), devices.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let device = work.user.clone();
            doctor_device(work, i as u64, &dir, &url, today, bar, counts).await.map_err(DemoError::on_device(device))
        }));
    }
    for t in tasks {
        t.await??;
    }

    // The year happened in minutes: give each change the day its phone would have reached the township.
    bar.set_message("dating the year");
    backdate(&opts.data, today)?;

    // A few households edited on two devices before either synced: the conflicts stay for a supervisor to see.
    bar.set_message("concurrent edits");
    for (helper, household) in conflict_households {
        concurrent_edit(&devices, url, &helper, &household).await.map_err(DemoError::on_device(helper))?;
    }
    bar.finish_with_message("built");
    let (households, members, visits, screenings) = *counts.lock().map_err(|_| DemoError::Poisoned(COUNTS))?;
    Ok(Built {
        size: opts.size,
        users,
        households,
        members,
        visits,
        screenings,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Moves each change's received time from the minutes of the build to the simulated day its phone synced: a
/// visit or screening a day or two after its date (in the evening), households when the year began. Only the
/// demo does this, directly in its own database, before any page is served; sequences (what sync orders by)
/// are left as they were. "As of" views of the demo then show the county growing through the year.
fn backdate(data: &Path, today: NaiveDate) -> Result<(), DemoError> {
    use chrono::TimeZone;
    let e = DemoError::Backdate;
    let mut conn = rusqlite::Connection::open(data.join("doorstep.db")).map_err(e)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(e)?;
    let now = crate::storage::now_ms();
    let offset_ms = i64::from(chrono::Local::now().offset().local_minus_utc()) * 1000;
    let start = today - Duration::days(400);
    let start_ms = chrono::Local
        .from_local_datetime(&start.and_hms_opt(9, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or(now);
    let tx = conn.transaction().map_err(e)?;
    // Local evening of the record's date, plus 0–2 days of waiting for a signal.
    let dated = |table: &str| {
        format!(
            "UPDATE changes SET received_ms = min(?1, (SELECT unixepoch(r.date) * 1000 - ?2 + 18 * 3600000
                 + (changes.seq % 3) * 86400000 FROM {table} r WHERE r.doc_id = changes.doc_id))
             WHERE doc_id IN (SELECT doc_id FROM {table})"
        )
    };
    tx.execute(&dated("ix_visits"), rusqlite::params![now, offset_ms]).map_err(e)?;
    tx.execute(&dated("ix_screenings"), rusqlite::params![now, offset_ms]).map_err(e)?;
    tx.execute("UPDATE changes SET received_ms = ?1 WHERE doc_id IN (SELECT doc_id FROM ix_households)", [start_ms])
        .map_err(e)?;
    tx.execute("UPDATE assignments SET created_ms = ?1", [start_ms]).map_err(e)?;
    tx.execute(crate::storage::sql::DOC_TIMES_FROM_CHANGES, []).map_err(e)?;
    // Figures kept while the county was being built counted the history before it was dated.
    tx.execute("DELETE FROM tallies", []).map_err(e)?;
    tx.commit().map_err(e)
}

fn samples_age(birth: &str, today: NaiveDate) -> i32 {
    NaiveDate::parse_from_str(birth, "%Y-%m-%d").map(|b| today.year() - b.year()).unwrap_or(30)
}

fn name(rng: &mut StdRng, surname: &str, sex: Sex) -> String {
    let given = if sex == Sex::Female { FEMALE } else { MALE };
    format!("{surname}{}", given[rng.random_range(0..given.len())])
}

fn birth(rng: &mut StdRng, today: NaiveDate, min_age: i64, max_age: i64) -> String {
    let days = rng.random_range(min_age * 365..=max_age * 365);
    (today - Duration::days(days + 1)).format("%Y-%m-%d").to_string()
}

fn person(rng: &mut StdRng, surname: &str, sex: Sex, relation: Relation, born: String, region: &str) -> Member {
    let mut m = samples::member(&name(rng, surname, sex), sex, &born, relation, region);
    let seq = rng.random_range(0..500) * 2 + if sex == Sex::Female { 0 } else { 1 };
    m.national_id = with_check_digit(&format!("{region}{}{seq:03}", born.replace('-', "")));
    m.insured = rng.random_bool(0.97);
    m
}

fn make_household(rng: &mut StdRng, v: &Village, n: usize, today: NaiveDate) -> Household {
    let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let head_sex = if rng.random_bool(0.8) { Sex::Male } else { Sex::Female };
    let head_born = birth(rng, today, 30, 82);
    let head_age = samples_age(&head_born, today);
    let mut members = vec![person(rng, surname, head_sex, Relation::Head, head_born, &v.region)];
    let other = if head_sex == Sex::Male { Sex::Female } else { Sex::Male };
    if rng.random_bool(0.8) {
        let spouse_surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
        let age = (head_age as i64 + rng.random_range(-5..=3)).clamp(22, 90);
        let born = birth(rng, today, age, age);
        members.push(person(rng, spouse_surname, other, Relation::Spouse, born, &v.region));
    }
    let children = rng.random_range(0..=2);
    for _ in 0..children {
        let sex = if rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
        let max = (head_age as i64 - 20).clamp(1, 40);
        let born = birth(rng, today, 0, max);
        members.push(person(rng, surname, sex, Relation::Child, born, &v.region));
    }
    if head_age > 45 && rng.random_bool(0.4) {
        let sex = if rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
        let born = birth(rng, today, 0, 6);
        members.push(person(rng, surname, sex, Relation::Grandchild, born, &v.region));
    }
    if head_age < 55 && rng.random_bool(0.45) {
        let born = birth(rng, today, head_age as i64 + 22, (head_age as i64 + 30).min(95));
        members.push(person(rng, surname, Sex::Female, Relation::Parent, born, &v.region));
    }
    for m in members.iter_mut() {
        let age = samples_age(&m.birth_date, today);
        if age >= 35 && rng.random_bool(((age - 25) as f64 / 120.0).min(0.45)) {
            m.conditions.push(Condition::Hypertension);
        }
        if age >= 40 && rng.random_bool(0.1) {
            m.conditions.push(Condition::Diabetes);
        }
        if age >= 18 && rng.random_bool(0.01) {
            m.conditions.push(Condition::SevereMental);
        }
        if age >= 60 && rng.random_bool(0.03) {
            m.conditions.push(Condition::Cataract);
        }
        if rng.random_bool(0.04) {
            let kinds = [
                DisabilityKind::Physical,
                DisabilityKind::Visual,
                DisabilityKind::Hearing,
                DisabilityKind::Intellectual,
            ];
            m.disability =
                Some(Disability { kind: kinds[rng.random_range(0..kinds.len())], grade: rng.random_range(1..=4) });
        }
        if m.sex == Sex::Female && (20..=38).contains(&age) && rng.random_bool(0.08) {
            m.pregnant = true;
        }
        m.chronic_certificate = !m.conditions.is_empty() && rng.random_bool(0.6);
    }
    // Poverty status with its dated history.
    let roll: f64 = rng.random();
    let (status, history, alert) = if roll < 0.45 {
        (PovertyStatus::Ordinary, vec![], None)
    } else if roll < 0.62 {
        let d = format!("{}-05-01", rng.random_range(2014..=2016));
        let mut history = vec![transition(&d, TransitionEvent::Identified, PovertyStatus::RegisteredPoor)];
        // Every fifth one left poverty and fell back (返贫) after an illness or a disaster.
        if n % 5 == 2 {
            history.push(transition(&format!("{}-11-20", 2019), TransitionEvent::Exited, PovertyStatus::Lifted));
            history.push(StatusTransition {
                reason: "家庭成员重病，医疗支出大".into(),
                ..transition(
                    &format!("{}-06-12", today.year() - 1),
                    TransitionEvent::Relapsed,
                    PovertyStatus::RegisteredPoor,
                )
            });
        }
        (PovertyStatus::RegisteredPoor, history, None)
    } else if roll < 0.85 {
        let d = format!("{}-05-01", rng.random_range(2014..=2016));
        let e = format!("{}-11-20", rng.random_range(2018..=2020));
        let mut history = vec![
            transition(&d, TransitionEvent::Identified, PovertyStatus::RegisteredPoor),
            transition(&e, TransitionEvent::Exited, PovertyStatus::Lifted),
        ];
        // Every fourth one was monitored for a while and its risk was eliminated (消除返贫风险) at a review.
        if n % 4 == 1 {
            history.push(transition(
                &format!("{}-04-10", today.year() - 2),
                TransitionEvent::Identified,
                PovertyStatus::Monitored,
            ));
            history.push(StatusTransition {
                reason: "“两不愁三保障”入户排查，收入稳定，风险已消除".into(),
                ..transition(
                    &format!("{}-04-18", today.year() - 1),
                    TransitionEvent::RiskEliminated,
                    PovertyStatus::Lifted,
                )
            });
        }
        (PovertyStatus::Lifted, history, None)
    } else if roll < 0.94 {
        let e = format!("{}-11-20", rng.random_range(2018..=2020));
        let m = format!("{}-04-10", rng.random_range(2022..=today.year()));
        // A red one gets a senior second helper once households are given to helpers.
        let levels = [
            AlertLevel::Red,
            AlertLevel::Yellow,
            AlertLevel::Yellow,
            AlertLevel::Blue,
            AlertLevel::Blue,
            AlertLevel::Blue,
        ];
        // Every third one is red, so each township of even a small demo shows a senior helper at work.
        let level = levels[rng.random_range(0..levels.len())];
        (
            PovertyStatus::Monitored,
            vec![
                transition(&e, TransitionEvent::Exited, PovertyStatus::Lifted),
                transition(&m, TransitionEvent::Identified, PovertyStatus::Monitored),
            ],
            Some(if n.is_multiple_of(3) { AlertLevel::Red } else { level }),
        )
    } else {
        let m = format!("{}-10-15", rng.random_range(2022..today.year()));
        (
            PovertyStatus::Edge,
            vec![transition(&m, TransitionEvent::Identified, PovertyStatus::Edge)],
            if rng.random_bool(0.5) { Some(AlertLevel::Blue) } else { None },
        )
    };
    let mut risk_causes = Vec::new();
    if status != PovertyStatus::Ordinary {
        let causes = RiskCause::ALL;
        risk_causes.push(if members.iter().any(|m| !m.conditions.is_empty()) {
            RiskCause::Illness
        } else {
            causes[rng.random_range(0..causes.len())]
        });
        if rng.random_bool(0.3) {
            let c = causes[rng.random_range(0..causes.len())];
            if !risk_causes.contains(&c) {
                risk_causes.push(c);
            }
        }
    }
    let mut measures = HashMap::new();
    if matches!(status, PovertyStatus::Monitored | PovertyStatus::Edge | PovertyStatus::RegisteredPoor) {
        let kinds = MeasureKind::ALL;
        measures.insert(
            new_id(),
            Measure {
                kind: kinds[rng.random_range(0..kinds.len())],
                start_date: format!("{}-03-01", today.year()),
                status: MeasureStatus::InProgress,
                note: String::new(),
            },
        );
    }
    let head = members[0].name.clone();
    // The alert level was set when the household came under monitoring (or its edge risk was found).
    let alert_history = match alert {
        Some(level) => vec![AlertChange {
            date: history.last().map(|t| t.date.clone()).unwrap_or_default(),
            level: Some(level),
            reason: "入户排查发现返贫致贫风险".into(),
        }],
        None => vec![],
    };
    Household {
        id: new_id(),
        number: format!("{}{:03}{:04}", v.region, v.index + 1, n + 1),
        township: v.township.clone(),
        village: v.name.clone(),
        hamlet: HAMLETS[rng.random_range(0..HAMLETS.len())].to_string(),
        address: format!("{}{}{}号", v.name, HAMLETS[n % HAMLETS.len()], n + 1),
        head_name: head,
        phone: format!("1{}{:08}", [38, 39, 58, 77, 86][rng.random_range(0..5)], rng.random_range(0..100_000_000u32)),
        gps: None,
        poverty_status: status,
        status_history: history,
        risk_causes,
        alert_level: alert,
        alert_history,
        relocation: None,
        income_per_person: Some(rng.random_range(4500..18000) as f64),
        income_year: Some(today.year() - 1),
        assurances: ok_assurances(),
        measures,
        helper_ids: vec![],
        senior_helper: String::new(),
        doctor_team: String::new(),
        members: members.into_iter().map(|m| (m.id.clone(), m)).collect(),
        deleted: false,
    }
}

fn transition(date: &str, event: TransitionEvent, to: PovertyStatus) -> StatusTransition {
    StatusTransition { date: date.into(), event, to_status: to, reason: String::new() }
}

fn ok_assurances() -> Assurances {
    let ok = AssuranceCheck { status: AssuranceStatus::Ok, note: String::new() };
    Assurances {
        food: ok.clone(),
        clothing: ok.clone(),
        education: ok.clone(),
        medical: ok.clone(),
        housing: ok.clone(),
        water: ok,
    }
}

/// The months of the past year and the one before it (so the year's first month has a previous month to be
/// overdue against), oldest first, with the last day a visit may fall on.
fn months(today: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut first = today.with_day(1).unwrap_or(today);
    for _ in 0..13 {
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        }
        .unwrap_or(first);
        let last = (next - Duration::days(1)).min(today);
        out.push((first, last));
        first = (first - Duration::days(1)).with_day(1).unwrap_or(first);
    }
    out.reverse();
    out
}

fn day_in(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + Duration::days(rng.random_range(0..=span))
}

fn open_store(dir: &Path, name: &str) -> Result<Mutex<Store>, DemoError> {
    let store = Store::open(&dir.join(format!("{name}.db")), &[7u8; 32], &format!("{name}-phone"))?;
    // A simulated phone has no power to lose: skip the fsync of each write (the server keeps its own settings).
    store.conn().pragma_update(None, "synchronous", "OFF").map_err(doorstep_core::Error::from)?;
    Ok(Mutex::new(store))
}

/// Signs a simulated phone in (once; the token is kept in its store).
async fn sign_in(store: &Mutex<Store>, url: &str, user: &str, password: &str) -> Result<(), DemoError> {
    if doorstep_core::sync::client::Session::load(&*lock(store)?).is_ok() {
        return Ok(());
    }
    let client = Client::new(SyncConfig::default())?;
    client.login(store, url, user, password).await?;
    Ok(())
}

async fn sign_in_and_sync(store: &Mutex<Store>, url: &str, user: &str, password: &str) -> Result<(), DemoError> {
    sign_in(store, url, user, password).await?;
    let client = Client::new(SyncConfig::default())?;
    let result = client.sync_once(store, &mut |_| {}).await?;
    if result.incomplete {
        return Err(DemoError::SyncIncomplete);
    }
    Ok(())
}

fn put<R: doorstep_core::model::Record>(store: &Mutex<Store>, r: &R, today: &str) -> Result<(), DemoError> {
    lock(store)?.put(r, today)?;
    Ok(())
}

/// What names the lock of the county's counts when it is poisoned.
const COUNTS: &str = "the demo's counts";

/// A simulated phone's store, locked; a poisoned lock is an error, never a panic.
fn lock(store: &Mutex<Store>) -> Result<std::sync::MutexGuard<'_, Store>, DemoError> {
    store.lock().map_err(|_| DemoError::Poisoned("a simulated phone's store"))
}

async fn helper_device(
    work: HelperWork,
    dir: &Path,
    url: &str,
    today: NaiveDate,
    bar: ProgressBar,
    counts: Arc<Mutex<(usize, usize, usize, usize)>>,
) -> Result<(), DemoError> {
    let store = Arc::new(open_store(dir, &work.user)?);
    // Signed in first, as a phone is: every change it records then names its user.
    sign_in(&store, url, &work.user, "helper-2026").await?;
    let seed = work.user.bytes().fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    let (s, user) = (store.clone(), work.user.clone());
    let recorded = tokio::task::spawn_blocking(move || -> Result<(usize, usize, usize), DemoError> {
        let mut rng = StdRng::seed_from_u64(seed);
        // Attachments draw from their own generator, so the county's records stay the same with or without them.
        let mut media_rng = StdRng::seed_from_u64(seed ^ 0x5a17_a77a);
        let day = today.format("%Y-%m-%d").to_string();
        let months = months(today);
        let (mut members, mut visits) = (0, 0);
        for h in &work.households {
            put(&s, h, &day)?;
            members += h.members.len();
            // A household the helper neglects lately: no visits in the last two months (overdue).
            let neglected = rng.random_bool(0.04);
            for (i, (from, to)) in months.iter().enumerate() {
                let current = i == months.len() - 1;
                let recent = i + 2 >= months.len();
                if neglected && recent {
                    continue;
                }
                let miss = if current { 1.0 - f64::from(to.day()) / 31.0 * 0.95 } else { 0.06 };
                let required = doorstep_core::schedule::monthly_required(&Default::default(), h.poverty_status);
                for k in 0..required {
                    if rng.random_bool(miss.clamp(0.0, 1.0)) || (k > 0 && rng.random_bool(0.15)) {
                        continue;
                    }
                    let kind = if (from.month() == 4 || from.month() == 10) && k == 0 && rng.random_bool(0.88) {
                        VisitKind::Verification
                    } else {
                        VisitKind::Monthly
                    };
                    let date = day_in(&mut rng, *from, *to);
                    let v = helper_visit(&mut rng, h, &user, kind, date, today);
                    put(&s, &v, &day)?;
                    visits += 1;
                    if recent && media_rng.random_bool(media::SHARE) {
                        let m = media::pick(&mut media_rng, v.signed_by_household);
                        lock(&s)?.attach(&v.id, &m.bytes, m.media_type, m.kind, m.caption)?;
                    }
                }
            }
            bar.inc(15);
        }
        Ok((work.households.len(), members, visits))
    })
    .await??;
    sign_in_and_sync(&store, url, &work.user, "helper-2026").await?;
    // Then the photos and signatures, by the device's own blob phase (on Wi-Fi: everything goes).
    let client = Client::new(SyncConfig::default())?;
    let wifi = NetworkPolicy { kind: NetworkKind::Unmetered, allow_metered: false };
    let blobs = doorstep_core::sync::blobs::upload_blobs(&client, &store, wifi, &|_| {}).await?;
    if blobs.broken + blobs.refused > 0 || blobs.incomplete {
        return Err(DemoError::BlobsLeft {
            broken: blobs.broken,
            refused: blobs.refused,
            incomplete: blobs.incomplete,
        });
    }
    let mut c = counts.lock().map_err(|_| DemoError::Poisoned(COUNTS))?;
    c.0 += recorded.0;
    c.1 += recorded.1;
    c.2 += recorded.2;
    Ok(())
}

fn helper_visit(
    rng: &mut StdRng,
    h: &Household,
    user: &str,
    kind: VisitKind,
    date: NaiveDate,
    today: NaiveDate,
) -> Visit {
    let mut problems = HashMap::new();
    let mut findings = ok_assurances();
    if rng.random_bool(0.05) {
        let (desc, assurance) = PROBLEMS[rng.random_range(0..PROBLEMS.len())];
        let age = (today - date).num_days();
        // Older problems are mostly resolved; recent ones are often still open.
        let status = if (age > 120 && rng.random_bool(0.92)) || (age > 30 && rng.random_bool(0.6)) {
            ProblemStatus::Resolved
        } else if rng.random_bool(0.4) {
            ProblemStatus::InProgress
        } else {
            ProblemStatus::Open
        };
        let check = AssuranceCheck { status: AssuranceStatus::Problem, note: desc.into() };
        match assurance {
            AssuranceKind::Housing => findings.housing = check,
            AssuranceKind::Water => findings.water = check,
            AssuranceKind::Medical => findings.medical = check,
            AssuranceKind::Education => findings.education = check,
            AssuranceKind::Clothing => findings.clothing = check,
            AssuranceKind::Food => findings.food = check,
        }
        problems.insert(
            new_id(),
            Problem {
                description: desc.into(),
                assurance: Some(assurance),
                status,
                resolved_date: (status == ProblemStatus::Resolved)
                    .then(|| (date + Duration::days(30)).min(today).format("%Y-%m-%d").to_string()),
                action: String::new(),
            },
        );
    }
    let satisfaction =
        [Satisfaction::VerySatisfied, Satisfaction::Satisfied, Satisfaction::Satisfied, Satisfaction::Neutral];
    Visit {
        id: new_id(),
        household_id: h.id.clone(),
        member_id: None,
        visitor: user.into(),
        visitor_role: Role::Helper,
        date: date.format("%Y-%m-%d").to_string(),
        time: format!("{:02}:{:02}", rng.random_range(8..18), rng.random_range(0..60)),
        kind,
        findings,
        income_note: String::new(),
        risk_note: String::new(),
        problems,
        measures_delivered: vec![],
        policy_explained: true,
        satisfaction: Some(satisfaction[rng.random_range(0..satisfaction.len())]),
        note: if kind == VisitKind::Verification {
            "动态调整核查".into()
        } else {
            "入户走访，了解生产生活情况".into()
        },
        gps: None,
        signed_by_household: rng.random_bool(0.9),
        attachments: Default::default(),
        deleted: false,
    }
}

async fn doctor_device(
    work: TeamWork,
    seed: u64,
    dir: &Path,
    url: &str,
    today: NaiveDate,
    bar: ProgressBar,
    counts: Arc<Mutex<(usize, usize, usize, usize)>>,
) -> Result<(), DemoError> {
    let store = Arc::new(open_store(dir, &work.user)?);
    // First sync: the team's villages arrive as snapshots.
    sign_in_and_sync(&store, url, &work.user, "doctor-2026").await?;
    let (s, user, bar) = (store.clone(), work.user.clone(), bar.clone());
    let villages = work.villages.clone();
    let recorded = tokio::task::spawn_blocking(move || -> Result<(usize, usize), DemoError> {
        let mut rng = StdRng::seed_from_u64(1000 + seed);
        let day = today.format("%Y-%m-%d").to_string();
        let households: Vec<Household> = {
            let st = lock(&s)?;
            let ids = || -> Result<Vec<String>, rusqlite::Error> {
                st.conn()
                    .prepare("SELECT doc_id FROM ix_households WHERE deleted = 0 ORDER BY number")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            };
            let ids = ids().map_err(doorstep_core::Error::from)?;
            ids.iter().filter_map(|id| st.get::<Household>(id).ok()).filter(|h| villages.contains(&h.village)).collect()
        };
        let campaigns = [
            (format!("{}年春季健康体检", today.year()), NaiveDate::from_ymd_opt(today.year(), 4, 8).unwrap_or(today)),
            (format!("{}年秋季集中筛查", today.year()), NaiveDate::from_ymd_opt(today.year(), 9, 16).unwrap_or(today)),
        ];
        let t = Thresholds::default();
        let (mut visits, mut screenings) = (0, 0);
        for h in &households {
            bar.inc(5);
            for m in h.members.values() {
                let age = samples_age(&m.birth_date, today);
                let hyp = m.conditions.contains(&Condition::Hypertension);
                let dia = m.conditions.contains(&Condition::Diabetes);
                let mut urgent_on: Option<NaiveDate> = None;
                for (campaign, start) in &campaigns {
                    if age < 18 || *start > today || !rng.random_bool(if age >= 35 { 0.8 } else { 0.35 }) {
                        continue;
                    }
                    let date = *start + Duration::days(rng.random_range(0..20));
                    if date > today {
                        continue;
                    }
                    let sys = if hyp { normal(&mut rng, 148.0, 18.0) } else { normal(&mut rng, 121.0, 13.0) }
                        .clamp(85.0, 215.0);
                    let dia_bp = (sys * 0.62 + normal(&mut rng, 0.0, 6.0)).clamp(50.0, sys - 20.0);
                    let glucose =
                        if dia { normal(&mut rng, 8.6, 2.8) } else { normal(&mut rng, 5.3, 0.6) }.clamp(3.0, 25.0);
                    let mut sc = Screening {
                        id: new_id(),
                        household_id: h.id.clone(),
                        member_id: m.id.clone(),
                        date: date.format("%Y-%m-%d").to_string(),
                        screener: user.clone(),
                        visit_id: None,
                        campaign: Some(campaign.clone()),
                        systolic: Some(sys.round()),
                        diastolic: Some(dia_bp.round()),
                        heart_rate: Some(normal(&mut rng, 76.0, 8.0).round()),
                        glucose: Some((glucose * 10.0).round() / 10.0),
                        glucose_kind: doorstep_core::model::GlucoseKind::Fasting,
                        height_cm: Some(
                            if m.sex == Sex::Male {
                                normal(&mut rng, 167.0, 6.0)
                            } else {
                                normal(&mut rng, 156.0, 5.0)
                            }
                            .round(),
                        ),
                        weight_kg: Some(normal(&mut rng, 60.0, 9.0).clamp(38.0, 110.0).round()),
                        waist_cm: None,
                        findings: String::new(),
                        referral: Referral::default(),
                        attachments: Default::default(),
                        deleted: false,
                    };
                    let c = classify(&sc, &t);
                    if c.suggested_referral != ReferralLevel::None {
                        sc.referral = Referral { level: c.suggested_referral, destination: "县人民医院".into() };
                        sc.findings = "重症阳性体征".into();
                    }
                    if c.suggested_referral == ReferralLevel::Urgent {
                        urgent_on = Some(date);
                    }
                    put(&s, &sc, &day)?;
                    screenings += 1;
                }
                // Follow-ups of contracted chronic patients every ~90 days, some late or missed.
                let chronic = m
                    .conditions
                    .iter()
                    .any(|c| matches!(c, Condition::Hypertension | Condition::Diabetes | Condition::SevereMental));
                let mut dates = Vec::new();
                if chronic && m.contract.is_some() {
                    let mut d = today - Duration::days(365) + Duration::days(rng.random_range(0..60));
                    while d <= today {
                        if !rng.random_bool(0.08) {
                            dates.push(d);
                        }
                        d += Duration::days(rng.random_range(80..115));
                    }
                }
                // Most urgent referrals get a follow-up within two weeks; some do not (the gap supervisors chase).
                if let Some(u) = urgent_on {
                    if rng.random_bool(0.7) {
                        dates.push((u + Duration::days(rng.random_range(3..14))).min(today));
                    }
                }
                for d in dates {
                    let mut v = helper_visit(&mut rng, h, &user, VisitKind::DoctorFollowUp, d, today);
                    v.visitor_role = Role::Doctor;
                    v.member_id = Some(m.id.clone());
                    v.problems.clear();
                    v.findings = Assurances::default();
                    v.note = "慢病随访，测量血压血糖，指导用药".into();
                    put(&s, &v, &day)?;
                    visits += 1;
                }
            }
        }
        Ok((visits, screenings))
    })
    .await??;
    sign_in_and_sync(&store, url, &work.user, "doctor-2026").await?;
    let mut c = counts.lock().map_err(|_| DemoError::Poisoned(COUNTS))?;
    c.2 += recorded.0;
    c.3 += recorded.1;
    Ok(())
}

fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    // Box–Muller: enough for plausible readings.
    let u1: f64 = rng.random_range(1e-9..1.0);
    let u2: f64 = rng.random();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The household's phone number edited on the helper's phone and on a second device of the same helper (a
/// borrowed phone) before either synced: the same field written twice concurrently stays a conflict.
async fn concurrent_edit(dir: &Path, url: &str, helper: &str, household: &str) -> Result<(), DemoError> {
    let own = open_store(dir, helper)?;
    let other = open_store(dir, &format!("{helper}-second"))?;
    sign_in_and_sync(&other, url, helper, "helper-2026").await?;
    let day = chrono::Local::now().date_naive().format("%Y-%m-%d").to_string();
    for (store, phone) in [(&own, "13900000001"), (&other, "13900000002")] {
        let mut h: Household = lock(store)?.get(household)?;
        h.phone = phone.into();
        put(store, &h, &day)?;
    }
    sign_in_and_sync(&own, url, helper, "helper-2026").await?;
    sign_in_and_sync(&other, url, helper, "helper-2026").await?;
    sign_in_and_sync(&own, url, helper, "helper-2026").await?;
    Ok(())
}

/// The demo county's record generators, for the benchmark program (`bench/`): its figures are measured on the same
/// households and visits the demo shows, not on records written a second time.
pub mod generate {
    use super::*;

    /// Household `n` of the `village`-th village of a county or province (ten villages a township, the demo's
    /// names and ID regions). Past the demo's thirty villages and three townships the names are numbered (石门2村,
    /// 石门2镇), so a province has as many distinct villages and townships as a real one.
    pub fn household(rng: &mut StdRng, village: usize, n: usize, today: NaiveDate) -> Household {
        let t = village / 10;
        let (township, region) = TOWNSHIPS[t % TOWNSHIPS.len()];
        let v = Village {
            name: numbered(VILLAGES[village % VILLAGES.len()], village / VILLAGES.len()),
            township: numbered(township, t / TOWNSHIPS.len()),
            region: region.to_string(),
            index: village,
        };
        make_household(rng, &v, n, today)
    }

    /// `name` itself in round 0, else with the round's number before its last character (村, 镇, 乡).
    fn numbered(name: &str, round: usize) -> String {
        if round == 0 {
            return name.to_string();
        }
        let cut = name.char_indices().last().map(|(i, _)| i).unwrap_or(0);
        format!("{}{}{}", &name[..cut], round + 1, &name[cut..])
    }

    /// A helper's monthly visit of `h` on `date`, as the demo's helpers record them.
    pub fn visit(rng: &mut StdRng, h: &Household, user: &str, date: NaiveDate, today: NaiveDate) -> Visit {
        helper_visit(rng, h, user, VisitKind::Monthly, date, today)
    }
}
