//! `/api/v1/webhooks/deliveries`: the delivery log of the calling key's project — each event
//! sent to a webhook URL, its status, every attempt — and redelivery on request.

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{Ctx, PageParams};
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{DeliveryId, EventId, JobId, rfc3339};
use crate::store::schema::{AttemptRecord, DeliveryRecord, DeliveryStatus};

fn time(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |m| rfc3339(m).into())
}

fn delivery_view(id: u128, r: &DeliveryRecord) -> Value {
    json!({
        "id": DeliveryId(id).to_string(),
        "object": "webhook_delivery",
        "event_id": EventId(r.event).to_string(),
        "event_type": r.event_type,
        "job_id": JobId(r.job).to_string(),
        "url": r.url,
        "status": r.status.as_str(),
        "attempts": r.attempts,
        "created_at": rfc3339(r.created_at_ms),
        "next_attempt_at": time(r.next_attempt_ms),
        "finished_at": time(r.finished_at_ms),
    })
}

fn attempt_view(n: u32, a: &AttemptRecord) -> Value {
    json!({
        "attempt": n,
        "started_at": rfc3339(a.started_at_ms),
        "finished_at": time(a.finished_at_ms),
        "latency_ms": a.finished_at_ms.map(|f| f.saturating_sub(a.started_at_ms)),
        "status_code": a.status_code,
        "error": a.error,
        "response_excerpt": a.response_excerpt,
    })
}

fn not_found() -> ApiError {
    ApiError::not_found("delivery")
}

/// `GET /api/v1/webhooks/deliveries`: newest first; `?job_id=`, `?status=`, `?limit=`,
/// `?cursor=`.
pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let project = ctx.key()?.project.0;
    let q = ctx.query();
    let status = match q.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(format!(
                "status {s:?} is not one of pending, succeeded, failed"
            ))
        })?),
    };
    let job = match q.get("job_id").map(String::as_str) {
        None | Some("") => None,
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
    let data: Vec<Value> = result
        .items
        .iter()
        .map(|(id, r)| delivery_view(*id, r))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "object": "list",
            "data": data,
            "has_more": result.next.is_some(),
            "next_cursor": result.next.map(|id| DeliveryId(id).to_string()),
        }),
    ))
}

/// The delivery if it belongs to the caller's project; 404 otherwise, alike for unknown ids.
async fn own(ctx: &Ctx) -> Result<(u128, DeliveryRecord), ApiError> {
    let project = ctx.key()?.project.0;
    let id = DeliveryId::parse(ctx.param(0)).ok_or_else(not_found)?.0;
    let rec = ctx
        .state
        .db(move |s| s.get_delivery(id))
        .await?
        .filter(|r| r.project == project)
        .ok_or_else(not_found)?;
    Ok((id, rec))
}

/// `GET /api/v1/webhooks/deliveries/{id}`: the delivery with every attempt and the event body.
pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, rec) = own(&ctx).await?;
    let attempts = ctx.state.db(move |s| s.delivery_attempts(id)).await?;
    let mut v = delivery_view(id, &rec);
    v["attempt_log"] = attempts
        .iter()
        .map(|(n, a)| attempt_view(*n, a))
        .collect::<Vec<_>>()
        .into();
    v["event"] = serde_json::from_slice(&rec.body).unwrap_or(Value::Null);
    Ok(json_response(StatusCode::OK, &v))
}

/// `POST /api/v1/webhooks/deliveries/{id}/redeliver`: sends the same event (same `webhook-id`)
/// again now, with a fresh retry schedule.
pub async fn redeliver(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, _) = own(&ctx).await?;
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
        &delivery_view(id, &rec),
    ))
}
