//! `/admin/v1/accounts/{id}/usage`: what an account used, per UTC day and per key, with the
//! limits as they stand right now. The console's usage chart reads it.

use std::collections::BTreeMap;

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::Ctx;
use super::accounts::parse_account_id;
use crate::config::Quota;
use crate::http::body::{Body, json_response};
use crate::http::error::ApiError;
use crate::ids::{AccountId, KeyId, now_ms, rfc3339};
use crate::policy::daily::day_index;
use crate::policy::month::{month_index, next_month_start_s};

const DAY_MS: u64 = 86_400_000;
/// Keys listed per account; plans cap keys far below this.
const MAX_KEYS: usize = 1000;

/// Per day in order: (calls, analyses).
type Series = BTreeMap<u32, (u64, u64)>;

fn parse_days(q: &std::collections::HashMap<String, String>) -> Result<u32, ApiError> {
    match q.get("days") {
        None => Ok(30),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=90).contains(&n) && !v.starts_with('+') => Ok(n),
            _ => Err(ApiError::invalid("days must be an integer from 1 to 90")),
        },
    }
}

fn series_view(series: &Series, from: u32, to: u32) -> Value {
    (from..=to)
        .map(|d| {
            let (r, a) = series.get(&d).copied().unwrap_or((0, 0));
            json!({
                "date": rfc3339(u64::from(d) * DAY_MS).get(..10).unwrap_or_default(),
                "requests": r,
                "analyses": a,
            })
        })
        .collect::<Vec<_>>()
        .into()
}

/// `GET /admin/v1/accounts/{id}/usage?days=`.
pub async fn account(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let account = parse_account_id(ctx.param(0))?;
    let days = parse_days(&ctx.query())?;
    let now = now_ms();
    let to = day_index(now);
    let from = to.saturating_sub(days - 1);
    let grant = ctx
        .state
        .policy
        .plan_of(account)
        .and_then(|p| match p.credits_per_month {
            Quota::Unlimited => None,
            Quota::Max(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        });
    let (record, keys, stored, balance) = ctx
        .state
        .db(move |s| {
            let Some(record) = s.get_account(account)? else {
                return Ok((None, None, Vec::new(), None));
            };
            // Brings a due monthly grant into the balance before showing it, as
            // `GET /api/v1/account` does.
            let balance = match grant {
                Some(g) => Some(s.apply_credits(account, month_index(now), Some(g), None, now)?),
                None => None,
            };
            Ok((
                Some(record),
                Some(s.list_keys(Some(account), None, MAX_KEYS)?),
                s.day_counts(account, from)?,
                balance,
            ))
        })
        .await?;
    let (Some(record), Some(keys)) = (record, keys) else {
        return Err(ApiError::not_found("account"));
    };

    // Stored counts plus the last second's, not yet written.
    let mut per_key: BTreeMap<u128, Series> = BTreeMap::new();
    let pending = ctx.state.policy.pending_day_counts(account);
    let counts = stored.into_iter().chain(
        pending
            .into_iter()
            .map(|c| (c.key, c.day, c.requests, c.analyses)),
    );
    for (key, day, r, a) in counts.filter(|c| c.1 >= from && c.1 <= to) {
        let e = per_key.entry(key).or_default().entry(day).or_default();
        e.0 += r;
        e.1 += a;
    }
    let mut total = Series::new();
    for series in per_key.values() {
        for (&d, &(r, a)) in series {
            let e = total.entry(d).or_default();
            e.0 += r;
            e.1 += a;
        }
    }

    let plan = ctx.state.policy.plan(&record.plan);
    let minute_limit = plan.as_ref().map_or(0, |p| p.requests_per_minute);
    let key_views: Vec<Value> = keys
        .items
        .iter()
        .map(|(id, k)| {
            let window = ctx.state.policy.peek_minute(*id, minute_limit, now);
            let used = window.map_or(0, |w| w.limit.saturating_sub(w.remaining));
            json!({
                "key_id": KeyId(*id).to_string(),
                "label": k.label,
                "status": super::view::key_status(k, now),
                "minute": {
                    "limit": minute_limit,
                    "used": used,
                    "remaining": minute_limit.saturating_sub(used),
                },
                "daily": series_view(per_key.get(id).unwrap_or(&Series::new()), from, to),
            })
        })
        .collect();

    let month = match plan.as_ref().map(|p| p.calls_per_month) {
        Some(Quota::Max(limit)) => {
            let used = ctx.state.policy.month_count(account, now);
            json!({
                "limit": limit,
                "used": used,
                "remaining": limit.saturating_sub(used),
                "resets_at": rfc3339(next_month_start_s(now) * 1000),
            })
        }
        _ => json!({
            "limit": null,
            "used": ctx.state.policy.month_count(account, now),
            "remaining": null,
            "resets_at": rfc3339(next_month_start_s(now) * 1000),
        }),
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "object": "usage",
            "account_id": AccountId(account).to_string(),
            "plan": record.plan,
            "from": rfc3339(u64::from(from) * DAY_MS).get(..10).unwrap_or_default(),
            "to": rfc3339(u64::from(to) * DAY_MS).get(..10).unwrap_or_default(),
            "daily": series_view(&total, from, to),
            "month": month,
            "credits_remaining": balance,
            "credits_total": grant,
            "keys": key_views,
        }),
    ))
}
