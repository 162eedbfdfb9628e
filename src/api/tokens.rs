//! `/admin/v1/tokens`: management tokens (create, value returned once; list; revoke).

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;

use super::accounts::validate_name;
use super::{Ctx, PageParams, view};
use crate::auth::{SecretKind, secret};
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{TokenId, now_ms};
use crate::store::schema::TokenRecord;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    label: String,
}

/// A new management token: stored hashed, the value returned to show once.
pub struct IssuedToken {
    pub id: TokenId,
    pub record: TokenRecord,
    pub value: String,
}

/// A fresh token record and its value, not yet stored. Shared by the API and
/// `tonearm admin bootstrap`, which stores it itself.
pub fn prepare(label: String) -> Result<IssuedToken, getrandom::Error> {
    let new = secret::generate(SecretKind::ManagementToken)?;
    Ok(IssuedToken {
        id: TokenId::generate()?,
        record: TokenRecord {
            label,
            digest: new.digest,
            created_at_ms: now_ms(),
            last_used_at_ms: None,
            revoked_at_ms: None,
        },
        value: new.value,
    })
}

pub async fn create(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let req: CreateToken = ctx.json(body).await?;
    let label = validate_name("label", &req.label)?;
    let issued = prepare(label).map_err(|_| ApiError::internal())?;
    let (id, record) = (issued.id.0, issued.record.clone());
    super::audit::change(
        &ctx,
        "token.create",
        issued.id.to_string(),
        serde_json::json!({"label": issued.record.label}),
        move |s| s.insert_token(id, &record),
    )
    .await?;
    ctx.state.credentials.add_token(issued.id.0, &issued.record);
    let mut body = view::token(issued.id.0, &issued.record, None);
    body["token"] = issued.value.into();
    Ok(json_response(StatusCode::CREATED, &body))
}

pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let page = PageParams::from_query(&ctx.query(), |c| TokenId::parse(c).map(|t| t.0))?;
    let result = ctx
        .state
        .db(move |s| s.list_tokens(page.after, page.limit))
        .await?;
    let creds = &ctx.state.credentials;
    Ok(ctx.list_response(&view::list(
        &result,
        |id, t| view::token(id, t, creds.token_last_used_ms(id)),
        |id| TokenId(id).to_string(),
    )))
}

pub async fn revoke(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = TokenId::parse(ctx.param(0))
        .map(|t| t.0)
        .ok_or_else(|| ApiError::not_found("management token"))?;
    let now = now_ms();
    let t = super::audit::change(
        &ctx,
        "token.revoke",
        TokenId(id).to_string(),
        serde_json::json!({}),
        move |s| {
            s.update_token(id, |t| {
                t.revoked_at_ms.get_or_insert(now);
            })
        },
    )
    .await?
    .ok_or_else(|| ApiError::not_found("management token"))?;
    ctx.state.credentials.revoke_token(id);
    Ok(json_response(
        StatusCode::OK,
        &view::token(id, &t, ctx.state.credentials.token_last_used_ms(id)),
    ))
}
