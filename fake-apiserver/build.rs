//! Compiles the vendored Kubernetes `.proto` files (`proto/`, see its PROVENANCE.md) into one
//! FileDescriptorSet that the HTTP front's protobuf codec reads at run time. The simulation build
//! has no HTTP front, so it skips this.

fn main() {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(not(madsim))]
    compile::descriptors();
}

#[cfg(not(madsim))]
mod compile {
    /// Every API group the server serves in protobuf; their imports come along.
    const FILES: &[&str] = &[
        "api/core/v1/generated.proto",
        "api/apps/v1/generated.proto",
        "api/autoscaling/v1/generated.proto",
        "api/batch/v1/generated.proto",
        "api/rbac/v1/generated.proto",
        "api/scheduling/v1/generated.proto",
        "api/policy/v1/generated.proto",
        "api/coordination/v1/generated.proto",
        "api/authentication/v1/generated.proto",
        "api/authorization/v1/generated.proto",
        "api/events/v1/generated.proto",
        "apiextensions_apiserver/pkg/apis/apiextensions/v1/generated.proto",
    ];

    pub fn descriptors() {
        let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("kubernetes.fds");
        let bytes = protox::Compiler::new(["proto"])
            .expect("the proto directory exists")
            .include_imports(true)
            .include_source_info(false)
            .open_files(FILES)
            .unwrap_or_else(|e| panic!("the vendored Kubernetes protos compile: {e}"))
            .encode_file_descriptor_set();
        std::fs::write(&out, bytes).expect("OUT_DIR is writable");
    }
}
