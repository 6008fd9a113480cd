fn main() -> std::process::ExitCode {
    pathfinder_server::cli::main()
}
