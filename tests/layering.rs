//! The library's modules depend on each other one way only, along the flow of the data:
//!
//! ```text
//! version, error -> schema -> normalize -> filter -> keys -> encode -> compat -> io -> pipeline
//!         -> linkage -> eval -> lab   (then the front ends: cli, later server and python)
//! ```
//!
//! A module may use the modules before it, never one after it, and nothing uses the crate root
//! (`lib.rs` only declares modules and re-exports front-door types). This test reads every
//! `crate::` path in the code of `src/` (comments and string literals left out) and fails on an
//! edge against that order, naming the file and line.

use std::path::{Path, PathBuf};

use crate::util::root;

/// The top-level modules in the order of the flow.
const FLOW: &[&str] = &[
    "version",
    "error",
    "schema",
    "normalize",
    "filter",
    "keys",
    "encode",
    "compat",
    "io",
    "privacy",
    "pipeline",
    "linkage",
    "eval",
    "lab",
];

/// Exported macros, invoked as `crate::NAME!`, and the module that defines each.
const MACROS: &[(&str, &str)] = &[("error_kinds", "error")];

fn rank(module: &str) -> Option<usize> {
    let module = MACROS
        .iter()
        .find(|(m, _)| *m == module)
        .map_or(module, |(_, defined_in)| *defined_in);
    // The two leaves share the first place: neither imports anything.
    match module {
        "version" | "error" => Some(0),
        _ => FLOW.iter().position(|m| *m == module),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a Rust file with comments and the contents of string and character literals
/// blanked out (line breaks kept, so line numbers stay right).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string r#"..."#: find the hashes, then the matching close.
            let mut j = i + 1;
            while b.get(j) == Some(&b'#') {
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let start = j + 1;
            let end = b[start..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| start + p + close.len());
            for &x in &b[i..end] {
                blank(&mut out, x);
            }
            i = end;
        } else if c == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                if i < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
            out.push(b' ');
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{..}'), or else a lifetime.
            let lit_end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let ch = std::str::from_utf8(&b[i + 1..(i + 5).min(b.len())])
                    .ok()
                    .or_else(|| std::str::from_utf8(&b[i + 1..(i + 4).min(b.len())]).ok())
                    .or_else(|| std::str::from_utf8(&b[i + 1..(i + 3).min(b.len())]).ok())
                    .or_else(|| std::str::from_utf8(&b[i + 1..(i + 2).min(b.len())]).ok())
                    .and_then(|s| s.chars().next());
                ch.map(|ch| i + 1 + ch.len_utf8())
                    .filter(|&e| b.get(e) == Some(&b'\''))
            };
            match lit_end {
                Some(e) => {
                    out.resize(out.len() + e + 1 - i, b' ');
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps ASCII code intact")
}

/// The top-level names a `crate::` path at `rest` (the text after `crate::`) refers to:
/// one for `crate::a::b`, several for `crate::{a::b, c}`.
fn targets(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let mut names = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (k, ch) in group.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(ident(&group[start..k]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(&group[start..k]));
                start = k + 1;
            }
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// The `crate::` edges of one file: `(line, target module)`.
fn edges(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `my_crate::`
        }
        let line = code[..at].matches('\n').count() + 1;
        for t in targets(&code[at + "crate::".len()..]) {
            found.push((line, t));
        }
    }
    found
}

/// The top-level module a file under `src/` belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib").then_some(name)
}

#[test]
fn modules_depend_only_on_earlier_modules() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(root()).unwrap().display().to_string();
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(own) = rank(&module) else {
            problems.push(format!(
                "{shown}: module `{module}` has no place in the flow; add it to FLOW"
            ));
            continue;
        };
        for (line, target) in edges(&code_only(&text)) {
            match rank(&target) {
                None => problems.push(format!(
                    "{shown}:{line}: `crate::{target}` is not a module of the flow (nothing \
                     uses the crate root)"
                )),
                Some(r) if r > own => problems.push(format!(
                    "{shown}:{line}: `{module}` uses `{target}`, which comes after it in the flow"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports against the flow {}:\n{}",
        FLOW.join(" -> "),
        problems.join("\n")
    );
}

#[test]
fn the_reader_sees_edges_and_skips_comments_and_strings() {
    let code = code_only(
        "use crate::io::X;\n// crate::lab\nlet s = \"crate::lab\";\nlet r = r#\"crate::lab\"#;\n\
         use crate::{linkage::Y, eval};\nfn f<'a>(c: char) -> bool { c == '\"' }\n\
         pub(in crate::filter) fn g() {}\n$crate::lab::z();\n",
    );
    let found: Vec<(usize, String)> = edges(&code);
    let want: Vec<(usize, String)> = [(1, "io"), (5, "linkage"), (5, "eval"), (7, "filter")]
        .into_iter()
        .map(|(l, t)| (l, t.to_string()))
        .collect();
    assert_eq!(found, want);
    assert!(rank("linkage") < rank("eval"));
}

/// The crate documentation's first example is `examples/link_in_memory.rs`, line for line.
#[test]
fn the_front_door_example_is_the_example_program() {
    let program = std::fs::read_to_string(root().join("examples/link_in_memory.rs")).unwrap();
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let start = program
        .find("    let schema = ")
        .expect("the program builds a schema");
    let end = program
        .find("    Ok(())\n}")
        .expect("the program ends with Ok(())");
    let body: Vec<&str> = program[start..end]
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let at = doc
        .iter()
        .position(|l| *l == body[0])
        .expect("lib.rs shows the example");
    assert_eq!(&doc[at..at + body.len()], body.as_slice());
}
