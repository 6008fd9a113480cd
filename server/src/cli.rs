//! The `pathfinder-admin` command line. Every option has a `PF_*` environment
//! variable; secrets may also come from `PF_*_FILE`.
//!
//! Exit codes: 0 done; 1 failed; 2 bad usage or input (nothing changed);
//! 3 `schema-check` found drift; 4 the database is unreachable or busy.

use crate::config::{secret_from_env, DatabaseUrl, DEFAULT_DATABASE_URL};
use crate::router::{router, AppState};
use crate::{auth, generate, storage};
use clap::{Parser, Subcommand, ValueEnum};
use pathfinder::db::Db;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{AuditEntry, NewUser, RefreshWhen, Storage};
use pathfinder::{AppError, AppResult, Role, UserId, Username};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "pathfinder-admin",
    version,
    about = "Pathfinder Admin: the admin and operations console of Pathfinder"
)]
pub struct Cli {
    /// Database: sqlite:<path> (embedded, the default) or oracle://user:password@host:port/service.
    #[arg(long, env = "PF_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,
    /// Log format.
    #[arg(long, env = "PF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PF_LISTEN", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Folder with the built site (pkg/ with the wasm, js and css).
        #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
        site_root: String,
        /// Apply pending migrations before serving.
        #[arg(long)]
        migrate: bool,
        /// Mark the session cookie Secure (when served over HTTPS).
        #[arg(long, env = "PF_SECURE_COOKIE")]
        secure_cookie: bool,
        /// Refresh the user statistics this often (minutes). Every instance runs the
        /// job; one of them refreshes each round.
        #[arg(long, env = "PF_STATS_REFRESH_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        stats_refresh_minutes: u64,
    },
    /// Apply pending migrations (idempotent; refuses to downgrade).
    Migrate,
    /// Create a console administrator. The password comes from a prompt, from the
    /// file named by --password-file, or from the environment variable PF_ADMIN_PASSWORD.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Read the password from this file (first line).
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
        /// Do nothing (and succeed) when an administrator already exists.
        #[arg(long)]
        if_no_admin: bool,
    },
    /// Create the per-user table set of <USERNAME> (idempotent; repairs a half-made set).
    ProvisionUser { username: String },
    /// Drop the per-user table set of <USERNAME>; only a set in the registry.
    DropUserTables {
        username: String,
        /// Confirm: the tables and their rows are deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Compare the live database with what the migrations define; exit 3 on drift.
    SchemaCheck,
    /// Rebuild the user statistics (pf_mv_user_stats) now; audited.
    RefreshStats,
    /// Fill the database with deterministic synthetic data: users (who cannot sign in)
    /// with everything around them, audit events, provisioned table sets. Interrupt
    /// it at will: run the same command again to finish.
    Generate {
        #[arg(long, default_value_t = 1_000)]
        users: u64,
        #[arg(long, default_value_t = 10_000)]
        audit_events: u64,
        /// How many of the users get their per-user table set, filled.
        #[arg(long, default_value_t = 0)]
        provisioned: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The day the data ends on (YYYY-MM-DD, UTC); today if not given.
        #[arg(long)]
        end_date: Option<chrono::NaiveDate>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                AppError::Invalid(_) | AppError::NotFound(_) | AppError::Conflict(_) => 2,
                AppError::Unavailable(_) => 4,
                _ => 1,
            })
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,leptos=warn,tower=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(cli: Cli) -> AppResult<ExitCode> {
    let url = DatabaseUrl::parse(&cli.database_url)?;
    tracing::debug!(database = %url, "opening database");
    let db = Db::new(storage::open(&url)?);
    let s = db.storage();
    match cli.command {
        Command::Serve { listen, site_root, migrate, secure_cookie, stats_refresh_minutes } => {
            if migrate {
                report_migration(s.migrate(&cli_audit("migrate"))?);
            }
            let stats_every = std::time::Duration::from_secs(stats_refresh_minutes * 60);
            serve(db, &url, listen, site_root, secure_cookie, stats_every)?;
        }
        Command::Migrate => report_migration(s.migrate(&cli_audit("migrate"))?),
        Command::CreateAdmin { username, email, password_file, if_no_admin } => {
            let username = Username::parse(&username)?;
            if if_no_admin && s.count_admins()? > 0 {
                println!("An administrator exists already: nothing to do.");
                return Ok(ExitCode::SUCCESS);
            }
            let email = pathfinder::validation::email(&email)?;
            let password = read_password(password_file.as_deref())?;
            auth::password::validate(&password)?;
            let user = NewUser {
                user_id: UserId::new(),
                username: username.clone(),
                email,
                password_hash: auth::password::hash(&password)?,
                first_name: None,
                last_name: None,
                account_status: "active".into(),
                roles: vec![Role::Admin],
            };
            let meta = RequestMeta::cli("create-admin");
            s.create_user(&user, &meta.audit(None, "user.create", ("user", Some(user.user_id.as_str())), 201))?;
            println!("Created administrator '{username}'. Sign in at http://127.0.0.1:3000/login");
        }
        Command::ProvisionUser { username } => {
            let username = Username::parse(&username)?;
            let audit = table_set_audit(s, "provision-user", "user_tables.provision", &username)?;
            let set = s.provision_user_tables(&username, &audit)?;
            println!("Table set of '{}' is {} ({} objects).", set.username, set.status, set.tables.len());
        }
        Command::DropUserTables { username, yes } => {
            let username = Username::parse(&username)?;
            if !yes {
                return Err(AppError::invalid(format!(
                    "Dropping deletes every table of '{username}' and its rows: run again with --yes to confirm."
                )));
            }
            let audit = table_set_audit(s, "drop-user-tables", "user_tables.drop", &username)?;
            s.drop_user_tables(&username, &audit)?;
            println!("Dropped the table set of '{username}'.");
        }
        Command::SchemaCheck => {
            let drift = s.schema_check()?;
            if drift.is_empty() {
                println!("The schema matches the migrations (version {}).", s.schema_version()?);
            } else {
                for d in &drift {
                    println!("drift: {}", d.0);
                }
                println!("{} difference(s) found.", drift.len());
                return Ok(ExitCode::from(3));
            }
        }
        Command::RefreshStats => {
            let audit =
                RequestMeta::cli("refresh-stats").audit(None, crate::jobs::stats::ACTION, ("statistics", None), 200);
            let run = s.refresh_user_stats(RefreshWhen::Now, &audit)?;
            let took = run.and_then(|r| r.duration_ms).unwrap_or_default();
            println!("Refreshed the user statistics in {took} ms.");
        }
        Command::Generate { users, audit_events, provisioned, seed, end_date } => {
            let end = end_date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let plan = generate::Plan { seed, users, audit_events, provisioned, end }.checked()?;
            return generate_data(s, &plan);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `generate` with a progress bar (on a terminal) or a line per tenth (in logs);
/// Ctrl-C or SIGTERM stop it between batches (exit 130).
fn generate_data(s: &dyn Storage, plan: &generate::Plan) -> AppResult<ExitCode> {
    use std::io::IsTerminal;
    use std::sync::atomic::AtomicBool;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(AppError::internal)?;
    }
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(0);
    let terminal = std::io::stderr().is_terminal();
    if terminal {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {percent:>3}% {human_pos}/{human_len} rows·sets  eta {eta}  {msg}",
            )
            .map_err(AppError::internal)?,
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut tenth = 0;
    let outcome = generate::run(s, plan, &stop, &mut |done, total, batch| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(batch.to_string());
        if !terminal && total > 0 && done * 10 / total > tenth {
            tenth = done * 10 / total;
            eprintln!("generate: {}% ({done}/{total}) after {:.1} s", tenth * 10, started.elapsed().as_secs_f64());
        }
    });
    bar.finish_and_clear();
    let outcome = outcome?;
    let took = started.elapsed().as_secs_f64();
    if outcome.interrupted {
        println!(
            "Interrupted after {} of {} batches ({took:.1} s); the database holds whole batches only. \
             Run the same command again to finish.",
            outcome.done_before + outcome.written,
            outcome.batches
        );
        return Ok(ExitCode::from(130));
    }
    println!(
        "Generated {} ({} batches written, {} already there) in {took:.1} s.",
        plan.run_name().trim_start_matches("generate "),
        outcome.written,
        outcome.done_before
    );
    Ok(ExitCode::SUCCESS)
}

/// The audit entry of a table-set command: the entity is the owner's user id (when
/// the name belongs to a user) and the path names the set, so no long name is cut.
fn table_set_audit(s: &dyn Storage, command: &str, action: &str, username: &Username) -> AppResult<AuditEntry> {
    let owner = s.user_id_by_username(username)?;
    let meta = RequestMeta::cli(&format!("{command} {username}"));
    Ok(meta.audit(None, action, ("user_tables", owner.as_ref().map(|u| u.as_str())), 200))
}

fn cli_audit(command: &str) -> AuditEntry {
    RequestMeta::cli(command).audit(None, "schema.migrate", ("schema", None), 200)
}

fn report_migration(r: pathfinder::storage::MigrationReport) {
    if r.applied.is_empty() {
        println!("The schema is up to date (version {}).", r.to_version);
    } else {
        println!("Migrated from version {} to {}: {}.", r.from_version, r.to_version, r.applied.join(", "));
    }
}

/// The password from a file, from PF_ADMIN_PASSWORD(_FILE), or from a prompt; never from an argument.
fn read_password(file: Option<&std::path::Path>) -> AppResult<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::invalid(format!("Cannot read the password file {}: {e}.", path.display())))?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    if let Some(p) = secret_from_env("PF_ADMIN_PASSWORD")? {
        return Ok(p);
    }
    let first = rpassword::prompt_password("Password: ").map_err(|_| {
        AppError::invalid("No password given: use --password-file, PF_ADMIN_PASSWORD or a terminal prompt.")
    })?;
    let again = rpassword::prompt_password("Password again: ").map_err(|e| AppError::invalid(e.to_string()))?;
    if first != again {
        return Err(AppError::invalid("The two passwords differ."));
    }
    Ok(first)
}

/// The JWT secret: PF_JWT_SECRET(_FILE), or for SQLite a random one kept beside the database.
fn jwt_secret(url: &DatabaseUrl) -> AppResult<Vec<u8>> {
    if let Some(s) = secret_from_env("PF_JWT_SECRET")? {
        return Ok(s.into_bytes());
    }
    let DatabaseUrl::Sqlite(path) = url else {
        return Err(AppError::invalid("Set PF_JWT_SECRET (or PF_JWT_SECRET_FILE) to at least 32 random bytes."));
    };
    let file = path.with_file_name(".jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    write_private(&file, &secret)
        .map_err(|e| AppError::invalid(format!("Cannot write the JWT secret to {}: {e}.", file.display())))?;
    Ok(secret.into_bytes())
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

/// Ctrl-C, or SIGTERM (what service managers and containers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}

fn serve(
    db: Db,
    url: &DatabaseUrl,
    listen: SocketAddr,
    site_root: String,
    secure_cookie: bool,
    stats_every: std::time::Duration,
) -> AppResult<()> {
    let keys = Arc::new(auth::TokenKeys::new(&jwt_secret(url)?)?);
    let metrics_token = secret_from_env("PF_METRICS_TOKEN")?.map(Arc::from);
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("pathfinder")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .build();
    let overview = Arc::new(pathfinder::stats::OverviewCache::default());
    let state =
        AppState { leptos_options, db: db.clone(), keys, metrics_token, secure_cookie, overview: overview.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(AppError::internal)?;
    runtime.block_on(async move {
        // Counts first, so no request ever waits for them.
        crate::jobs::overview::refresh(&db, &overview).await?;
        crate::jobs::overview::spawn(db.clone(), overview.clone());
        crate::jobs::stats::spawn(db, overview, stats_every);
        use axum::serve::ListenerExt;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| AppError::invalid(format!("Cannot listen on {listen}: {e}.")))?
            // Streamed pages go out in several writes: without TCP_NODELAY the second
            // waits for the client's delayed ACK (40 ms on Linux).
            .tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY not set");
                }
            });
        println!("Pathfinder Admin is serving at http://{listen}");
        axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(AppError::internal)
    })
}
