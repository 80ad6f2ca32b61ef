// edgelab-backend: a Lync front end or Office Web Apps simulator for the lab.
#include "provision/backend/run.hpp"

int main(int argc, char** argv) { return edgelab::provision::backend::runBackend(argc, argv); }
