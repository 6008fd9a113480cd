//! The one error answer of the HTTP handlers that are not server functions: the
//! error's status and its sentence, never a cause (see `pathfinder::error`). A
//! handler returns `Result<_, HttpError>` and uses `?` on `AppError`s.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pathfinder::AppError;

#[derive(Debug)]
pub struct HttpError(pub AppError);

impl From<AppError> for HttpError {
    fn from(e: AppError) -> Self {
        HttpError(e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.0.to_string()).into_response()
    }
}
