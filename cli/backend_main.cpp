// edgelab-backend: a Lync front end or Office Web Apps simulator for the lab.
#include "cli/backend_program.hpp"

int main(int argc, char** argv) { return edgelab::cli::runBackend(argc, argv); }
