//! The C ABI from the outside: C programs that include only `include/ember.h` and link libember,
//! compiled with the system compiler (C99, `-Wall -Wextra -Werror -pedantic`) and run, under valgrind
//! memcheck when it is installed; the header compiled as C++; and the Python ctypes binding.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{ffi_lib_dir, find_in_path, require_tool, temp_dir};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles `source` with `compiler` in language standard `std`, strict warnings on, against the
/// static library; returns the executable, or None (the test skips) when the compiler is missing.
fn compile(compiler: &str, std: &str, source: &Path, name: &str) -> Option<PathBuf> {
    if !require_tool(compiler) {
        return None;
    }
    let out = temp_dir(name).join(name);
    let status = Command::new(compiler)
        .arg(format!("-std={std}"))
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-I"])
        .arg(root().join("include"))
        .arg(source)
        .arg(ffi_lib_dir().join("libember.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    assert!(
        status.success(),
        "{compiler} failed for {}",
        source.display()
    );
    Some(out)
}

/// Compiles a C99 source (see [`compile`]).
fn compile_c(source: &Path, name: &str) -> Option<PathBuf> {
    compile("cc", "c99", source, name)
}

/// Runs a program, under valgrind memcheck when available (and always when EMBER_REQUIRE_TOOLS=1),
/// and returns its stdout.
fn run(exe: &Path) -> String {
    let use_valgrind = if std::env::var("EMBER_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        require_tool("valgrind")
    } else {
        find_in_path("valgrind").is_some()
    };
    let output = if use_valgrind {
        Command::new("valgrind")
            .args([
                "--error-exitcode=99",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "-q",
            ])
            .arg(exe)
            .output()
    } else {
        Command::new(exe).output()
    }
    .expect("running the C test");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({:?}, valgrind: {use_valgrind}):\n{stdout}\n{stderr}",
        exe.display(),
        output.status
    );
    stdout
}

#[test]
fn c_api_checks_pass() {
    let Some(exe) = compile_c(&root().join("tests/c/api.c"), "api") else {
        return;
    };
    let out = run(&exe);
    assert!(out.contains("all checks passed"), "{out}");
}

#[test]
fn c_example_cache_runs() {
    let Some(exe) = compile_c(&root().join("examples/c/cache.c"), "cache") else {
        return;
    };
    let out = run(&exe);
    assert_eq!(out, "hits: 990\nmisses: 10\n");
}

#[test]
fn header_compiles_as_cplusplus() {
    let source = root().join("tests/c/header.cc");
    let Some(exe) = compile("c++", "c++11", &source, "header-cc") else {
        return;
    };
    run(&exe);
}

#[test]
fn python_ctypes_binding_works() {
    if !require_tool("python3") {
        return;
    }
    let output = Command::new("python3")
        .arg(root().join("tests/python/test_ember.py"))
        .env("EMBER_LIB", ffi_lib_dir().join("libember.so"))
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
}

/// The C program in README.md compiles with the compile line shown there and prints "hello".
#[test]
fn readme_c_example_works() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let start = readme.find("```c\n").expect("README has a C example") + 5;
    let end = start + readme[start..].find("```").expect("the C example ends");
    let dir = temp_dir("readme-c");
    let source = dir.join("app.c");
    std::fs::write(&source, &readme[start..end]).expect("write app.c");
    let Some(exe) = compile_c(&source, "app") else {
        return;
    };
    assert_eq!(run(&exe), "hello\n");
}
