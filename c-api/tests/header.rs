//! Keeps the committed header `c-api/include/distarr.h` in agreement with the Rust exports:
//! regenerates it with cbindgen (config `c-api/cbindgen.toml`) and compares. Run with
//! `DISTARR_BLESS=1` to rewrite the committed header after changing the ABI.
use std::path::PathBuf;

#[test]
fn header_matches_rust_exports() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen cannot generate the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("header is UTF-8");
    let path = crate_dir.join("include").join("distarr.h");
    if std::env::var_os("DISTARR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is out of date with the Rust exports (first difference at line {}:\n  committed: {:?}\n  generated: {:?}).\n\
             Regenerate it with `DISTARR_BLESS=1 cargo test -p distarr-capi --test header` and review the diff.",
            path.display(),
            first + 1,
            committed.lines().nth(first),
            generated.lines().nth(first),
        );
    }
}

/// Every exported function is declared in the header, and nothing else is (a second, simple
/// check that does not depend on cbindgen: it reads the Rust sources).
#[test]
fn header_declares_every_export() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(crate_dir.join("include/distarr.h")).expect("read header");
    let mut exported = Vec::new();
    for entry in std::fs::read_dir(crate_dir.join("src")).expect("read src") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read source");
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if l.trim() == "#[no_mangle]" {
                let sig = lines.next().expect("item after #[no_mangle]");
                let name = sig
                    .split("fn ")
                    .nth(1)
                    .and_then(|s| s.split('(').next())
                    .unwrap_or_else(|| panic!("not a function: {sig}"));
                exported.push(name.to_string());
            }
        }
    }
    exported.sort();
    let mut declared: Vec<String> = header
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with('*'))
        .filter_map(|l| {
            let at = l.find("distarr_")?;
            let rest = &l[at..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            rest[name.len()..].starts_with('(').then_some(name)
        })
        .collect();
    declared.sort();
    declared.dedup();
    assert_eq!(exported, declared, "exported functions vs header declarations");
    assert!(exported.len() >= 30, "expected the PGAS API, found {exported:?}");
}
