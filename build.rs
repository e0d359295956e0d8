//! The bundled runbooks (and lab fixtures) are embedded with `include_dir!`; rebuild when any
//! of them changes.
fn main() {
    for dir in ["runbooks", "assets"] {
        if std::path::Path::new(dir).exists() {
            println!("cargo:rerun-if-changed={dir}");
        }
    }
}
