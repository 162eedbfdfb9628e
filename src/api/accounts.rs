//! `/admin/v1/accounts`: create, list, get, update, delete.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;

use super::{Ctx, PageParams, view};
use crate::config::parse_net;
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{AccountId, ProjectId, now_ms};
use crate::policy::AccountState;
use crate::store::schema::{AccountRecord, ProjectRecord};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccount {
    name: String,
    #[serde(default)]
    plan: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateAccount {
    name: Option<String>,
    plan: Option<String>,
    disabled: Option<bool>,
    /// Addresses and CIDR ranges; an empty list allows any address.
    allowed_ips: Option<Vec<String>>,
}

pub const DEFAULT_PROJECT: &str = "default";

/// What the policy layer keeps of an account. Stored addresses were validated on the way in.
pub fn policy_state(a: &AccountRecord) -> AccountState {
    AccountState {
        plan: a.plan.clone(),
        disabled: a.disabled,
        allowed_ips: a.allowed_ips.iter().filter_map(|s| parse_net(s)).collect(),
    }
}

fn validate_ips(list: &[String]) -> Result<Vec<String>, ApiError> {
    if list.len() > 1000 {
        return Err(ApiError::invalid("allowed_ips holds at most 1000 entries"));
    }
    list.iter()
        .map(|s| {
            // Surrounding whitespace is refused, not trimmed: the documented pattern has none.
            let net = (s.trim() == s).then(|| parse_net(s)).flatten();
            net.map(|n| n.to_string()).ok_or_else(|| {
                ApiError::invalid(format!(
                    "{s:?} in allowed_ips is not an IP address or CIDR range"
                ))
            })
        })
        .collect()
}

/// 1 to 200 characters as sent, no control characters, not only whitespace; stored trimmed.
/// The OpenAPI document states the same rule (`NAME_PATTERN`).
pub fn validate_name(field: &str, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to 200 printable characters"
        )));
    }
    Ok(n.to_string())
}

fn validate_plan(ctx: &Ctx, plan: &str) -> Result<String, ApiError> {
    if ctx.state.policy.plan(plan).is_none() {
        return Err(ApiError::invalid(format!(
            "no plan named {plan:?}; configured plans: {}",
            ctx.state.policy.plan_names().join(", ")
        )));
    }
    Ok(plan.to_string())
}

pub fn parse_account_id(s: &str) -> Result<u128, ApiError> {
    AccountId::parse(s)
        .map(|a| a.0)
        .ok_or_else(|| ApiError::not_found("account"))
}

pub async fn create(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let req: CreateAccount = ctx.json(body).await?;
    let name = validate_name("name", &req.name)?;
    let plan = validate_plan(
        &ctx,
        req.plan.as_deref().unwrap_or(crate::config::DEFAULT_PLAN),
    )?;
    let now = now_ms();
    let id = AccountId::generate().map_err(|_| ApiError::internal())?.0;
    let project_id = ProjectId::generate().map_err(|_| ApiError::internal())?.0;
    let account = AccountRecord {
        name,
        plan,
        created_at_ms: now,
        disabled: false,
        allowed_ips: Vec::new(),
        credits: 0,
        credits_month: 0,
    };
    let project = ProjectRecord {
        account: id,
        name: DEFAULT_PROJECT.into(),
        created_at_ms: now,
    };
    let (a, p) = (account.clone(), project.clone());
    super::audit::change(
        &ctx,
        "account.create",
        AccountId(id).to_string(),
        serde_json::json!({"name": account.name, "plan": account.plan, "default_project_id": ProjectId(project_id).to_string()}),
        move |s| s.create_account(id, &a, (project_id, &p)),
    )
    .await?;
    ctx.state.policy.set_account(id, policy_state(&account));
    let mut body = view::account(id, &account);
    body["default_project_id"] = ProjectId(project_id).to_string().into();
    Ok(json_response(StatusCode::CREATED, &body))
}

pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let page = PageParams::from_query(&ctx.query(), |c| AccountId::parse(c).map(|a| a.0))?;
    let result = ctx
        .state
        .db(move |s| s.list_accounts(page.after, page.limit))
        .await?;
    Ok(ctx.list_response(&view::list(&result, view::account, |id| {
        AccountId(id).to_string()
    })))
}

pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_account_id(ctx.param(0))?;
    let a = ctx
        .state
        .db(move |s| s.get_account(id))
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(json_response(StatusCode::OK, &view::account(id, &a)))
}

pub async fn update(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let id = parse_account_id(ctx.param(0))?;
    let req: UpdateAccount = ctx.json(body).await?;
    let name = req
        .name
        .as_deref()
        .map(|n| validate_name("name", n))
        .transpose()?;
    let plan = req
        .plan
        .as_deref()
        .map(|p| validate_plan(&ctx, p))
        .transpose()?;
    let allowed_ips = req.allowed_ips.as_deref().map(validate_ips).transpose()?;
    let disabled = req.disabled;
    let changes = serde_json::json!({
        "name": name, "plan": plan, "disabled": disabled, "allowed_ips": allowed_ips,
    });
    let a = super::audit::change(
        &ctx,
        "account.update",
        AccountId(id).to_string(),
        changes,
        move |s| {
            s.update_account(id, |a| {
                if let Some(n) = name {
                    a.name = n;
                }
                if let Some(p) = plan {
                    a.plan = p;
                }
                if let Some(d) = disabled {
                    a.disabled = d;
                }
                if let Some(ips) = allowed_ips {
                    a.allowed_ips = ips;
                }
            })
        },
    )
    .await?
    .ok_or_else(|| ApiError::not_found("account"))?;
    // Applied to the policy before answering: the next request sees the change.
    ctx.state.policy.set_account(id, policy_state(&a));
    Ok(json_response(StatusCode::OK, &view::account(id, &a)))
}

pub async fn delete(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_account_id(ctx.param(0))?;
    let deleted_keys = super::audit::change(
        &ctx,
        "account.delete",
        AccountId(id).to_string(),
        serde_json::json!({}),
        move |s| s.delete_account(id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("account"))?;
    ctx.state.credentials.remove_keys(&deleted_keys);
    ctx.state.policy.forget_keys(&deleted_keys);
    ctx.state.policy.remove_account(id);
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "id": AccountId(id).to_string(),
            "object": "account",
            "deleted": true,
        }),
    ))
}
