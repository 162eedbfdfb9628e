//! `/admin/v1/accounts/{id}/projects` and `/admin/v1/projects/{id}`.

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;

use super::accounts::{DEFAULT_PROJECT, parse_account_id, validate_name};
use super::{Ctx, PageParams, view};
use crate::http::body::{Body, json_response};
use crate::http::error::{ApiError, ErrorCode};
use crate::ids::{ProjectId, now_ms};
use crate::store::schema::ProjectRecord;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateProject {
    name: String,
}

fn parse_project_id(s: &str) -> Result<u128, ApiError> {
    ProjectId::parse(s)
        .map(|p| p.0)
        .ok_or_else(|| ApiError::not_found("project"))
}

/// The id of an existing project, parsed from a path parameter; 404 for unknown or malformed ids.
pub async fn existing(ctx: &Ctx, raw: &str) -> Result<u128, ApiError> {
    let id = parse_project_id(raw)?;
    ctx.state
        .db(move |s| s.get_project(id))
        .await?
        .map(|_| id)
        .ok_or_else(|| ApiError::not_found("project"))
}

pub async fn create(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let account = parse_account_id(ctx.param(0))?;
    let req: CreateProject = ctx.json(body).await?;
    let project = ProjectRecord {
        account,
        name: validate_name("name", &req.name)?,
        created_at_ms: now_ms(),
    };
    let id = ProjectId::generate().map_err(|_| ApiError::internal())?.0;
    let p = project.clone();
    super::audit::change(
        &ctx,
        "project.create",
        ProjectId(id).to_string(),
        serde_json::json!({"account_id": crate::ids::AccountId(account).to_string(), "name": project.name}),
        move |s| s.create_project(id, &p),
    )
    .await
    .map_err(|e| match e.code {
            ErrorCode::NotFound => ApiError::not_found("account"),
            ErrorCode::Conflict => ApiError::new(
                ErrorCode::Conflict,
                "the account already has a project with that name",
            ),
        _ => e,
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        &view::project(id, &project),
    ))
}

pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let account = parse_account_id(ctx.param(0))?;
    let page = PageParams::from_query(&ctx.query(), |c| ProjectId::parse(c).map(|p| p.0))?;
    let (exists, result) = ctx
        .state
        .db(move |s| {
            Ok((
                s.get_account(account)?.is_some(),
                s.list_projects(account, page.after, page.limit)?,
            ))
        })
        .await?;
    if !exists {
        return Err(ApiError::not_found("account"));
    }
    Ok(ctx.list_response(&view::list(&result, view::project, |id| {
        ProjectId(id).to_string()
    })))
}

pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_project_id(ctx.param(0))?;
    let p = ctx
        .state
        .db(move |s| s.get_project(id))
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    Ok(json_response(StatusCode::OK, &view::project(id, &p)))
}

pub async fn delete(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let id = parse_project_id(ctx.param(0))?;
    let p = ctx
        .state
        .db(move |s| s.get_project(id))
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    if p.name == DEFAULT_PROJECT {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the default project cannot be deleted; delete the account instead",
        ));
    }
    let deleted_keys = super::audit::change(
        &ctx,
        "project.delete",
        ProjectId(id).to_string(),
        serde_json::json!({"account_id": crate::ids::AccountId(p.account).to_string(), "name": p.name}),
        move |s| s.delete_project(id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("project"))?;
    ctx.state.credentials.remove_keys(&deleted_keys);
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "id": ProjectId(id).to_string(),
            "object": "project",
            "deleted": true,
            "deleted_keys": deleted_keys.len(),
        }),
    ))
}
