//! What `obs-gen init` asks: [`Answers`], one field per question, and how they become the
//! model ([`Answers::into_config`]). The command line fills the answers from its flags; the
//! [`wizard`] asks the questions still open, on a terminal, and knows nothing of flags;
//! `detect` finds the databases an application's compose file runs, as defaults.

mod answers;
mod detect;
pub mod wizard;

pub use answers::{Answers, DatabaseKind, availability, default_address, default_service};
pub use detect::detect_databases;
