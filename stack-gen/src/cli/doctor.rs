//! `obs-gen doctor URL`: runs the doctor's checks on a service and prints the report.

use super::args::DoctorArgs;
use crate::doctor::{self, LogSource, Options, TrustedCa};
use crate::error::Error;

/// Runs `doctor`; fails when a check failed, or as bad input when `--cacert` holds no
/// certificate.
pub(super) fn run(args: &DoctorArgs, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let ca = args.cacert.as_deref().map(TrustedCa::read).transpose()?;
    let opts = Options {
        url: args.url.clone(),
        log: args.log_file.as_ref().map(|p| {
            if p.as_os_str() == "-" {
                LogSource::Stdin
            } else {
                LogSource::File(p.clone())
            }
        }),
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        connect_timeout: std::time::Duration::from_secs(args.connect_timeout.max(1)),
        ca,
    };
    let report = doctor::run(&opts);
    if args.json {
        let text = serde_json::to_string_pretty(&report).expect("the report serialises");
        let _ = writeln!(out, "{text}");
    } else {
        let _ = write!(out, "{}", report.table());
    }
    let failed = report.failures().count();
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "doctor: {failed} check(s) failed for {}",
            report.url
        )))
    }
}
