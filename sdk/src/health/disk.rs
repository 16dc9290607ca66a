//! Free-disk-space readiness check (feature `disk`).

use std::path::{Path, PathBuf};

use super::{CheckError, CheckFuture, HealthCheck};

/// Fails when the file system holding a path has too little space left for the service.
///
/// The space counted is what an unprivileged process may still use (`statvfs`'s `f_bavail`).
/// The default threshold is 5 % of the file system; [`min_free_bytes`](DiskCheck::min_free_bytes)
/// and [`min_free_ratio`](DiskCheck::min_free_ratio) change it (with both set, both must hold).
/// A disk filling up rarely warrants taking a replica out of the load balancer, so it is often
/// registered as non-critical:
///
/// ```
/// use obs_service::health::{DiskCheck, Health};
///
/// let health = Health::new("1.0.0")
///     .check("disk", DiskCheck::new("/var/lib/app").min_free_bytes(512 * 1024 * 1024))
///     .critical(false);
/// ```
#[derive(Debug, Clone)]
pub struct DiskCheck {
    path: PathBuf,
    min_free_bytes: Option<u64>,
    min_free_ratio: Option<f64>,
}

/// Default minimum share of the file system that must stay free.
const DEFAULT_MIN_FREE_RATIO: f64 = 0.05;

impl DiskCheck {
    /// A check of the file system holding `path`, failing below 5 % free.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            min_free_bytes: None,
            min_free_ratio: None,
        }
    }

    /// Fails when fewer than `bytes` are available.
    pub fn min_free_bytes(mut self, bytes: u64) -> Self {
        self.min_free_bytes = Some(bytes);
        self
    }

    /// Fails when less than `ratio` (0.0 to 1.0) of the file system is available.
    pub fn min_free_ratio(mut self, ratio: f64) -> Self {
        self.min_free_ratio = Some(ratio.clamp(0.0, 1.0));
        self
    }

    /// The path checked.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Judges `available` bytes of `total`.
    fn judge(&self, available: u64, total: u64) -> Result<(), CheckError> {
        let ratio = if total == 0 {
            0.0
        } else {
            available as f64 / total as f64
        };
        let min_ratio = match (self.min_free_bytes, self.min_free_ratio) {
            (None, None) => Some(DEFAULT_MIN_FREE_RATIO),
            (_, ratio) => ratio,
        };
        let too_few_bytes = self.min_free_bytes.is_some_and(|min| available < min);
        let too_small_share = min_ratio.is_some_and(|min| ratio < min);
        if too_few_bytes || too_small_share {
            let mut limits = Vec::new();
            if let Some(min) = self.min_free_bytes {
                limits.push(human_bytes(min));
            }
            if let Some(min) = min_ratio {
                limits.push(format!("{:.1}%", min * 100.0));
            }
            return Err(CheckError::new(format_args!(
                "{} free of {} ({:.1}%) on {}, below the minimum of {}",
                human_bytes(available),
                human_bytes(total),
                ratio * 100.0,
                self.path.display(),
                limits.join(" and ")
            )));
        }
        Ok(())
    }

    async fn run(&self) -> Result<(), CheckError> {
        let path = self.path.clone();
        // statvfs can block (a hung network mount): keep it off the async workers, so the
        // timeout can still fire.
        let stats = tokio::task::spawn_blocking(move || fs4::statvfs(&path))
            .await
            .map_err(|e| CheckError::new(format_args!("disk check task failed: {e}")))?
            .map_err(|e| {
                CheckError::new(format_args!("cannot stat {}: {e}", self.path.display()))
            })?;
        self.judge(stats.available_space(), stats.total_space())
    }
}

impl HealthCheck for DiskCheck {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.run())
    }
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn thresholds() {
        let check = DiskCheck::new("/data");
        assert!(check.judge(10 * GIB, 100 * GIB).is_ok());
        let err = check.judge(GIB, 100 * GIB).unwrap_err();
        assert_eq!(
            err.message(),
            "1.0 GiB free of 100.0 GiB (1.0%) on /data, below the minimum of 5.0%"
        );
        let check = DiskCheck::new("/data").min_free_bytes(2 * GIB);
        assert!(
            check.judge(GIB, 10 * GIB).is_err(),
            "bytes only: 10% is fine, 1 GiB is not"
        );
        assert!(
            check.judge(3 * GIB, 1000 * GIB).is_ok(),
            "no ratio when only bytes are set"
        );
        let both = DiskCheck::new("/d").min_free_bytes(GIB).min_free_ratio(0.5);
        assert!(both.judge(2 * GIB, 10 * GIB).is_err());
        assert!(both.judge(6 * GIB, 10 * GIB).is_ok());
        assert_eq!(human_bytes(512), "512 B");
    }

    #[tokio::test]
    async fn real_file_system() {
        let dir = tempfile::tempdir().unwrap();
        DiskCheck::new(dir.path())
            .min_free_bytes(1)
            .min_free_ratio(0.0)
            .check()
            .await
            .unwrap();
        let err = DiskCheck::new(dir.path())
            .min_free_bytes(u64::MAX)
            .check()
            .await
            .unwrap_err();
        assert!(err.message().contains("below the minimum"), "{err}");
        let err = DiskCheck::new(dir.path().join("missing"))
            .check()
            .await
            .unwrap_err();
        assert!(err.message().starts_with("cannot stat"), "{err}");
    }
}
