//! The shape of the code: a capability has one name in every layer, and there is
//! no import circle between the files of `server/src`.
//!
//! A file imports another when it names an item of that file's module, by a `use`
//! or a path (`crate::…`, `super::…`, a child module's name), in code or inside a
//! macro call; `crate::sql!` is the file that defines the macro. Declaring a child
//! module (`mod x;`) is not an import, and test modules are left out. A circle is a
//! group of files that import each other, directly or through others: none of them
//! can be read, changed or moved without the rest.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use syn::visit::Visit;

/// A module's path from the crate root: `["storage", "audit"]` is `storage/audit/mod.rs`.
type Module = Vec<String>;

/// Every capability of the console (`app/src/<name>/`) has its storage interface,
/// its storage flows, its conformance checks and its HTTP tests under the same name.
#[test]
fn a_capability_has_one_name_in_every_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    for capability in pathfinder_app::CAPABILITIES {
        // The Overview page shows what the statistics capability keeps.
        let storage = if capability.name == "overview" { "stats" } else { capability.name };
        let one_of = |paths: &[String]| paths.iter().any(|p| root.join(p).exists());
        let layers = [
            vec![format!("app/src/{}/mod.rs", capability.name)],
            vec![format!("src/storage/{storage}.rs")],
            vec![format!("server/src/storage/{storage}.rs"), format!("server/src/storage/{storage}/mod.rs")],
            vec![format!("server/tests/conformance/{storage}.rs")],
            vec![format!("server/tests/http/{}.rs", capability.name)],
        ];
        missing.extend(layers.into_iter().filter(|paths| !one_of(paths)).map(|paths| paths[0].clone()));
    }
    assert!(missing.is_empty(), "capabilities without a layer of their own: {missing:?}");
    assert!(pathfinder_app::CAPABILITIES.len() >= 13, "the capabilities are listed");
}

#[test]
fn no_import_circle_between_files_of_server_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_crate(&root);
    let imports = imports_of(&files);
    // The reading itself must see imports, or no circle would be found for nothing.
    let store = module("storage/store");
    assert!(
        imports[&store].contains(&module("storage/driver")),
        "storage/store.rs should be seen to import storage/driver: {:?}",
        imports[&store]
    );
    let circles = circles(&imports);
    let inside = |c: &Vec<Module>| {
        let name = |m: &Module| m.join("/");
        c.iter()
            .map(|m| {
                let within: Vec<String> = imports[m].iter().filter(|t| c.contains(t)).map(name).collect();
                format!("\n  {} imports {}", name(m), within.join(", "))
            })
            .collect::<String>()
    };
    assert!(
        circles.is_empty(),
        "import circles among the files of server/src: {}{}",
        describe(&circles),
        circles.iter().map(inside).collect::<String>()
    );
}

#[test]
fn a_child_using_its_parent_that_uses_it_is_a_circle() {
    let files = BTreeMap::from([
        (module(""), parse("pub mod a; pub mod b; pub use a::A;")),
        (module("a"), parse("pub mod c; pub struct A; pub fn f() { c::g(); }")),
        (module("a/c"), parse("pub fn g() { let _ = super::A; }")),
        (module("b"), parse("use crate::a::A; pub fn h() { crate::t!(A); }")),
        (module("t"), parse("#[macro_export] macro_rules! t { ($x:expr) => { $x } }")),
    ]);
    let circles = circles(&imports_of(&files));
    assert_eq!(describe(&circles), "[a, a/c]");
}

#[test]
fn paths_inside_macro_calls_and_use_trees_are_imports() {
    let files = BTreeMap::from([
        (module(""), parse("pub mod x; pub mod y; pub mod z;")),
        (module("x"), parse("pub fn f() { println!(\"{}\", crate::y::N); }")),
        (module("y"), parse("use crate::{z::{self, Z}}; pub const N: i32 = 1;")),
        (module("z"), parse("pub struct Z; fn g() { crate::x::f(); } #[cfg(test)] mod tests { use crate::y::N; }")),
    ]);
    let imports = imports_of(&files);
    assert_eq!(imports[&module("x")], BTreeSet::from([module("y")]));
    assert_eq!(imports[&module("y")], BTreeSet::from([module("z")]));
    assert_eq!(imports[&module("z")], BTreeSet::from([module("x")]), "test modules are left out");
    assert_eq!(describe(&circles(&imports)), "[x, y, z]");
}

fn module(path: &str) -> Module {
    path.split('/').filter(|s| !s.is_empty()).map(String::from).collect()
}

fn parse(source: &str) -> syn::File {
    syn::parse_file(source).expect("the fixture parses")
}

/// Every file of the library under `root`, by module (the binary's `main.rs` is not
/// part of it).
fn read_crate(root: &Path) -> BTreeMap<Module, syn::File> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("server/src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == root.join("main.rs") {
                continue;
            }
            let relative = path.strip_prefix(root).expect("under the root").with_extension("");
            let mut name: Module = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if matches!(name.last().map(String::as_str), Some("mod" | "lib")) {
                name.pop();
            }
            let source = std::fs::read_to_string(&path).expect("a source file is readable");
            let file = syn::parse_file(&source).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            files.insert(name, file);
        }
    }
    files
}

/// The modules each file imports (never itself).
fn imports_of(files: &BTreeMap<Module, syn::File>) -> BTreeMap<Module, BTreeSet<Module>> {
    let macros: BTreeMap<String, Module> =
        files.iter().flat_map(|(m, f)| exported_macros(f).into_iter().map(move |name| (name, m.clone()))).collect();
    files
        .iter()
        .map(|(m, file)| {
            let mut paths = Paths::default();
            paths.visit_file(file);
            let targets = paths
                .0
                .iter()
                .filter_map(|p| match p.as_slice() {
                    [first, name] if first == "crate" && macros.contains_key(name) => Some(macros[name].clone()),
                    _ => resolve(m, p, files),
                })
                .filter(|t| t != m)
                .collect();
            (m.clone(), targets)
        })
        .collect()
}

/// The macros a file exports at the crate root (`#[macro_export] macro_rules! name`).
fn exported_macros(file: &syn::File) -> Vec<String> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m) if m.attrs.iter().any(|a| a.path().is_ident("macro_export")) => {
                m.ident.as_ref().map(|i| i.to_string())
            }
            _ => None,
        })
        .collect()
}

/// The file a path names an item of: the longest prefix of it that is a file's module.
fn resolve(from: &Module, path: &[String], files: &BTreeMap<Module, syn::File>) -> Option<Module> {
    let mut full: Module = match path.first().map(String::as_str) {
        Some("crate") => path[1..].to_vec(),
        Some("super" | "self") => {
            let mut base = from.clone();
            let mut rest = path;
            while let Some(head) = rest.first().filter(|h| *h == "super" || *h == "self") {
                if head == "super" {
                    base.pop();
                }
                rest = &rest[1..];
            }
            base.extend_from_slice(rest);
            base
        }
        Some(child) if files.contains_key(&[from.clone(), vec![child.to_string()]].concat()) => {
            [from.as_slice(), path].concat()
        }
        _ => return None,
    };
    while !files.contains_key(&full) {
        full.pop()?;
    }
    Some(full)
}

/// Every path a file writes outside its test modules, as its segments' names;
/// `use` trees expanded, and paths inside macro calls read from their tokens.
#[derive(Default)]
struct Paths(BTreeSet<Vec<String>>);

impl<'a> Visit<'a> for Paths {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        let is_test =
            m.attrs.iter().any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test"));
        if !is_test {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        self.use_tree(Vec::new(), &u.tree);
    }

    /// `pub(super)` names who may see an item, not an item used.
    fn visit_visibility(&mut self, _: &'a syn::Visibility) {}

    fn visit_path(&mut self, p: &'a syn::Path) {
        self.0.insert(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

impl Paths {
    fn use_tree(&mut self, mut prefix: Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
            }
            syn::UseTree::Name(n) if n.ident == "self" => {
                self.0.insert(prefix);
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.0.insert(prefix);
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.0.insert(prefix);
            }
            syn::UseTree::Glob(_) => {
                self.0.insert(prefix);
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix.clone(), t)),
        }
    }

    /// Paths written inside a macro call: `a::b::c` runs of its tokens.
    fn tokens(&mut self, tokens: TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut colons = 0;
        for token in tokens {
            match token {
                TokenTree::Ident(i) if run.is_empty() || colons == 2 => {
                    run.push(i.to_string());
                    colons = 0;
                    continue;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() && colons < 2 => {
                    colons += 1;
                    continue;
                }
                TokenTree::Group(g) => {
                    self.end_run(&mut run);
                    self.tokens(g.stream());
                }
                TokenTree::Ident(i) => {
                    self.end_run(&mut run);
                    run.push(i.to_string());
                }
                _ => self.end_run(&mut run),
            }
            colons = 0;
        }
        self.end_run(&mut run);
    }

    fn end_run(&mut self, run: &mut Vec<String>) {
        if run.len() > 1 {
            self.0.insert(std::mem::take(run));
        }
        run.clear();
    }
}

/// The groups of two or more files that import each other (Tarjan's strongly
/// connected components), each sorted.
fn circles(imports: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'g> {
        imports: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, (usize, usize)>,
        stack: Vec<&'g Module>,
        circles: Vec<Vec<Module>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g Module) {
            let n = self.index.len();
            self.index.insert(v, (n, n));
            self.stack.push(v);
            for w in self.imports.get(v).into_iter().flatten() {
                let low = match self.index.get(w) {
                    None => {
                        self.visit(w);
                        self.index[w].1
                    }
                    Some(&(at, _)) if self.stack.contains(&w) => at,
                    Some(_) => continue,
                };
                let entry = self.index.get_mut(v).expect("visited");
                entry.1 = entry.1.min(low);
            }
            if self.index[v].0 == self.index[v].1 {
                let at = self.stack.iter().rposition(|m| *m == v).expect("on the stack");
                let group: Vec<Module> = self.stack.drain(at..).cloned().collect();
                if group.len() > 1 {
                    let mut group = group;
                    group.sort();
                    self.circles.push(group);
                }
            }
        }
    }
    let mut walk = Walk { imports, index: BTreeMap::new(), stack: Vec::new(), circles: Vec::new() };
    for v in imports.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.circles.sort();
    walk.circles
}

fn describe(circles: &[Vec<Module>]) -> String {
    let name = |m: &Module| if m.is_empty() { "<root>".to_string() } else { m.join("/") };
    let circle = |c: &Vec<Module>| format!("[{}]", c.iter().map(name).collect::<Vec<_>>().join(", "));
    circles.iter().map(circle).collect::<Vec<_>>().join("; ")
}

/// Listing the app's routes stalls whatever pages the process renders meanwhile
/// (see `pathfinder_server::http::routes`): one place lists them, once.
#[test]
fn the_routes_are_listed_in_one_place() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut callers = Vec::new();
    let mut pending = vec![root.join("app"), root.join("server"), root.join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable folder") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "layout.rs")
            {
                let text = std::fs::read_to_string(&path).expect("a readable file");
                if text.contains("generate_route_list") {
                    callers.push(path.strip_prefix(&root).expect("under the root").display().to_string());
                }
            }
        }
    }
    assert_eq!(callers, ["server/src/http/mod.rs"]);
}
