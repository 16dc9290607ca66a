//! What `obs-gen init` asks: [`Answers`], one field per question, and how they become the
//! model ([`Answers::into_config`]). The command line fills the answers from its flags, the
//! [`wizard`] asks the questions they leave open, and `detect` reads the databases an
//! application's compose file runs. None of them knows about the others.

mod answers;
mod detect;
pub mod wizard;

pub use answers::{Answers, availability, default_service};
pub use detect::detect_databases;
