//! `/admin/v1/accounts`: create, list, get, update, delete.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;

use super::{Ctx, PageParams, view};
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{AccountId, ProjectId, now_ms};
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
}

pub const DEFAULT_PLAN: &str = "default";
pub const DEFAULT_PROJECT: &str = "default";

pub fn validate_name(field: &str, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to 200 printable characters"
        )));
    }
    Ok(n.to_string())
}

fn validate_plan(plan: &str) -> Result<String, ApiError> {
    let ok = !plan.is_empty()
        && plan.len() <= 64
        && plan
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    if !ok {
        return Err(ApiError::invalid(
            "plan must be 1 to 64 characters of a-z, 0-9, '_' and '-'",
        ));
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
    let plan = validate_plan(req.plan.as_deref().unwrap_or(DEFAULT_PLAN))?;
    let now = now_ms();
    let id = AccountId::generate().map_err(|_| ApiError::internal())?.0;
    let project_id = ProjectId::generate().map_err(|_| ApiError::internal())?.0;
    let account = AccountRecord {
        name,
        plan,
        created_at_ms: now,
        disabled: false,
    };
    let project = ProjectRecord {
        account: id,
        name: DEFAULT_PROJECT.into(),
        created_at_ms: now,
    };
    let (a, p) = (account.clone(), project.clone());
    ctx.state
        .db(move |s| s.create_account(id, &a, (project_id, &p)))
        .await?;
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
    Ok(json_response(
        StatusCode::OK,
        &view::list(&result, view::account, |id| AccountId(id).to_string()),
    ))
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
    let plan = req.plan.as_deref().map(validate_plan).transpose()?;
    let disabled = req.disabled;
    let a = ctx
        .state
        .db(move |s| {
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
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(json_response(StatusCode::OK, &view::account(id, &a)))
}

pub async fn delete(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_account_id(ctx.param(0))?;
    let deleted_keys = ctx
        .state
        .db(move |s| s.delete_account(id))
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    ctx.state.credentials.remove_keys(&deleted_keys);
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "id": AccountId(id).to_string(),
            "object": "account",
            "deleted": true,
        }),
    ))
}
