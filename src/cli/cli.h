// The `passerelle` command line: parses arguments, configures logging and runs a subcommand.
// Front door of src/cli; `main()` (src/exe) only calls RunCli.
#pragma once

namespace passerelle::cli {

// Returns the process exit code: 0 on success, 1 when the command failed (one line on stderr
// says why), 2 for a usage error.
int RunCli(int argc, char** argv);

}  // namespace passerelle::cli
