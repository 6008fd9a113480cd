//! The Oracle conformance run is a test that is ignored (reported as skipped, never
//! as passed) unless PF_ORACLE_TEST_URL is set when the tests are built.
fn main() {
    println!("cargo::rerun-if-env-changed=PF_ORACLE_TEST_URL");
    println!("cargo::rustc-check-cfg=cfg(pf_oracle_test)");
    if std::env::var_os("PF_ORACLE_TEST_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pf_oracle_test");
    }
}
