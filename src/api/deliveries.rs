//! `/api/v1/webhooks/deliveries`: the delivery log of the calling key's project — each event
//! sent to a webhook URL, its status, every attempt — and redelivery on request.

use http::{Response, StatusCode};
use serde_json::Value;

use super::{Ctx, PageParams, view};
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{DeliveryId, JobId};
use crate::store::schema::{DeliveryRecord, DeliveryStatus};

fn not_found() -> ApiError {
    ApiError::not_found("delivery")
}

/// `GET /api/v1/webhooks/deliveries`: newest first; `?job_id=`, `?status=`, `?limit=`,
/// `?cursor=`.
pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let project = ctx.key()?.project.0;
    list_project(ctx, project).await
}

/// `GET /admin/v1/projects/{id}/deliveries`: the same log for any project.
pub async fn admin_list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let project = super::projects::existing(&ctx, ctx.param(0)).await?;
    list_project(ctx, project).await
}

async fn list_project(ctx: Ctx, project: u128) -> Result<Response<Body>, ApiError> {
    let q = ctx.query();
    let status = match q.get("status").map(String::as_str) {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(format!(
                "status {s:?} is not one of pending, succeeded, failed"
            ))
        })?),
    };
    let job = match q.get("job_id").map(String::as_str) {
        None => None,
        Some(j) => Some(
            JobId::parse(j)
                .ok_or_else(|| ApiError::invalid(format!("job_id {j:?} is not a job id")))?
                .0,
        ),
    };
    let page = PageParams::from_query(&q, |c| DeliveryId::parse(c).map(|d| d.0))?;
    let result = ctx
        .state
        .db(move |s| s.list_deliveries(project, job, status, page.after, page.limit))
        .await?;
    Ok(
        ctx.list_response(&view::list(&result, view::delivery, |id| {
            DeliveryId(id).to_string()
        })),
    )
}

/// The delivery if it belongs to the caller's project; 404 otherwise, alike for unknown ids.
async fn own(ctx: &Ctx) -> Result<(u128, DeliveryRecord), ApiError> {
    let project = ctx.key()?.project.0;
    find(ctx, Some(project)).await
}

/// The delivery named by the first path parameter; with `project`, only if it belongs there.
async fn find(ctx: &Ctx, project: Option<u128>) -> Result<(u128, DeliveryRecord), ApiError> {
    let id = DeliveryId::parse(ctx.param(0)).ok_or_else(not_found)?.0;
    let rec = ctx
        .state
        .db(move |s| s.get_delivery(id))
        .await?
        .filter(|r| project.is_none_or(|p| r.project == p))
        .ok_or_else(not_found)?;
    Ok((id, rec))
}

/// `GET /api/v1/webhooks/deliveries/{id}`: the delivery with every attempt and the event body.
pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, rec) = own(&ctx).await?;
    detail(&ctx, id, rec).await
}

/// `GET /admin/v1/deliveries/{id}`.
pub async fn admin_get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, rec) = find(&ctx, None).await?;
    detail(&ctx, id, rec).await
}

async fn detail(ctx: &Ctx, id: u128, rec: DeliveryRecord) -> Result<Response<Body>, ApiError> {
    let attempts = ctx.state.db(move |s| s.delivery_attempts(id)).await?;
    let mut v = view::delivery(id, &rec);
    v["attempt_log"] = attempts
        .iter()
        .map(|(n, a)| view::attempt(*n, a))
        .collect::<Vec<_>>()
        .into();
    v["event"] = serde_json::from_slice(&rec.body).unwrap_or(Value::Null);
    Ok(json_response(StatusCode::OK, &v))
}

/// `POST /api/v1/webhooks/deliveries/{id}/redeliver`: sends the same event (same `webhook-id`)
/// again now, with a fresh retry schedule.
pub async fn redeliver(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, _) = own(&ctx).await?;
    send_again(&ctx, id).await
}

/// `POST /admin/v1/deliveries/{id}/redeliver`.
pub async fn admin_redeliver(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, _) = find(&ctx, None).await?;
    send_again(&ctx, id).await
}

async fn send_again(ctx: &Ctx, id: u128) -> Result<Response<Body>, ApiError> {
    let rec = ctx
        .state
        .deliveries
        .redeliver(id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "redelivery");
            ApiError::internal()
        })?
        .ok_or_else(not_found)?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &view::delivery(id, &rec),
    ))
}
