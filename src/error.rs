//! The crate's error type: every fallible library call returns [`Result<T>`].

use std::path::PathBuf;

/// Everything that can go wrong in `genre_nlp`, with enough context to find the cause:
/// file errors name the file and, where there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A record of an input file is malformed (wrong field count, empty field, bad UTF-8, ...).
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The input file.
        path: PathBuf,
        /// 1-based line number of the offending record.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// An input file lacks a required column or has no usable records.
    #[error("{}: {message}", path.display())]
    Format {
        /// The input file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A label met at scoring time was never seen in training.
    #[error("{}:{line}: genre `{genre}` was never seen in training (known: {known})", path.display())]
    UnknownLabel {
        /// The file holding the row.
        path: PathBuf,
        /// 1-based line of the row.
        line: usize,
        /// The unknown genre.
        genre: String,
        /// The known genres, comma-separated.
        known: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An error raised by polars while building or reading a DataFrame.
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    /// A JSON document could not be written or read.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The MLflow server answered with an error status; `code` and `message` are the server's
    /// `error_code` and `message` (or the HTTP status and a short body when it sent no JSON).
    #[error("MLflow server answered HTTP {status} {code}: {message}")]
    Mlflow {
        /// The HTTP status.
        status: u16,
        /// MLflow's `error_code`, e.g. `RESOURCE_DOES_NOT_EXIST`, `INVALID_PARAMETER_VALUE`.
        code: String,
        /// MLflow's `message`.
        message: String,
    },
    /// The MLflow server could not be reached (connection refused, timeout, broken transfer),
    /// after retries. Never contains credentials.
    #[error("MLflow server unreachable: {0}")]
    Http(String),
    /// A tracking call was refused before sending: invalid key, value or configuration.
    #[error("tracking: {0}")]
    Tracking(String),
    /// A figure could not be drawn or encoded.
    #[error("plot: {0}")]
    Plot(String),
    /// A tensor operation failed (shape mismatch, device error, ...).
    #[error("tensor: {0}")]
    Candle(#[from] candle_core::Error),
    /// A model was used in a way its state does not allow (wrong feature count, not fitted, ...).
    #[error("model: {0}")]
    Model(String),
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
