// The only main() of Passerelle: everything else is a library that tests link.
#include "cli/cli.h"

int main(int argc, char** argv) { return passerelle::cli::RunCli(argc, argv); }
