use std::process::ExitCode;

// mimalloc instead of the system allocator: under load the server frees on one worker thread
// what another allocated (request buffers, header maps), and glibc's per-arena locks then make
// the workers wait on each other; mimalloc frees to the owning thread's heap without a lock.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tonearm::cli::run()
}
