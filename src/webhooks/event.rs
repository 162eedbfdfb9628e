//! The events a job sends to its webhook: `analysis.completed` with the result, or
//! `analysis.failed` with the error. The body is rendered once and stored, so every attempt
//! sends the same bytes.

use serde_json::{Value, json};

use crate::ids::{EventId, JobId};

pub const COMPLETED: &str = "analysis.completed";
pub const FAILED: &str = "analysis.failed";
pub const KEY_LEAKED: &str = "key.leaked";

/// `key.leaked`: one of the project's API keys was reported public and has been revoked.
/// `found_at` is the URL the reporter gave, if any.
pub fn key_leaked_event(
    event: EventId,
    key: crate::ids::KeyId,
    project: crate::ids::ProjectId,
    found_at: Option<&str>,
    revoked_ms: u64,
) -> Vec<u8> {
    let body = json!({
        "id": event.to_string(),
        "type": KEY_LEAKED,
        "created": revoked_ms / 1000,
        "data": {
            "key_id": key.to_string(),
            "project_id": project.to_string(),
            "found_at": found_at,
            "revoked_at": crate::ids::rfc3339(revoked_ms),
        },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `{"id", "type", "created", "data": {"job_id", "result" | "error"}}`; `created` in Unix seconds.
pub fn job_event(
    event: EventId,
    job: JobId,
    created_ms: u64,
    outcome: Result<Value, (&str, &str)>,
) -> (&'static str, Vec<u8>) {
    let (kind, data) = match outcome {
        Ok(result) => (
            COMPLETED,
            json!({"job_id": job.to_string(), "result": result}),
        ),
        Err((code, message)) => (
            FAILED,
            json!({"job_id": job.to_string(), "error": {"code": code, "message": message}}),
        ),
    };
    let body = json!({
        "id": event.to_string(),
        "type": kind,
        "created": created_ms / 1000,
        "data": data,
    });
    (kind, serde_json::to_vec(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_and_failed_events() {
        let (kind, body) = job_event(EventId(1), JobId(2), 5_000, Ok(json!({"tempo": 120})));
        assert_eq!(kind, COMPLETED);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], COMPLETED);
        assert_eq!(v["created"], 5);
        assert_eq!(v["id"], EventId(1).to_string());
        assert_eq!(v["data"]["job_id"], JobId(2).to_string());
        assert_eq!(v["data"]["result"]["tempo"], 120);
        let (kind, body) = job_event(EventId(1), JobId(2), 5_000, Err(("corrupt_audio", "bad")));
        assert_eq!(kind, FAILED);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["data"]["error"]["code"], "corrupt_audio");
    }
}
