//! Credits: the calling account's balance and ledger (`/api/v1/account…`) and grants by an
//! administrator (`/admin/v1/accounts/{id}/credits`). Every movement is one store transaction
//! with its ledger entry.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::parse_account_id;
use super::{Ctx, PageParams};
use crate::config::Quota;
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{AccountId, LedgerEntryId, now_ms, rfc3339};
use crate::policy::month::{month_index, next_month_start_s};
use crate::store::schema::LedgerRecord;
use crate::store::{CreditChange, Page};

/// Entries per page of the ledger.
const LEDGER_PAGE: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    /// A whole number; JSON allows it written as `5.0`.
    amount: serde_json::Number,
    /// `grant` (default) or `bonus`.
    #[serde(rename = "type", default)]
    kind: Option<String>,
    note: Option<String>,
}

/// The monthly grant due under the account's plan, `None` on unlimited plans.
fn monthly_grant(ctx: &Ctx, account: u128) -> Option<i64> {
    match ctx.state.policy.plan_of(account)?.credits_per_month {
        Quota::Unlimited => None,
        Quota::Max(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
    }
}

/// Charges or refunds credits for a resource. Returns `Ok(None)` on plans with unlimited
/// credits, which keep no balance.
pub async fn apply(
    ctx: &Ctx,
    account: u128,
    change: CreditChange,
) -> Result<Option<i64>, ApiError> {
    let Some(grant) = monthly_grant(ctx, account) else {
        return Ok(None);
    };
    let now = now_ms();
    let balance = ctx
        .state
        .db(move |s| s.apply_credits(account, month_index(now), Some(grant), Some(change), now))
        .await?;
    Ok(Some(balance))
}

pub fn entry_view(id: u128, e: &LedgerRecord) -> Value {
    let reference = e.reference.as_deref();
    json!({
        "id": LedgerEntryId(id).to_string(),
        "object": "ledger_entry",
        "created_at": rfc3339(e.at_ms),
        "type": e.kind,
        "amount": e.amount,
        "balance_after": e.balance_after,
        "job_id": reference.filter(|r| e.kind != "download" && r.starts_with("job_")),
        // Sound ids are slugs chosen at import: the entry's type says the reference is one.
        "sound_id": reference.filter(|_| e.kind == "download"),
        "note": e.note,
    })
}

fn ledger_list(page: &Page<LedgerRecord>) -> Value {
    json!({
        "object": "list",
        "data": page.items.iter().map(|(id, e)| entry_view(*id, e)).collect::<Vec<_>>(),
        "has_more": page.next.is_some(),
        "next_cursor": page.next.map(|id| LedgerEntryId(id).to_string()),
    })
}

/// `GET /api/v1/account`.
pub async fn account(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let key = ctx.key()?.clone();
    let account = key.account.0;
    let now = now_ms();
    let grant = monthly_grant(&ctx, account);
    let (record, balance) = ctx
        .state
        .db(move |s| {
            // Brings a due monthly grant into the balance before showing it.
            let balance = match grant {
                Some(g) => Some(s.apply_credits(account, month_index(now), Some(g), None, now)?),
                None => None,
            };
            Ok((s.get_account(account)?, balance))
        })
        .await?;
    let record = record.ok_or_else(|| ApiError::not_found("account"))?;
    let body = json!({
        "id": AccountId(account).to_string(),
        "object": "account",
        "name": record.name,
        "plan": record.plan,
        // The plan under the name hosted sound libraries give it.
        "tier": record.plan,
        "credits_remaining": balance,
        "credits_total": grant,
        "monthly_reset_date": rfc3339(next_month_start_s(now) * 1000),
        "api_key_id": key.id.to_string(),
        "project_id": key.project.to_string(),
        "created_at": rfc3339(record.created_at_ms),
    });
    Ok(json_response(StatusCode::OK, &body))
}

async fn ledger_of(ctx: &Ctx, account: u128) -> Result<Response<Body>, ApiError> {
    let page = PageParams::from_query(&ctx.query(), |c| LedgerEntryId::parse(c).map(|l| l.0))?;
    let limit = page.limit.min(LEDGER_PAGE);
    let limit = if ctx.query().contains_key("limit") {
        limit
    } else {
        LEDGER_PAGE
    };
    let result = ctx
        .state
        .db(move |s| s.list_ledger(account, page.after, limit))
        .await?;
    Ok(ctx.list_response(&ledger_list(&result)))
}

/// `GET /api/v1/account/ledger`.
pub async fn ledger(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let account = ctx.key()?.account.0;
    ledger_of(&ctx, account).await
}

/// `GET /admin/v1/accounts/{id}/ledger`.
pub async fn admin_ledger(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let account = parse_account_id(ctx.param(0))?;
    if ctx
        .state
        .db(move |s| s.get_account(account))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("account"));
    }
    ledger_of(&ctx, account).await
}

/// `POST /admin/v1/accounts/{id}/credits`.
pub async fn grant(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let account = parse_account_id(ctx.param(0))?;
    let req: Grant = ctx.json(body).await?;
    let kind = req.kind.unwrap_or_else(|| "grant".into());
    if kind != "grant" && kind != "bonus" {
        return Err(ApiError::invalid("type must be \"grant\" or \"bonus\""));
    }
    let amount = req
        .amount
        .as_i64()
        .or_else(|| {
            req.amount
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e12)
                .map(|f| f as i64)
        })
        .filter(|n| (1..=1_000_000_000).contains(n))
        .ok_or_else(|| {
            ApiError::invalid("amount must be a whole number of credits from 1 to 1000000000")
        })?;
    let note = req.note.map(|n| n.chars().take(500).collect::<String>());
    let details = json!({"type": kind, "amount": amount, "note": note});
    let grant = monthly_grant(&ctx, account);
    let now = now_ms();
    let change = CreditChange {
        kind,
        amount,
        reference: None,
        note,
    };
    let balance = super::audit::change(
        &ctx,
        "credits.grant",
        AccountId(account).to_string(),
        details,
        move |s| s.apply_credits(account, month_index(now), grant, Some(change), now),
    )
    .await
    .map_err(|e| match e.code {
        crate::http::error::ErrorCode::NotFound => ApiError::not_found("account"),
        _ => e,
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "account_id": AccountId(account).to_string(),
            "object": "credit_grant",
            "amount": amount,
            // Unlimited plans keep no balance: null here as in GET /api/v1/account.
            "credits_remaining": grant.map(|_| balance),
        }),
    ))
}
