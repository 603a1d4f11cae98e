//! Why a command was refused: [`Rejection`].
//!
//! One variant per answer the API gives (DOMAIN.md A.1: 400, 403, 404, 409, 410), so the HTTP shell maps a
//! rejection to a status in one line ([`Rejection::status`]) and the domain never names HTTP types. Where a
//! document is at fault, the rejection carries [`Problem`]s, each with the JSON path of the offending value,
//! in the same shape as schema validation gives them. Messages never hold personal data (no fødselsnummer,
//! no free text from documents); ids and code values are fine, they help the caller find the mistake.

use digisos_schema::types::FiksDigisosId;
use digisos_schema::validate::Problem;

/// A refused command: nothing is appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// 400: the input breaks a rule; `problems` names each offending value by JSON path.
    #[error("{message}")]
    Invalid {
        /// What is wrong, in one sentence.
        message: String,
        /// Each problem with its JSON path (may be empty when the message says it all).
        problems: Vec<Problem>,
    },
    /// 403: the caller may not do this to this case.
    #[error("{message}")]
    Forbidden {
        /// Why not.
        message: String,
    },
    /// 404: no such case, delivery or file.
    #[error("{message}")]
    NotFound {
        /// What was not found.
        message: String,
        /// The missing items by path, when there are several.
        problems: Vec<Problem>,
    },
    /// 409: conflicts with what is recorded (same key, other content; a file still in use; …).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// The case already recorded under the same key, for the caller to use.
        existing: Option<FiksDigisosId>,
        /// The conflicting items by path, when there are several.
        problems: Vec<Problem>,
    },
    /// 410: the case was deleted.
    #[error("{message}")]
    Gone {
        /// Which case.
        message: String,
    },
}

impl Rejection {
    /// A 400 with problems.
    pub fn invalid(message: impl Into<String>, problems: Vec<Problem>) -> Self {
        Rejection::Invalid { message: message.into(), problems }
    }

    /// A 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Rejection::Forbidden { message: message.into() }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Rejection::NotFound { message: message.into(), problems: Vec::new() }
    }

    /// A 409 without an existing case to point at.
    pub fn conflict(message: impl Into<String>) -> Self {
        Rejection::Conflict { message: message.into(), existing: None, problems: Vec::new() }
    }

    /// The HTTP status this rejection is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Invalid { .. } => 400,
            Rejection::Forbidden { .. } => 403,
            Rejection::NotFound { .. } => 404,
            Rejection::Conflict { .. } => 409,
            Rejection::Gone { .. } => 410,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Rejection::Invalid { message, .. }
            | Rejection::Forbidden { message }
            | Rejection::NotFound { message, .. }
            | Rejection::Conflict { message, .. }
            | Rejection::Gone { message } => message,
        }
    }

    /// The problems by JSON path (empty for most rejections).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Rejection::Invalid { problems, .. }
            | Rejection::NotFound { problems, .. }
            | Rejection::Conflict { problems, .. } => problems,
            Rejection::Forbidden { .. } | Rejection::Gone { .. } => &[],
        }
    }

    /// The existing case a 409 points at, if any.
    pub fn existing(&self) -> Option<FiksDigisosId> {
        match self {
            Rejection::Conflict { existing, .. } => *existing,
            _ => None,
        }
    }
}

/// A problem at `path`.
pub(crate) fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem { path: path.into(), message: message.into() }
}
