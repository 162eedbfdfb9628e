//! `tonearm accounts|projects|keys|tokens …`: the management API from the shell. Tables for
//! people by default; `--json` prints the API's JSON for scripts.

use std::future::Future;
use std::process::ExitCode;

use http::Method;
use serde_json::{Value, json};

use super::client::{ApiClient, ClientArgs, Error};

#[derive(Debug, clap::Args)]
pub struct AccountsArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: AccountsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AccountsCommand {
    /// Create an account (and its `default` project).
    Create {
        /// Display name, 1 to 200 characters.
        #[arg(long)]
        name: String,
        /// Plan: the name of one of the server's [plans.*] tables (built in: default).
        #[arg(long)]
        plan: Option<String>,
    },
    /// List accounts.
    List,
    /// Show one account.
    Get {
        /// Account id (acct_…).
        account_id: String,
    },
    /// Change an account's name, plan or disabled flag.
    Update {
        /// Account id (acct_…).
        account_id: String,
        /// New display name, 1 to 200 characters.
        #[arg(long)]
        name: Option<String>,
        /// New plan: the name of one of the server's [plans.*] tables (built in: default).
        #[arg(long)]
        plan: Option<String>,
        /// true refuses the account's keys until it is enabled again.
        #[arg(long)]
        disabled: Option<bool>,
        /// Comma-separated addresses and CIDR ranges allowed to call the API ("" = any).
        #[arg(long)]
        allowed_ips: Option<String>,
    },
    /// Grant credits to an account.
    Grant {
        /// Account id (acct_…).
        account_id: String,
        /// Credits to add, 1 to 1000000000.
        #[arg(long)]
        credits: i64,
        /// Ledger entry type.
        #[arg(long = "type", default_value = "grant", value_parser = ["grant", "bonus"])]
        kind: String,
        /// Note kept in the ledger (its first 500 characters).
        #[arg(long)]
        note: Option<String>,
    },
    /// Show an account's credit movements, newest first.
    Ledger {
        /// Account id (acct_…).
        account_id: String,
    },
    /// Delete an account with its projects and keys.
    Delete {
        /// Account id (acct_…).
        account_id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ProjectsArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: ProjectsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ProjectsCommand {
    /// Create a project in an account.
    Create {
        /// Account id (acct_…).
        #[arg(long)]
        account: String,
        /// Project name, 1 to 200 characters, unique in the account.
        #[arg(long)]
        name: String,
    },
    /// List an account's projects.
    List {
        /// Account id (acct_…).
        #[arg(long)]
        account: String,
    },
    /// Delete a project and its keys.
    Delete {
        /// Project id (proj_…).
        project_id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Find tonearm secrets (keys, tokens, webhook secrets) in files by format and checksum;
    /// exit 1 when any is found, for pre-commit hooks and CI. Works offline.
    Scan(super::scan::ScanArgs),
    /// Create an API key; its value is printed once.
    Create {
        /// Account id (acct_…).
        #[arg(long)]
        account: String,
        /// Label, 1 to 200 characters.
        #[arg(long)]
        label: String,
        /// Project id or name (default: the account's default project).
        #[arg(long)]
        project: Option<String>,
        /// Comma-separated scopes (default: all of them).
        #[arg(long, value_delimiter = ',', value_parser = [
            "analyze", "jobs:read", "jobs:delete", "library:read", "library:write",
            "library:download", "webhooks:manage", "account:read",
        ])]
        scopes: Option<Vec<String>>,
        /// Lifetime: a whole number of s, m, h, d or w, such as 30d or 12h (default: no expiry).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List keys, of one account or all.
    List {
        /// Only this account's keys (acct_…).
        #[arg(long)]
        account: Option<String>,
    },
    /// Show one key's metadata.
    Get {
        /// Key id (key_…).
        key_id: String,
    },
    /// Revoke a key; it stops working on the next request.
    Revoke {
        /// Key id (key_…).
        key_id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct TokensArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokensCommand {
    /// Create a management token; its value is printed once.
    Create {
        /// Label, 1 to 200 characters.
        #[arg(long)]
        label: String,
    },
    /// List management tokens.
    List,
    /// Revoke a management token.
    Revoke {
        /// Token id (mt_…).
        token_id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct WebhookSecretsArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: WebhookSecretsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum WebhookSecretsCommand {
    /// Create a signing secret for a project; its value is printed once.
    Create {
        /// Project id (proj_…).
        #[arg(long)]
        project: String,
        /// Label, 1 to 200 characters.
        #[arg(long)]
        label: String,
    },
    /// List a project's signing secrets (never their values).
    List {
        /// Project id (proj_…).
        #[arg(long)]
        project: String,
    },
    /// Revoke a signing secret; deliveries stop carrying its signature.
    Revoke {
        /// Project id (proj_…).
        #[arg(long)]
        project: String,
        /// Secret id (whk_…).
        secret_id: String,
    },
}

const WEBHOOK_SECRET_COLUMNS: &[&str] = &["id", "label", "status", "created_at", "revoked_at"];

const ACCOUNT_COLUMNS: &[&str] = &[
    "id",
    "name",
    "plan",
    "disabled",
    "allowed_ips",
    "created_at",
];
const GRANT_COLUMNS: &[&str] = &["account_id", "amount", "credits_remaining"];
const LEDGER_COLUMNS: &[&str] = &[
    "created_at",
    "type",
    "amount",
    "balance_after",
    "job_id",
    "note",
];
const PROJECT_COLUMNS: &[&str] = &["id", "name", "account_id", "created_at"];
const KEY_COLUMNS: &[&str] = &[
    "id",
    "label",
    "prefix",
    "last4",
    "project_id",
    "scopes",
    "status",
    "created_at",
    "last_used_at",
    "expires_at",
];
const TOKEN_COLUMNS: &[&str] = &[
    "id",
    "label",
    "prefix",
    "last4",
    "status",
    "created_at",
    "last_used_at",
];

pub fn accounts(args: AccountsArgs) -> ExitCode {
    let json_out = args.client.json;
    execute(
        &args.client,
        |c| async move {
            let out = match args.command {
                AccountsCommand::Create { name, plan } => {
                    let mut body = json!({ "name": name });
                    if let Some(p) = plan {
                        body["plan"] = p.into();
                    }
                    Output::One(
                        c.call(Method::POST, "/admin/v1/accounts", Some(body))
                            .await?,
                        ACCOUNT_COLUMNS,
                    )
                }
                AccountsCommand::List => {
                    Output::Many(c.list_all("/admin/v1/accounts").await?, ACCOUNT_COLUMNS)
                }
                AccountsCommand::Get { account_id } => Output::One(
                    c.call(
                        Method::GET,
                        &format!("/admin/v1/accounts/{account_id}"),
                        None,
                    )
                    .await?,
                    ACCOUNT_COLUMNS,
                ),
                AccountsCommand::Update {
                    account_id,
                    name,
                    plan,
                    disabled,
                    allowed_ips,
                } => {
                    let mut body = json!({});
                    if let Some(n) = name {
                        body["name"] = n.into();
                    }
                    if let Some(p) = plan {
                        body["plan"] = p.into();
                    }
                    if let Some(d) = disabled {
                        body["disabled"] = d.into();
                    }
                    if let Some(ips) = allowed_ips {
                        let list: Vec<String> = ips
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect();
                        body["allowed_ips"] = list.into();
                    }
                    Output::One(
                        c.call(
                            Method::PATCH,
                            &format!("/admin/v1/accounts/{account_id}"),
                            Some(body),
                        )
                        .await?,
                        ACCOUNT_COLUMNS,
                    )
                }
                AccountsCommand::Grant {
                    account_id,
                    credits,
                    kind,
                    note,
                } => {
                    let mut body = json!({ "amount": credits, "type": kind });
                    if let Some(n) = note {
                        body["note"] = n.into();
                    }
                    Output::One(
                        c.call(
                            Method::POST,
                            &format!("/admin/v1/accounts/{account_id}/credits"),
                            Some(body),
                        )
                        .await?,
                        GRANT_COLUMNS,
                    )
                }
                AccountsCommand::Ledger { account_id } => Output::Many(
                    c.list_all(&format!("/admin/v1/accounts/{account_id}/ledger"))
                        .await?,
                    LEDGER_COLUMNS,
                ),
                AccountsCommand::Delete { account_id } => Output::Done(
                    c.call(
                        Method::DELETE,
                        &format!("/admin/v1/accounts/{account_id}"),
                        None,
                    )
                    .await?,
                ),
            };
            Ok(out)
        },
        json_out,
    )
}

pub fn projects(args: ProjectsArgs) -> ExitCode {
    let json_out = args.client.json;
    execute(
        &args.client,
        |c| async move {
            Ok(match args.command {
                ProjectsCommand::Create { account, name } => Output::One(
                    c.call(
                        Method::POST,
                        &format!("/admin/v1/accounts/{account}/projects"),
                        Some(json!({ "name": name })),
                    )
                    .await?,
                    PROJECT_COLUMNS,
                ),
                ProjectsCommand::List { account } => Output::Many(
                    c.list_all(&format!("/admin/v1/accounts/{account}/projects"))
                        .await?,
                    PROJECT_COLUMNS,
                ),
                ProjectsCommand::Delete { project_id } => Output::Done(
                    c.call(
                        Method::DELETE,
                        &format!("/admin/v1/projects/{project_id}"),
                        None,
                    )
                    .await?,
                ),
            })
        },
        json_out,
    )
}

pub fn keys(args: KeysArgs) -> ExitCode {
    let json_out = args.client.json;
    if let KeysCommand::Scan(scan) = args.command {
        return super::scan::run(scan, json_out);
    }
    execute(
        &args.client,
        |c| async move {
            Ok(match args.command {
                KeysCommand::Create {
                    account,
                    label,
                    project,
                    scopes,
                    expires_in,
                } => {
                    let mut body = json!({ "account_id": account, "label": label });
                    if let Some(p) = project {
                        body["project"] = p.into();
                    }
                    if let Some(s) = scopes {
                        body["scopes"] = s.into();
                    }
                    if let Some(e) = expires_in {
                        body["expires_in"] = e.into();
                    }
                    Output::Secret(
                        c.call(Method::POST, "/admin/v1/keys", Some(body)).await?,
                        "key",
                    )
                }
                KeysCommand::List { account } => {
                    let path = match account {
                        Some(a) => format!("/admin/v1/keys?account={a}"),
                        None => "/admin/v1/keys".to_string(),
                    };
                    Output::Many(c.list_all(&path).await?, KEY_COLUMNS)
                }
                KeysCommand::Get { key_id } => Output::One(
                    c.call(Method::GET, &format!("/admin/v1/keys/{key_id}"), None)
                        .await?,
                    KEY_COLUMNS,
                ),
                KeysCommand::Revoke { key_id } => Output::One(
                    c.call(Method::DELETE, &format!("/admin/v1/keys/{key_id}"), None)
                        .await?,
                    KEY_COLUMNS,
                ),
                KeysCommand::Scan(_) => return Err(Error::NoToken),
            })
        },
        json_out,
    )
}

pub fn tokens(args: TokensArgs) -> ExitCode {
    let json_out = args.client.json;
    execute(
        &args.client,
        |c| async move {
            Ok(match args.command {
                TokensCommand::Create { label } => Output::Secret(
                    c.call(
                        Method::POST,
                        "/admin/v1/tokens",
                        Some(json!({ "label": label })),
                    )
                    .await?,
                    "token",
                ),
                TokensCommand::List => {
                    Output::Many(c.list_all("/admin/v1/tokens").await?, TOKEN_COLUMNS)
                }
                TokensCommand::Revoke { token_id } => Output::One(
                    c.call(
                        Method::DELETE,
                        &format!("/admin/v1/tokens/{token_id}"),
                        None,
                    )
                    .await?,
                    TOKEN_COLUMNS,
                ),
            })
        },
        json_out,
    )
}

pub fn webhook_secrets(args: WebhookSecretsArgs) -> ExitCode {
    let json_out = args.client.json;
    execute(
        &args.client,
        |c| async move {
            Ok(match args.command {
                WebhookSecretsCommand::Create { project, label } => Output::Secret(
                    c.call(
                        Method::POST,
                        &format!("/admin/v1/projects/{project}/webhook-secrets"),
                        Some(json!({ "label": label })),
                    )
                    .await?,
                    "secret",
                ),
                WebhookSecretsCommand::List { project } => Output::Many(
                    c.list_all(&format!("/admin/v1/projects/{project}/webhook-secrets"))
                        .await?,
                    WEBHOOK_SECRET_COLUMNS,
                ),
                WebhookSecretsCommand::Revoke { project, secret_id } => Output::One(
                    c.call(
                        Method::DELETE,
                        &format!("/admin/v1/projects/{project}/webhook-secrets/{secret_id}"),
                        None,
                    )
                    .await?,
                    WEBHOOK_SECRET_COLUMNS,
                ),
            })
        },
        json_out,
    )
}

/// What a command prints.
enum Output {
    One(Value, &'static [&'static str]),
    Many(Value, &'static [&'static str]),
    /// A created credential: the named field holds the value shown once.
    Secret(Value, &'static str),
    Done(Value),
}

fn execute<F, Fut>(args: &ClientArgs, f: F, json_out: bool) -> ExitCode
where
    F: FnOnce(ApiClient) -> Fut,
    Fut: Future<Output = Result<Output, Error>>,
{
    let result = ApiClient::new(args).and_then(|client| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?
            .block_on(f(client))
    });
    match result {
        Ok(out) => {
            print_output(&out, json_out);
            ExitCode::SUCCESS
        }
        Err(Error::Api { body, .. }) if json_out => {
            println!("{}", pretty(&body));
            ExitCode::FAILURE
        }
        Err(e) => super::fail(&e),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn print_output(out: &Output, json_out: bool) {
    match out {
        Output::One(v, _) | Output::Many(v, _) | Output::Secret(v, _) | Output::Done(v)
            if json_out =>
        {
            println!("{}", pretty(v));
        }
        Output::One(v, cols) => print_table(std::slice::from_ref(v), cols),
        Output::Many(v, cols) => {
            print_table(v["data"].as_array().map(Vec::as_slice).unwrap_or(&[]), cols);
        }
        Output::Secret(v, field) => {
            println!("id:     {}", cell(&v["id"]));
            println!("label:  {}", cell(&v["label"]));
            println!("{field}: {}", cell(&v[*field]));
            println!("\nStore the {field} now; it is not shown again.");
        }
        Output::Done(v) => println!("deleted {}", cell(&v["id"])),
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn print_table(rows: &[Value], cols: &[&str]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| cols.iter().map(|c| cell(&r[*c])).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].len())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |items: Vec<String>| {
        items
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(cols.iter().map(|c| c.to_uppercase()).collect()));
    for r in cells {
        println!("{}", line(r));
    }
}
