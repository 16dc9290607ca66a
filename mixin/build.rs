//! Rebuilds the crate when the embedded asset directories change (`include_dir!` cannot tell
//! cargo about the files it reads on stable Rust).

fn main() {
    println!("cargo:rerun-if-changed=../dashboards");
    println!("cargo:rerun-if-changed=../alert-rules");
    println!("cargo:rerun-if-changed=../alert-rules/tests");
    println!("cargo:rerun-if-changed=exporters");
}
