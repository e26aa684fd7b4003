//! `doorstep`: a field device in a terminal, on the same core as the phone apps.
//!
//! - `home`: the device home (store, key file, device name);
//! - `records`: households, members, visits, screenings, due list, conflicts;
//! - `sync_cmds`: login, sync, status;
//! - `attachments`: attach, list and open photos, signatures and scanned forms;
//! - `input` / `output`: JSON in (`--json FILE|-`), tables or JSON out, quiet on a closed pipe;
//! - `lang`: Chinese or English labels, from `--lang` or the locale;
//! - `fail`: errors and exit codes.

mod attachments;
mod fail;
mod home;
mod input;
mod lang;
mod output;
mod records;
mod sync_cmds;

use clap::{Parser, Subcommand};
use fail::CliError;
use std::path::PathBuf;

/// Doorstep field device: record households, visits and screenings offline, sync when there is a network.
#[derive(Parser, Debug)]
#[command(name = "doorstep", version, about)]
struct Cli {
    /// The device home directory (store, key, device name).
    #[arg(long, env = "DOORSTEP_HOME", global = true)]
    home: Option<PathBuf>,
    /// Language of labels and headings: zh or en (default: from LC_ALL / LC_MESSAGES / LANG, else zh).
    /// `--json` output always keeps the codes.
    #[arg(long, global = true, value_parser = ["zh", "en"])]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the home: a random store key (file `key`, mode 0600) and an empty encrypted store.
    Init {
        /// Device name written into every change (default: cli-<random>).
        #[arg(long)]
        device: Option<String>,
    },
    /// Sign in to a server; the password is read from stdin when it is not a terminal.
    Login {
        #[command(flatten)]
        trust: sync_cmds::TrustArgs,
        #[arg(long)]
        server: String,
        #[arg(long)]
        user: String,
        /// Signing in as another account while this device holds the previous account's unsynced work: set that
        /// work aside first (kept encrypted, listed and exported by `doorstep set-aside`) instead of refusing.
        #[arg(long)]
        hand_over: bool,
    },
    /// Households (户).
    #[command(subcommand)]
    Household(records::HouseholdCmd),
    /// Members (人口) of a household.
    #[command(subcommand)]
    Member(records::MemberCmd),
    /// Visits (走访 / 随访).
    #[command(subcommand)]
    Visit(records::VisitCmd),
    /// Screening results (体检 / 筛查), shown with their classification.
    #[command(subcommand)]
    Screening(records::ScreeningCmd),
    /// Due and overdue visits and follow-ups.
    Due {
        /// The day to compute for (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Fields with concurrent values from different devices.
    Conflicts {
        #[arg(long)]
        json: bool,
    },
    /// Settle a conflicted field: DOC id, FIELD path (as `conflicts` lists it), VALUE: plain text (13800000000,
    /// 下屯), or JSON where the field's type is a number, a boolean, null or a record (2, true, null, '{...}').
    Resolve { doc: String, field: String, value: String },
    /// Attach a photo, signature or scanned form to a visit or screening; prints the attachment's hash.
    Attach(attachments::AttachArgs),
    /// The attachments of a visit or screening.
    Attachments {
        /// The visit or screening id.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write an attachment's bytes to a file, downloading them when they are not on this device.
    OpenAttachment {
        hash: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Remove an attachment from a visit or screening (its bytes go once no record on this device refers to them).
    Detach { id: String, hash: String },
    /// Push unsent changes and pull what is new, then upload attachments the network allows.
    Sync(sync_cmds::SyncArgs),
    /// Pending changes, last sync, server and user.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Documents set aside for hand-over: refused by the server as out of scope, or out of this account's scope
    /// with changes not yet synced. `--export FILE` writes them as JSON (mode 0600: it holds personal data).
    SetAside {
        #[arg(long)]
        export: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    lang::set(lang::Lang::detect(cli.lang.as_deref(), |name| std::env::var(name).ok()));
    if let Err(e) = run(cli) {
        errln!("error[{}]: {}", e.kind, e.message);
        std::process::exit(e.code);
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let dir = cli.home.ok_or_else(|| {
        CliError::usage("no home directory: pass --home DIR or set DOORSTEP_HOME / 请指定 --home 或 DOORSTEP_HOME")
    })?;
    let home = home::Home::new(dir);
    if let Command::Init { device } = &cli.command {
        let device = home.init(device.as_deref())?;
        match lang::current() {
            lang::Lang::Zh => outln!("已初始化 {}，设备 {device}", home.dir.display()),
            lang::Lang::En => outln!("initialised {} for device {device}", home.dir.display()),
        }
        return Ok(());
    }
    let app = home.open()?;
    match cli.command {
        Command::Init { .. } => Ok(()),
        Command::Login { server, user, hand_over, trust } => sync_cmds::login(&app, &server, &user, hand_over, &trust),
        Command::Household(cmd) => records::household(&app, cmd),
        Command::Member(cmd) => records::member(&app, cmd),
        Command::Visit(cmd) => records::visit(&app, cmd),
        Command::Screening(cmd) => records::screening(&app, cmd),
        Command::Due { date, json } => records::due(&app, date, json),
        Command::Conflicts { json } => records::conflicts(&app, json),
        Command::Resolve { doc, field, value } => records::resolve(&app, doc, field, &value),
        Command::Attach(args) => attachments::attach(&app, args),
        Command::Attachments { id, json } => attachments::list(&app, id, json),
        Command::OpenAttachment { hash, out } => attachments::open(&app, hash, out),
        Command::Detach { id, hash } => {
            app.detach(id, hash)?;
            outln!("{}", lang::t("已移除", "detached"));
            Ok(())
        }
        Command::Sync(args) => sync_cmds::sync(&app, args),
        Command::Status { json } => sync_cmds::status(&app, json),
        Command::SetAside { export, json } => sync_cmds::set_aside(&app, export, json),
    }
}
