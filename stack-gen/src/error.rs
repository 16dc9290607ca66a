//! The generator's errors. Each displays as one line naming the file or field concerned.

/// Everything that stops `obs-gen`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a malformed or invalid `obs.toml`, a bad flag value. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// Several validation problems, one per line. Exit code 2.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// A file the user changed would be overwritten. Exit code 2.
    #[error("{0}")]
    Conflict(String),
    /// The output directory or a file in it cannot be written. Exit code 2.
    #[error("{0}")]
    Io(String),
    /// `obs-gen check` found problems. Exit code 1.
    #[error("{0}")]
    CheckFailed(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CheckFailed(_) => 1,
            _ => 2,
        }
    }

    /// An I/O error on `path`, as one line.
    pub fn io(path: &std::path::Path, what: &str, e: &std::io::Error) -> Error {
        Error::Io(format!("{}: cannot {what}: {e}", path.display()))
    }
}

/// The first line of `s`, trimmed: how a multi-line message from a parser or a tool becomes part
/// of a one-line error.
pub fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}
