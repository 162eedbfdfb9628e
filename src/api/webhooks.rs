//! Webhook signing secrets: `/api/v1/webhook-secrets` for the calling key's project and
//! `/admin/v1/projects/{project_id}/webhook-secrets` for operators. The value is shown once, at
//! creation; secrets and API keys are separate, so rotating one never touches the other.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;

use super::accounts::validate_name;
use super::{Ctx, PageParams, view};
use crate::http::body::{Body, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::ids::{ProjectId, WebhookSecretId, now_ms};
use crate::store::schema::WebhookSecretRecord;
use crate::webhooks::sign::Secret;

/// Each delivery carries one signature per active secret; rotation needs two, a few more cover
/// receivers moving at different speeds, and the bound keeps headers small.
pub const MAX_ACTIVE_SECRETS: usize = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSecret {
    label: String,
}

/// The project a request is about: the calling key's, or the one in an admin path (which must
/// exist).
async fn project_of(ctx: &Ctx, admin: bool) -> Result<u128, ApiError> {
    if !admin {
        return Ok(ctx.key()?.project.0);
    }
    let id = ProjectId::parse(ctx.param(0))
        .map(|p| p.0)
        .ok_or_else(|| ApiError::not_found("project"))?;
    ctx.state
        .db(move |s| s.get_project(id))
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    Ok(id)
}

/// Mints, seals and stores a secret for `project`, recorded in the audit log; returns its view
/// with the value, once.
pub async fn mint(ctx: &Ctx, project: u128, label: String) -> Result<serde_json::Value, ApiError> {
    let state = &ctx.state;
    let secret = Secret::generate().map_err(|_| ApiError::internal())?;
    let id = WebhookSecretId::generate()
        .map_err(|_| ApiError::internal())?
        .0;
    let sealed = state.vault.seal(id, &secret).map_err(|e| {
        tracing::error!(error = %e, "sealing a webhook secret");
        ApiError::internal()
    })?;
    let record = WebhookSecretRecord {
        project,
        label,
        created_at_ms: now_ms(),
        revoked_at_ms: None,
        sealed,
    };
    let r = record.clone();
    let inserted = super::audit::change(
        ctx,
        "webhook_secret.create",
        WebhookSecretId(id).to_string(),
        serde_json::json!({"project_id": crate::ids::ProjectId(project).to_string()}),
        move |s| match s.insert_webhook_secret(id, &r, MAX_ACTIVE_SECRETS) {
            Err(crate::store::Error::LimitReached(_)) => Ok(false),
            other => other.map(|()| true),
        },
    )
    .await?;
    if !inserted {
        return Err(ApiError::new(
            ErrorCode::SecretLimitReached,
            format!(
                "the project already has {MAX_ACTIVE_SECRETS} active webhook secrets; revoke one first"
            ),
        ));
    }
    let mut body = view::webhook_secret(id, &record);
    body["secret"] = secret.encode().into();
    Ok(body)
}

pub async fn create_secret(
    ctx: Ctx,
    body: Incoming,
    admin: bool,
) -> Result<Response<Body>, ApiError> {
    let project = project_of(&ctx, admin).await?;
    let req: CreateSecret = ctx.json(body).await?;
    let label = validate_name("label", &req.label)?;
    let body = mint(&ctx, project, label).await?;
    Ok(json_response(StatusCode::CREATED, &body))
}

pub async fn list_secrets(ctx: Ctx, admin: bool) -> Result<Response<Body>, ApiError> {
    let project = project_of(&ctx, admin).await?;
    let page = PageParams::from_query(&ctx.query(), |c| WebhookSecretId::parse(c).map(|w| w.0))?;
    let result = ctx
        .state
        .db(move |s| s.list_webhook_secrets(project, page.after, page.limit))
        .await?;
    Ok(
        ctx.list_response(&view::list(&result, view::webhook_secret, |id| {
            WebhookSecretId(id).to_string()
        })),
    )
}

pub async fn revoke_secret(ctx: Ctx, admin: bool) -> Result<Response<Body>, ApiError> {
    let project = project_of(&ctx, admin).await?;
    let id = WebhookSecretId::parse(ctx.param(usize::from(admin)))
        .map(|w| w.0)
        .ok_or_else(|| ApiError::not_found("webhook secret"))?;
    let now = now_ms();
    let rec = super::audit::change(
        &ctx,
        "webhook_secret.revoke",
        WebhookSecretId(id).to_string(),
        serde_json::json!({"project_id": crate::ids::ProjectId(project).to_string()}),
        move |s| s.revoke_webhook_secret(project, id, now),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("webhook secret"))?;
    Ok(json_response(
        StatusCode::OK,
        &view::webhook_secret(id, &rec),
    ))
}
