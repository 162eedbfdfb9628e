//! The one error shape every endpoint returns:
//! `{"error": {"code": "…", "message": "…", "request_id": "…"}}`. `ErrorCode` is the table of
//! stable codes and their HTTP statuses; every layer's error becomes an `ApiError` here, so the
//! whole mapping can be reviewed on one screen.

use http::StatusCode;
use serde_json::{Value, json};

use crate::auth::{AuthError, FormatError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    RouteNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidJson,
    InvalidRequest,
    NotFound,
    Conflict,
    KeyLimitReached,
    SecretLimitReached,
    MissingApiKey,
    MissingManagementToken,
    MalformedAuthorization,
    MalformedApiKey,
    MalformedManagementToken,
    WrongCredentialType,
    InvalidApiKey,
    InvalidManagementToken,
    RevokedApiKey,
    RevokedManagementToken,
    ExpiredApiKey,
    InsufficientScope,
    AccountDisabled,
    PlanRequired,
    IpNotAllowed,
    RateLimitExceeded,
    InsufficientCredits,
    MalformedMultipart,
    MissingFile,
    EmptyFile,
    NotAudio,
    BodyTimeout,
    TooManyUploads,
    TooManyAuthFailures,
    TooManyReports,
    HeadersTooLarge,
    MalformedRequest,
    UriTooLong,
    TooManyConnections,
    InsufficientStorage,
    StorageUnavailable,
    InvalidWebhookUrl,
    WebhookTargetRefused,
    WebhookSecretRequired,
    QueueFull,
    NotReady,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    UnsupportedFormat,
    UnsupportedCodec,
    CorruptAudio,
    NoAudioTrack,
    AudioTooLong,
    InvalidSignature,
    UrlExpired,
    RangeNotSatisfiable,
    SoundNotTagged,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            RouteNotFound | NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InvalidJson
            | InvalidRequest
            | MalformedMultipart
            | MissingFile
            | EmptyFile
            | MalformedRequest
            | InvalidWebhookUrl
            | WebhookTargetRefused
            | WebhookSecretRequired => StatusCode::BAD_REQUEST,
            NotAudio => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            TooManyUploads | TooManyAuthFailures | TooManyReports => StatusCode::TOO_MANY_REQUESTS,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UriTooLong => StatusCode::URI_TOO_LONG,
            InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            QueueFull | TooManyConnections | StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Conflict | KeyLimitReached | SecretLimitReached | IdempotencyKeyInUse
            | SoundNotTagged => StatusCode::CONFLICT,
            IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            MissingApiKey
            | MissingManagementToken
            | MalformedAuthorization
            | MalformedApiKey
            | MalformedManagementToken
            | WrongCredentialType
            | InvalidApiKey
            | InvalidManagementToken
            | RevokedApiKey
            | RevokedManagementToken
            | ExpiredApiKey => StatusCode::UNAUTHORIZED,
            InsufficientScope | AccountDisabled | PlanRequired => StatusCode::FORBIDDEN,
            IpNotAllowed => StatusCode::UNAUTHORIZED,
            RateLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            InsufficientCredits => StatusCode::PAYMENT_REQUIRED,
            NotReady => StatusCode::SERVICE_UNAVAILABLE,
            UnsupportedFormat | UnsupportedCodec | CorruptAudio | NoAudioTrack => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            AudioTooLong => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidSignature => StatusCode::FORBIDDEN,
            UrlExpired => StatusCode::GONE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            RouteNotFound => "route_not_found",
            MethodNotAllowed => "method_not_allowed",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            InvalidJson => "invalid_json",
            InvalidRequest => "invalid_request",
            NotFound => "not_found",
            Conflict => "conflict",
            KeyLimitReached => "key_limit_reached",
            SecretLimitReached => "secret_limit_reached",
            MissingApiKey => "missing_api_key",
            MissingManagementToken => "missing_management_token",
            MalformedAuthorization => "malformed_authorization",
            MalformedApiKey => "malformed_api_key",
            MalformedManagementToken => "malformed_management_token",
            WrongCredentialType => "wrong_credential_type",
            InvalidApiKey => "invalid_api_key",
            InvalidManagementToken => "invalid_management_token",
            RevokedApiKey => "revoked_api_key",
            RevokedManagementToken => "revoked_management_token",
            ExpiredApiKey => "expired_api_key",
            InsufficientScope => "insufficient_scope",
            AccountDisabled => "account_disabled",
            PlanRequired => "plan_required",
            IpNotAllowed => "ip_not_allowed",
            RateLimitExceeded => "rate_limit_exceeded",
            InsufficientCredits => "insufficient_credits",
            MalformedMultipart => "malformed_multipart",
            MissingFile => "missing_file",
            EmptyFile => "empty_file",
            NotAudio => "not_audio",
            BodyTimeout => "body_timeout",
            TooManyUploads => "too_many_uploads",
            TooManyAuthFailures => "too_many_auth_failures",
            TooManyReports => "too_many_reports",
            HeadersTooLarge => "headers_too_large",
            MalformedRequest => "malformed_request",
            UriTooLong => "uri_too_long",
            TooManyConnections => "too_many_connections",
            InsufficientStorage => "insufficient_storage",
            StorageUnavailable => "storage_unavailable",
            InvalidWebhookUrl => "invalid_webhook_url",
            WebhookTargetRefused => "webhook_target_refused",
            WebhookSecretRequired => "webhook_secret_required",
            QueueFull => "queue_full",
            NotReady => "not_ready",
            IdempotencyKeyReused => "idempotency_key_reused",
            IdempotencyKeyInUse => "idempotency_key_in_use",
            UnsupportedFormat => "unsupported_format",
            UnsupportedCodec => "unsupported_codec",
            CorruptAudio => "corrupt_audio",
            NoAudioTrack => "no_audio_track",
            AudioTooLong => "too_long",
            InvalidSignature => "invalid_signature",
            UrlExpired => "url_expired",
            RangeNotSatisfiable => "range_not_satisfiable",
            SoundNotTagged => "sound_not_tagged",
            Internal => "internal",
        }
    }

    /// Every code, for the documentation and its test.
    pub const ALL: [ErrorCode; 58] = {
        use ErrorCode::*;
        [
            RouteNotFound,
            MethodNotAllowed,
            PayloadTooLarge,
            UnsupportedMediaType,
            InvalidJson,
            InvalidRequest,
            NotFound,
            Conflict,
            KeyLimitReached,
            SecretLimitReached,
            MissingApiKey,
            MissingManagementToken,
            MalformedAuthorization,
            MalformedApiKey,
            MalformedManagementToken,
            WrongCredentialType,
            InvalidApiKey,
            InvalidManagementToken,
            RevokedApiKey,
            RevokedManagementToken,
            ExpiredApiKey,
            InsufficientScope,
            AccountDisabled,
            PlanRequired,
            IpNotAllowed,
            RateLimitExceeded,
            InsufficientCredits,
            MalformedMultipart,
            MissingFile,
            EmptyFile,
            NotAudio,
            BodyTimeout,
            TooManyUploads,
            TooManyAuthFailures,
            TooManyReports,
            HeadersTooLarge,
            MalformedRequest,
            UriTooLong,
            TooManyConnections,
            InsufficientStorage,
            StorageUnavailable,
            InvalidWebhookUrl,
            WebhookTargetRefused,
            WebhookSecretRequired,
            QueueFull,
            NotReady,
            IdempotencyKeyReused,
            IdempotencyKeyInUse,
            UnsupportedFormat,
            UnsupportedCodec,
            CorruptAudio,
            NoAudioTrack,
            AudioTooLong,
            InvalidSignature,
            UrlExpired,
            RangeNotSatisfiable,
            SoundNotTagged,
            Internal,
        ]
    };
}

/// An error on its way to the client. `details` carries machine-readable extras (the scope that
/// was needed, the limit that was hit).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidRequest, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "internal error; the server log has the details under this request id",
        )
    }

    pub fn body(&self, request_id: &str) -> Value {
        let mut e = json!({
            "code": self.code.as_str(),
            "message": self.message,
            "request_id": request_id,
        });
        if let (Some(d), Some(obj)) = (&self.details, e.as_object_mut()) {
            obj.insert("details".into(), d.clone());
        }
        json!({ "error": e })
    }
}

/// Which credential a route expects; decides the wording and codes of auth failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    Api,
    Admin,
}

pub fn auth_error(realm: Realm, e: AuthError) -> ApiError {
    use ErrorCode::*;
    let (code, message) = match (realm, e) {
        (Realm::Api, AuthError::Missing) => (
            MissingApiKey,
            "send an API key as `Authorization: Bearer tonearm_sk_…`",
        ),
        (Realm::Admin, AuthError::Missing) => (
            MissingManagementToken,
            "send a management token as `Authorization: Bearer tonearm_mt_…`",
        ),
        (_, AuthError::MalformedHeader) => (
            MalformedAuthorization,
            "the Authorization header must be `Bearer <secret>`",
        ),
        (Realm::Api, AuthError::Format(FormatError::WrongKind)) => (
            WrongCredentialType,
            "this is a management token; /api/v1 takes an API key (tonearm_sk_…)",
        ),
        (Realm::Admin, AuthError::Format(FormatError::WrongKind)) => (
            WrongCredentialType,
            "this is an API key; /admin/v1 takes a management token (tonearm_mt_…)",
        ),
        (Realm::Api, AuthError::Format(_)) => (
            MalformedApiKey,
            "the API key is not well-formed (wrong length, characters or checksum); copy it again",
        ),
        (Realm::Admin, AuthError::Format(_)) => (
            MalformedManagementToken,
            "the management token is not well-formed (wrong length, characters or checksum)",
        ),
        (Realm::Api, AuthError::Unknown) => (InvalidApiKey, "the API key is not known"),
        (Realm::Admin, AuthError::Unknown) => {
            (InvalidManagementToken, "the management token is not known")
        }
        (Realm::Api, AuthError::Revoked) => (RevokedApiKey, "the API key was revoked"),
        (Realm::Admin, AuthError::Revoked) => {
            (RevokedManagementToken, "the management token was revoked")
        }
        (_, AuthError::Expired) => (ExpiredApiKey, "the API key has expired"),
    };
    ApiError::new(code, message)
}

impl From<crate::store::Error> for ApiError {
    fn from(e: crate::store::Error) -> ApiError {
        use crate::store::Error as S;
        match e {
            S::NotFound => ApiError::not_found("resource"),
            S::Exists => ApiError::new(ErrorCode::Conflict, "a resource with that name exists"),
            S::InsufficientCredits { balance } => ApiError::new(
                ErrorCode::InsufficientCredits,
                format!("the account has {balance} credits; an administrator can grant more"),
            )
            .with_details(serde_json::json!({ "credits_remaining": balance })),
            S::SoundIdTaken(id) => ApiError::new(
                ErrorCode::Conflict,
                format!("a sound with id {id:?} exists; choose another id or PATCH that one"),
            )
            .with_details(serde_json::json!({ "id": id })),
            S::SoundDuplicate(id) => ApiError::new(
                ErrorCode::Conflict,
                format!("the same file is already in the library as sound {id:?}"),
            )
            .with_details(serde_json::json!({ "existing_id": id })),
            S::LimitReached(n) => ApiError::new(
                ErrorCode::KeyLimitReached,
                format!("the account already has {n} active keys; revoke one first"),
            ),
            other if other.is_storage_unavailable() => {
                tracing::warn!(error = %other, "storage unavailable");
                ApiError::new(
                    ErrorCode::StorageUnavailable,
                    "the server cannot write to its storage right now (disk full?); nothing was \
                     changed, retry after the Retry-After delay",
                )
                .with_details(serde_json::json!({ "retry_after": 5 }))
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}
