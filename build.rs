//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the files at compile time, and without
//! this hint cargo would not notice an edited or added `.sql` file.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
